/** The chat page's files over a real server: types, caching, ETags and the security headers. */
import assert from "node:assert/strict";
import {
  CONTENT_SECURITY_POLICY,
  IMMUTABLE_CACHE,
  matchesEtag,
  REVALIDATE_CACHE,
} from "../../lib/http/static_routes.ts";
import { startTestServer } from "../support/server.ts";

function assertSecurityHeaders(headers: Headers): void {
  assert.equal(headers.get("content-security-policy"), CONTENT_SECURITY_POLICY);
  assert.equal(headers.get("x-content-type-options"), "nosniff");
  assert.equal(headers.get("referrer-policy"), "no-referrer");
  assert.equal(headers.get("x-frame-options"), "DENY");
}

Deno.test("the page is served at / as HTML, revalidated by ETag, with a strict CSP", async () => {
  await using server = await startTestServer();
  const response = await fetch(server.baseUrl + "/");
  const html = await response.text();
  assert.equal(response.status, 200);
  assert.equal(response.headers.get("content-type"), "text/html; charset=utf-8");
  assert.equal(response.headers.get("cache-control"), REVALIDATE_CACHE);
  assert.match(response.headers.get("etag") ?? "", /^"[0-9a-f]{16}"$/);
  assertSecurityHeaders(response.headers);
  assert.match(html, /^<!doctype html>/);
  const csp = CONTENT_SECURITY_POLICY;
  for (const directive of ["default-src 'none'", "script-src 'self'", "style-src 'self'"]) {
    assert.ok(csp.includes(directive), directive);
  }
  assert.ok(csp.includes("connect-src 'self'"));
  assert.ok(csp.includes("frame-ancestors 'none'"));
  assert.doesNotMatch(csp, /unsafe/);
});

Deno.test("a current ETag gets 304 without a body; a stale one gets the page", async () => {
  await using server = await startTestServer();
  const first = await fetch(server.baseUrl + "/");
  await first.body?.cancel();
  const etag = first.headers.get("etag")!;
  const again = await fetch(server.baseUrl + "/", { headers: { "if-none-match": etag } });
  assert.equal(again.status, 304);
  assert.equal(await again.text(), "");
  assert.equal(again.headers.get("etag"), etag);
  assert.equal(again.headers.get("cache-control"), REVALIDATE_CACHE);
  const stale = await fetch(server.baseUrl + "/", { headers: { "if-none-match": '"0000"' } });
  assert.equal(stale.status, 200);
  await stale.body?.cancel();
});

Deno.test("the script, styles and icon the page links are served under hashed names for a year", async () => {
  await using server = await startTestServer();
  const html = await (await fetch(server.baseUrl + "/")).text();
  const linked = [...html.matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g)].map((m) => m[1]);
  const types: Record<string, string> = {
    js: "text/javascript; charset=utf-8",
    css: "text/css; charset=utf-8",
    svg: "image/svg+xml",
  };
  assert.deepEqual(
    new Set(linked.map((path) => path.split(".").at(-1))),
    new Set(Object.keys(types)),
  );
  for (const path of new Set(linked)) {
    assert.match(path, /^\/assets\/[a-z]+\.[0-9a-f]{16}\.(js|css|svg)$/);
    const response = await fetch(server.baseUrl + path);
    const body = await response.text();
    assert.equal(response.status, 200, path);
    assert.equal(response.headers.get("content-type"), types[path.split(".").at(-1)!], path);
    assert.equal(response.headers.get("cache-control"), IMMUTABLE_CACHE, path);
    assertSecurityHeaders(response.headers);
    assert.ok(body.length > 100, path);
  }
});

Deno.test("the page has no inline script, inline style or event-handler attribute", async () => {
  await using server = await startTestServer();
  const html = await (await fetch(server.baseUrl + "/")).text();
  for (const tag of html.match(/<script\b[^>]*>/g) ?? []) assert.match(tag, /\bsrc="/);
  assert.doesNotMatch(html, /<style\b/);
  assert.doesNotMatch(html, /\sstyle=/);
  assert.doesNotMatch(html, /\son[a-z]+=/);
});

Deno.test("HEAD answers like GET without a body; other methods and unknown files are refused", async () => {
  await using server = await startTestServer();
  const head = await fetch(server.baseUrl + "/", { method: "HEAD" });
  assert.equal(head.status, 200);
  assert.equal(head.headers.get("content-type"), "text/html; charset=utf-8");
  assert.equal(await head.text(), "");
  const post = await fetch(server.baseUrl + "/", { method: "POST" });
  assert.equal(post.status, 405);
  assert.equal(post.headers.get("allow"), "GET");
  assert.equal((await post.json()).status, 10008);
  const missing = await fetch(server.baseUrl + "/assets/app.0000000000000000.js");
  assert.equal(missing.status, 404);
  assert.equal((await missing.json()).status, 10006);
});

Deno.test("If-None-Match matches strong, weak and listed tags, and *", () => {
  assert.equal(matchesEtag('"abc"', "abc"), true);
  assert.equal(matchesEtag('W/"abc"', "abc"), true);
  assert.equal(matchesEtag('"x", "abc"', "abc"), true);
  assert.equal(matchesEtag("*", "abc"), true);
  assert.equal(matchesEtag('"abcd"', "abc"), false);
  assert.equal(matchesEtag(null, "abc"), false);
});
