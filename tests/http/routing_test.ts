/** Routing and request bodies over a real server: 404, 405, 426, 413, 400, and the envelope. */
import assert from "node:assert/strict";
import { startTestServer, type TestServer } from "../support/server.ts";

/** A raw response: HTTP status, headers and body text. */
interface Raw {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
}

/** Sends a request; a body goes as `application/json` unless `init` names another type. */
async function send(server: TestServer, method: string, path: string, init: RequestInit = {}) {
  const headers = new Headers(init.headers);
  if (init.body !== undefined && !headers.has("content-type")) {
    headers.set("content-type", "application/json");
  }
  const response = await fetch(server.baseUrl + path, { ...init, method, headers });
  return { status: response.status, headers: response.headers, text: await response.text() };
}

/** Asserts a JSON response with exactly `status`, `msg`, `body` in that order; returns it. */
function assertEnvelope(
  raw: Raw,
  httpStatus: number,
  status: number,
): { status: number; msg: string; body: Record<string, unknown> } {
  assert.equal(raw.status, httpStatus, raw.text);
  assert.match(raw.headers.get("content-type") ?? "", /^application\/json\b/);
  const json = JSON.parse(raw.text);
  assert.deepEqual(Object.keys(json), ["status", "msg", "body"]);
  assert.equal(json.status, status);
  assert.equal(typeof json.msg, "string");
  assert.ok(json.msg.length > 0);
  assert.equal(typeof json.body, "object");
  assert.ok(json.body !== null && !Array.isArray(json.body));
  return json;
}

/** A body of `size` bytes, sent as a stream so that no content-length is declared. */
function streamOf(size: number, chunkSize = 1024): ReadableStream<Uint8Array> {
  let sent = 0;
  return new ReadableStream({
    pull(controller) {
      if (sent >= size) {
        controller.close();
        return;
      }
      const n = Math.min(chunkSize, size - sent);
      controller.enqueue(new Uint8Array(n).fill(0x20));
      sent += n;
    },
  });
}

const REGISTER_BODY = JSON.stringify({ username: "Tom", password: "password123" });

Deno.test("an unknown path is 404 with the JSON envelope", async () => {
  await using server = await startTestServer();
  for (
    const path of ["/nope", "/v1", "/v1/users", "/v1/user/token/extra", "/v1/chat", "/assets/x.js"]
  ) {
    const json = assertEnvelope(await send(server, "GET", path), 404, 10006);
    assert.equal(json.msg, "Not found", path);
  }
  assertEnvelope(await send(server, "POST", "/v2/user", { body: REGISTER_BODY }), 404, 10006);
});

Deno.test("a wrong method is 405 with an Allow header listing the right ones", async () => {
  await using server = await startTestServer();
  const cases: [string, string, string[]][] = [
    ["GET", "/v1/user", ["POST"]],
    ["DELETE", "/v1/user", ["POST"]],
    ["PUT", "/v1/user/token", ["DELETE", "POST"]],
    ["GET", "/v1/user/token", ["DELETE", "POST"]],
    ["POST", "/v1/chat/tom/messages", ["GET"]],
    ["POST", "/v1/chat/tom", ["GET"]],
    ["DELETE", "/healthz", ["GET"]],
    ["POST", "/readyz", ["GET"]],
  ];
  for (const [method, path, allowed] of cases) {
    const raw = await send(server, method, path);
    assertEnvelope(raw, 405, 10008);
    const allow = (raw.headers.get("allow") ?? "").split(",").map((m) => m.trim()).sort();
    assert.deepEqual(allow, allowed, `${method} ${path}`);
  }
});

Deno.test("a plain GET of a chat path, without a WebSocket upgrade, is 426", async () => {
  await using server = await startTestServer();
  const raw = await send(server, "GET", "/v1/chat/tom?token=296d9235-bc89-4566-b8e4-c338e13e0fd7");
  assertEnvelope(raw, 426, 10009);
  assert.equal(raw.headers.get("upgrade")?.toLowerCase(), "websocket");
});

Deno.test("a body over 16 KiB is refused with 413 when content-length declares it", async () => {
  await using server = await startTestServer();
  const big = JSON.stringify({ username: "Tom", password: "password123", pad: "x".repeat(17_000) });
  const json = assertEnvelope(await send(server, "POST", "/v1/user", { body: big }), 413, 10003);
  assert.equal(json.body.field, "body");
  // Nothing was registered.
  assertEnvelope(await send(server, "POST", "/v1/user", { body: REGISTER_BODY }), 201, 10001);
});

Deno.test("a streamed body over 16 KiB without content-length is refused with 413", async () => {
  await using server = await startTestServer();
  const raw = await send(server, "POST", "/v1/user", { body: streamOf(16 * 1024 + 1) });
  const json = assertEnvelope(raw, 413, 10003);
  assert.equal(json.body.field, "body");
  const login = await send(server, "POST", "/v1/user/token", { body: streamOf(64 * 1024) });
  assertEnvelope(login, 413, 10003);
});

Deno.test("a body of exactly 16 KiB is read", async () => {
  await using server = await startTestServer();
  const base = JSON.stringify({ username: "Tom", password: "password123" });
  const body = base.slice(0, -1) + " ".repeat(16 * 1024 - base.length) + "}";
  assert.equal(new TextEncoder().encode(body).byteLength, 16 * 1024);
  assertEnvelope(await send(server, "POST", "/v1/user", { body }), 201, 10001);
});

