import assert from "node:assert/strict";
import { clientAddress } from "../../lib/http/client_address.ts";
import { parseConfig } from "../../lib/config.ts";

const INFO = { remoteAddr: { hostname: "10.0.0.5" } };

function request(...forwarded: string[]): Request {
  const headers = new Headers();
  for (const value of forwarded) headers.append("x-forwarded-for", value);
  return new Request("http://chat.test/", { headers });
}

Deno.test("the connection's address is used unless a proxy is trusted", () => {
  assert.equal(clientAddress(request("203.0.113.9"), INFO, 0), "10.0.0.5");
  assert.equal(clientAddress(request(), INFO, 1), "10.0.0.5");
});

Deno.test("an unknown connection counts as one address, 'unknown'", () => {
  assert.equal(clientAddress(request(), undefined, 0), "unknown");
});

Deno.test("a trusted proxy's X-Forwarded-For names the client", () => {
  assert.equal(clientAddress(request("203.0.113.9"), INFO, 1), "203.0.113.9");
});

Deno.test("behind one proxy the rightmost X-Forwarded-For value counts, not what the client wrote", () => {
  // nginx's $proxy_add_x_forwarded_for appends the address it saw to the client's own header.
  assert.equal(
    clientAddress(request("203.0.113.7, 127.0.0.1, 198.51.100.4"), INFO, 1),
    "198.51.100.4",
  );
  // Two headers are read as one list, in order.
  assert.equal(clientAddress(request("203.0.113.7", "198.51.100.4"), INFO, 1), "198.51.100.4");
});

Deno.test("behind N proxies the Nth value from the right counts", () => {
  const chain = request("1.1.1.1, 203.0.113.7, 10.0.0.2");
  assert.equal(clientAddress(chain, INFO, 2), "203.0.113.7");
  assert.equal(clientAddress(chain, INFO, 3), "1.1.1.1");
  // Fewer values than proxies: the leftmost one a proxy wrote.
  assert.equal(clientAddress(request("203.0.113.7"), INFO, 3), "203.0.113.7");
});

Deno.test("an unreadable forwarded value falls back to the connection's address", () => {
  assert.equal(clientAddress(request("1.1.1.1, "), INFO, 1), "10.0.0.5");
  assert.equal(clientAddress(request("<script>"), INFO, 1), "10.0.0.5");
  assert.equal(clientAddress(request("[2001:db8::1]:4711"), INFO, 1), "[2001:db8::1]:4711");
});

Deno.test("TRUST_PROXY takes false, true or a count of proxies", () => {
  assert.equal(parseConfig({}).trustedProxies, 0);
  assert.equal(parseConfig({ TRUST_PROXY: "true" }).trustedProxies, 1);
  assert.equal(parseConfig({ TRUST_PROXY: "off" }).trustedProxies, 0);
  assert.equal(parseConfig({ TRUST_PROXY: "2" }).trustedProxies, 2);
  assert.throws(() => parseConfig({ TRUST_PROXY: "11" }), /TRUST_PROXY/);
});
