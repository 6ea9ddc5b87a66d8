/** Login tokens: random UUID v4 values, stored as their SHA-256. */
import assert from "node:assert/strict";
import { hashToken, newToken } from "../../lib/auth/token.ts";

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

Deno.test("a new token is a UUID v4 like the seed's example", () => {
  assert.match("296d9235-bc89-4566-b8e4-c338e13e0fd7", UUID_V4);
  for (let i = 0; i < 100; i++) assert.match(newToken(), UUID_V4);
});

Deno.test("new tokens do not repeat", () => {
  const tokens = new Set(Array.from({ length: 1000 }, newToken));
  assert.equal(tokens.size, 1000);
});

Deno.test("hashToken is the 64-hex SHA-256 of the token, the same every time", () => {
  assert.equal(
    hashToken("abc"),
    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
  );
  const token = newToken();
  assert.match(hashToken(token), /^[0-9a-f]{64}$/);
  assert.equal(hashToken(token), hashToken(token));
  assert.notEqual(hashToken(token), hashToken(newToken()));
  assert.ok(!hashToken(token).includes(token.replaceAll("-", "")));
});
