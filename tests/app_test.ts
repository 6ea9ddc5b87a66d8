/**
 * The request handler in process (`new Request(...)`, no port): the route table's 404 and 405,
 * body limits, the chat route's refusals before any socket exists, the one error path, and the
 * headers every answer carries.
 */
import { sqliteOptions } from "./support/backend_options.ts";
import assert from "node:assert/strict";
import { appFixture, FIXTURE_ADDRESS, upgradeHeaders } from "./support/app_fixture.ts";
import { SqliteRepository } from "../lib/storage/sqlite_repository.ts";
import { StorageUnavailableError } from "../lib/storage/errors.ts";
import type { Repository } from "../lib/storage/repository.ts";

async function registerAndLogin(
  app: ReturnType<typeof appFixture>,
  username: string,
): Promise<string> {
  const json = { username, password: "password123" };
  assert.equal((await app.call("POST", "/v1/user", { json })).httpStatus, 201);
  const login = await app.call("POST", "/v1/user/token", { json });
  assert.equal(login.httpStatus, 201);
  return login.json.body.token as string;
}

Deno.test("an unknown path is 404 and a known one with another method is 405 with Allow", async () => {
  await using app = appFixture();
  const missing = await app.call("GET", "/v1/nothing");
  assert.equal(missing.httpStatus, 404);
  assert.equal(missing.json.status, 10006);
  const wrong = await app.call("PUT", "/v1/user/token");
  assert.equal(wrong.httpStatus, 405);
  assert.equal(wrong.json.status, 10008);
  assert.equal(wrong.headers.get("allow"), "POST, DELETE");
});

Deno.test("HEAD is answered by the GET handler", async () => {
  await using app = appFixture();
  const response = await app.handler(new Request("http://chat.test/healthz", { method: "HEAD" }));
  assert.equal(response.status, 200);
});

Deno.test("a body over 16 KiB is 413 and registers nobody", async () => {
  await using app = appFixture();
  const json = { username: "Tom", password: "password123", pad: "x".repeat(17_000) };
  const answer = await app.call("POST", "/v1/user", { json });
  assert.equal(answer.httpStatus, 413);
  assert.equal(answer.json.body.field, "body");
  assert.equal(await app.repository.findUser("tom"), null);
});

Deno.test("a chat path without an upgrade is 426 naming websocket", async () => {
  await using app = appFixture();
  const answer = await app.call("GET", "/v1/chat/Tom?token=x");
  assert.equal(answer.httpStatus, 426);
  assert.equal(answer.json.status, 10009);
  assert.equal(answer.headers.get("upgrade"), "websocket");
});

Deno.test("an upgrade with malformed WebSocket headers is 400", async () => {
  await using app = appFixture();
  const answer = await app.call("GET", "/v1/chat/Tom?token=x", {
    headers: { upgrade: "websocket" },
  });
  assert.equal(answer.httpStatus, 400);
  assert.equal(answer.json.status, 10003);
  assert.equal(typeof answer.json.body.reason, "string");
});

Deno.test("an upgrade from an origin not allowed is 403 before the token is read", async () => {
  await using app = appFixture({ ALLOWED_ORIGINS: "https://chat.example.com" });
  const answer = await app.call("GET", "/v1/chat/Tom?token=x", {
    headers: upgradeHeaders({ origin: "https://evil.example" }),
  });
  assert.equal(answer.httpStatus, 403);
  assert.equal(answer.json.status, 10010);
  assert.equal(answer.json.body.origin, "https://evil.example");
});

Deno.test("an upgrade past the per-address cap is 429, past the total cap 503", async () => {
  await using perAddress = appFixture({ MAX_CONNECTIONS_PER_IP: "1" });
  perAddress.service.context.connections.open(FIXTURE_ADDRESS, null);
  const limited = await perAddress.call("GET", "/v1/chat/Tom?token=x", {
    headers: upgradeHeaders(),
  });
  assert.equal(limited.httpStatus, 429);
  assert.equal(limited.json.status, 10007);
  assert.equal(limited.headers.get("retry-after"), "5");

  await using total = appFixture({ MAX_CONNECTIONS: "1" });
  total.service.context.connections.open("198.51.100.1", null);
  const full = await total.call("GET", "/v1/chat/Tom?token=x", { headers: upgradeHeaders() });
  assert.equal(full.httpStatus, 503);
  assert.equal(full.json.status, 10011);
});

Deno.test("an admitted or refused upgrade switches protocols: the refusal is a frame", async () => {
  await using app = appFixture();
  const token = await registerAndLogin(app, "Tom");
  await registerAndLogin(app, "Jack");
  for (const path of [`/v1/chat/Jack?token=${token}`, "/v1/chat/Jack?token=wrong"]) {
    const response = await app.handler(
      new Request(`http://chat.test${path}`, { headers: upgradeHeaders() }),
    );
    assert.equal(response.status, 101, path);
  }
});

Deno.test("a path parameter that is not valid percent-encoding matches no route", async () => {
  await using app = appFixture();
  const answer = await app.call("GET", "/v1/chat/%E0%A4%A/messages");
  assert.equal(answer.httpStatus, 404);
});

/** A repository whose every call throws `error`. */
function failingWith(error: Error): Repository {
  const base = new SqliteRepository(":memory:", sqliteOptions());
  return new Proxy(base, {
    get(target, property) {
      if (property === "close") return () => target.close();
      return () => Promise.reject(error);
    },
  });
}

Deno.test("storage that may recover answers 503 with Retry-After; any other error 500", async () => {
  const busy = new StorageUnavailableError("database is locked");
  await using locked = appFixture({}, failingWith(busy));
  const retry = await locked.call("POST", "/v1/user", {
    json: { username: "Tom", password: "password123" },
  });
  assert.equal(retry.httpStatus, 503);
  assert.equal(retry.json.status, 10011);
  assert.equal(retry.headers.get("retry-after"), "1");

  await using broken = appFixture({}, failingWith(new Error("a bug")));
  const failed = await broken.call("POST", "/v1/user", {
    json: { username: "Tom", password: "password123" },
  });
  assert.equal(failed.httpStatus, 500);
  assert.equal(failed.json.status, 10099);
  assert.equal(failed.json.msg, "Internal server error");
});

Deno.test("every answer carries the security headers; a page keeps its own CSP", async () => {
  await using app = appFixture();
  const api = await app.call("GET", "/nothing");
  assert.equal(api.headers.get("x-content-type-options"), "nosniff");
  assert.equal(api.headers.get("x-frame-options"), "DENY");
  assert.equal(
    api.headers.get("content-security-policy"),
    "default-src 'none'; frame-ancestors 'none'",
  );
  const page = await app.handler(new Request("http://chat.test/"));
  await page.body?.cancel();
  assert.equal(page.status, 200);
  assert.match(page.headers.get("content-security-policy") ?? "", /script-src 'self'/);
});