Deno.test("a body that is not JSON, not an object or not UTF-8 is 400 naming the body", async () => {
  await using server = await startTestServer();
  const bodies: [string, BodyInit][] = [
    ["not JSON", "username=Tom&password=password123"],
    ["truncated JSON", '{"username": "Tom"'],
    ["empty", ""],
    ["a JSON array", JSON.stringify([{ username: "Tom", password: "password123" }])],
    ["a JSON string", '"Tom"'],
    ["JSON null", "null"],
    ["invalid UTF-8", new Uint8Array([0x7b, 0x22, 0x75, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d])],
  ];
  for (const path of ["/v1/user", "/v1/user/token"]) {
    for (const [what, body] of bodies) {
      const raw = await send(server, "POST", path, { body });
      try {
        const json = assertEnvelope(raw, 400, 10003);
        assert.equal(json.body.field, "body");
      } catch (error) {
        throw new Error(`${path} with ${what}: ${(error as Error).message}`);
      }
    }
  }
});

Deno.test("GET /healthz is 200 with the envelope", async () => {
  await using server = await startTestServer();
  assertEnvelope(await send(server, "GET", "/healthz"), 200, 10001);
});

Deno.test("GET /readyz is 200 when the database and the hub answer", async () => {
  await using server = await startTestServer();
  const json = assertEnvelope(await send(server, "GET", "/readyz"), 200, 10001);
  assert.equal(json.msg, "Ready");
  assert.deepEqual(json.body, { database: "up", hub: "up" });
});

Deno.test("GET /readyz is 503 naming the database when it cannot be reached", async () => {
  await using server = await startTestServer();
  await server.repository.close();
  const raw = await send(server, "GET", "/readyz");
  const json = assertEnvelope(raw, 503, 10011);
  assert.equal(json.msg, "Not ready: database down");
  assert.equal(json.body.database, "down");
  // The process is still up.
  assertEnvelope(await send(server, "GET", "/healthz"), 200, 10001);
});

Deno.test("every error response is JSON with the status, msg, body envelope", async () => {
  await using server = await startTestServer();
  assertEnvelope(await send(server, "POST", "/v1/user", { body: REGISTER_BODY }), 201, 10001);
  const cases: [string, string, RequestInit, number, number][] = [
    ["GET", "/missing", {}, 404, 10006],
    ["PATCH", "/v1/user", {}, 405, 10008],
    ["GET", "/v1/chat/Tom", {}, 426, 10009],
    ["POST", "/v1/user", { body: "x".repeat(20_000) }, 413, 10003],
    ["POST", "/v1/user", { body: "{" }, 400, 10003],
    ["POST", "/v1/user", { body: '{"username":"a b","password":"password123"}' }, 400, 10003],
    ["POST", "/v1/user", { body: REGISTER_BODY }, 409, 10002],
    ["POST", "/v1/user/token", { body: '{"username":"Tom","password":"nope-nope"}' }, 401, 10005],
    ["DELETE", "/v1/user/token", {}, 401, 10004],
    ["GET", "/v1/chat/Tom/messages", {}, 401, 10004],
    [
      "POST",
      "/v1/user",
      { body: REGISTER_BODY, headers: { "content-type": "text/plain" } },
      415,
      10013,
    ],
  ];
  for (const [method, path, init, httpStatus, status] of cases) {
    const raw = await send(server, method, path, init);
    try {
      assertEnvelope(raw, httpStatus, status);
    } catch (error) {
      throw new Error(`${method} ${path}: ${(error as Error).message}`);
    }
  }
});

// A body a cross-site page can send without a CORS preflight (text/plain, a form, no type).
const NOT_JSON_TYPES: [string, Record<string, string>][] = [
  ["text/plain", { "content-type": "text/plain;charset=UTF-8" }],
  ["a form", { "content-type": "application/x-www-form-urlencoded" }],
  ["multipart", { "content-type": "multipart/form-data; boundary=x" }],
  ["no type", { "content-type": "" }],
];

for (const [name, headers] of NOT_JSON_TYPES) {
  Deno.test(`a POST or DELETE body sent as ${name} is 415 (10013) and nothing happens`, async () => {
    await using server = await startTestServer();
    const register = await send(server, "POST", "/v1/user", { body: REGISTER_BODY, headers });
    const json = assertEnvelope(register, 415, 10013);
    assert.equal(json.msg, "Request body must be application/json");
    assert.equal(register.headers.get("accept"), "application/json");
    assertEnvelope(
      await send(server, "POST", "/v1/user/token", { body: REGISTER_BODY, headers }),
      415,
      10013,
    );
    assertEnvelope(
      await send(server, "DELETE", "/v1/user/token", { body: "{}", headers }),
      415,
      10013,
    );
    // Nothing was registered: the same user registers with JSON.
    assertEnvelope(await send(server, "POST", "/v1/user", { body: REGISTER_BODY }), 201, 10001);
  });
}

Deno.test("application/json is accepted in any case and with a charset; a POST without a body needs no type", async () => {
  await using server = await startTestServer();
  const headers = { "content-type": "Application/JSON; charset=utf-8" };
  assertEnvelope(
    await send(server, "POST", "/v1/user", { body: REGISTER_BODY, headers }),
    201,
    10001,
  );
  // No body: the handler answers (400 for the missing JSON), not 415.
  assertEnvelope(await send(server, "POST", "/v1/user/token"), 400, 10003);
});
