import assert from "node:assert/strict";
import { dispatch, route, type RouteHandler } from "../../lib/http/router.ts";

/** A handler that answers with what it was given, as JSON. */
const echo: RouteHandler = (request, { params, address }) =>
  Promise.resolve(Response.json({ method: request.method, params, address }));

const ROUTES = [
  route("/v1/chat/:peer/messages", { GET: echo }),
  route("/v1/chat/:peer", { GET: echo }),
  route("/v1/user/token", { POST: echo, DELETE: echo }),
];

async function call(method: string, path: string) {
  const url = new URL(`http://chat.test${path}`);
  const response = await dispatch(ROUTES, new Request(url, { method }), url, "192.0.2.1");
  return { status: response.status, headers: response.headers, json: await response.json() };
}

Deno.test("a route hands its handler the percent-decoded parameters and the address", async () => {
  const answer = await call("GET", "/v1/chat/%E5%B0%8F%E6%98%8E/messages");
  assert.equal(answer.status, 200);
  assert.deepEqual(answer.json, {
    method: "GET",
    params: { peer: "小明" },
    address: "192.0.2.1",
  });
});

Deno.test("the first route that matches wins; a parameter spans one segment", async () => {
  assert.deepEqual((await call("GET", "/v1/chat/tom")).json.params, { peer: "tom" });
  assert.equal((await call("GET", "/v1/chat/a/b")).status, 404);
});

Deno.test("no match is 404; an empty or undecodable parameter matches nothing", async () => {
  for (const path of ["/", "/v1/chat/", "/v1/chat/%E0%A4%A", "/v1/user/token/", "/V1/USER/TOKEN"]) {
    const answer = await call("GET", path);
    assert.equal(answer.status, 404, path);
    assert.equal(answer.json.status, 10006, path);
  }
});

Deno.test("another method on a matched path is 405 listing the route's methods", async () => {
  const answer = await call("PATCH", "/v1/user/token");
  assert.equal(answer.status, 405);
  assert.equal(answer.headers.get("allow"), "POST, DELETE");
  assert.deepEqual(answer.json.body, { allow: "POST, DELETE" });
});

Deno.test("HEAD runs the GET handler", async () => {
  const url = new URL("http://chat.test/v1/chat/tom");
  const response = await dispatch(ROUTES, new Request(url, { method: "HEAD" }), url, "x");
  assert.equal(response.status, 200);
  assert.equal((await response.json()).method, "HEAD");
});
