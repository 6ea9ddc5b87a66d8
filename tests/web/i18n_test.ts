/** The page's words: the language choice and the placeholders of both tables. */
import assert from "node:assert/strict";
import { type MessageKey, PAGE_TEXT, pickLanguage, translator } from "../../lib/web/page/i18n.ts";

Deno.test("Chinese is chosen for zh browsers and by default, English for en ones", () => {
  assert.equal(pickLanguage(["zh-CN", "en"]), "zh");
  assert.equal(pickLanguage(["zh-TW"]), "zh");
  assert.equal(pickLanguage(["en-US", "zh-CN"]), "en");
  assert.equal(pickLanguage(["fr", "en"]), "en");
  assert.equal(pickLanguage([]), "zh");
});

Deno.test("placeholders are filled, and both languages use the same ones for every text", () => {
  assert.equal(
    translator("zh")("errPeerMissing", { name: "Tony" }),
    "用户“Tony”不存在，请检查用户名。",
  );
  assert.equal(translator("en")("retrying", { seconds: 4 }), "Connection lost, retrying in 4 s");
  const placeholders = (text: string) => [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
  for (const key of Object.keys(PAGE_TEXT.zh) as MessageKey[]) {
    assert.ok(PAGE_TEXT.en[key].length > 0, key);
    assert.deepEqual(placeholders(PAGE_TEXT.zh[key]), placeholders(PAGE_TEXT.en[key]), key);
  }
});
