import assert from "node:assert/strict";
import { countCodePoints, utf8LengthUpTo } from "../../lib/protocol/text.ts";

Deno.test("countCodePoints counts astral characters once and lone surrogates once each", () => {
  assert.equal(countCodePoints(""), 0);
  assert.equal(countCodePoints("abc"), 3);
  assert.equal(countCodePoints("你好"), 2);
  assert.equal(countCodePoints("😀"), 1);
  assert.equal(countCodePoints("a😀b𠀀"), 4);
  assert.equal(countCodePoints("\ud800"), 1);
  assert.equal(countCodePoints("\ud800\ud800"), 2);
  assert.equal(countCodePoints("\udc00\ud800"), 2);
  assert.equal(countCodePoints("x\ud83d"), 2);
});

Deno.test("utf8LengthUpTo counts UTF-8 bytes and stops past the limit", () => {
  assert.equal(utf8LengthUpTo("abc", 100), 3);
  assert.equal(utf8LengthUpTo("é", 0), 2);
  assert.equal(utf8LengthUpTo("中", 0), 3);
  assert.equal(utf8LengthUpTo("😀", 0), 4);
  assert.equal(utf8LengthUpTo("中".repeat(10), 29), 30);
  assert.ok(utf8LengthUpTo("中".repeat(1000), 10) <= 14);
});
