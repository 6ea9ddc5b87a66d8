import assert from "node:assert/strict";
import { clientAddress } from "../../lib/http/client_address.ts";

const INFO = { remoteAddr: { hostname: "10.0.0.5" } };

function request(forwarded?: string): Request {
  return new Request("http://chat.test/", {
    headers: forwarded === undefined ? {} : { "x-forwarded-for": forwarded },
  });
}

Deno.test("the connection's address is used unless the proxy is trusted", () => {
  assert.equal(clientAddress(request("203.0.113.9"), INFO, false), "10.0.0.5");
  assert.equal(clientAddress(request(), INFO, true), "10.0.0.5");
});

Deno.test("an unknown connection counts as one address, 'unknown'", () => {
  assert.equal(clientAddress(request(), undefined, false), "unknown");
});

Deno.test("a trusted proxy's X-Forwarded-For names the client", () => {
  assert.equal(clientAddress(request("203.0.113.9"), INFO, true), "203.0.113.9");
});
