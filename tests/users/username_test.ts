import assert from "node:assert/strict";
import { checkUsername, MAX_USERNAME_CHARS, usernameKey } from "../../lib/users/username.ts";

const CHARACTERS_REASON = "may contain only letters, digits, '_', '-' and '.'";
const LENGTH_REASON = "must be 1 to 32 characters";

function reasonFor(raw: unknown): string {
  const result = checkUsername(raw);
  assert.equal(result.ok, false, `${String(raw)} should be rejected`);
  return result.ok ? "" : result.reason;
}

function acceptedAs(raw: string): string {
  const result = checkUsername(raw);
  assert.ok(result.ok, `${raw} should be accepted: ${result.ok ? "" : result.reason}`);
  return result.username;
}

Deno.test("plain names are accepted unchanged", () => {
  for (const name of ["Tom", "jack", "Jack_2.0-beta", "007", "a", "_tom", ".tom", "tom."]) {
    assert.equal(acceptedAs(name), name);
  }
});

Deno.test("Chinese and other scripts are accepted", () => {
  for (const name of ["张三", "李四_2", "たなか", "Ольга", "محمد", "José"]) {
    assert.equal(acceptedAs(name), name);
  }
});

Deno.test("names are normalised to NFKC", () => {
  assert.equal(acceptedAs("Ｔｏｍ"), "Tom");
  assert.equal(acceptedAs("Ｊａｃｋ１２３"), "Jack123");
  // A decomposed accent composes: the stored spelling is the composed one.
  assert.equal(acceptedAs("Jose\u0301"), "Jos\u00e9");
});

Deno.test("a name of 32 characters is accepted and one of 33 rejected", () => {
  assert.equal(MAX_USERNAME_CHARS, 32);
  assert.equal(acceptedAs("a".repeat(32)), "a".repeat(32));
  assert.equal(reasonFor("a".repeat(33)), LENGTH_REASON);
  assert.equal(acceptedAs("张".repeat(32)), "张".repeat(32));
  assert.equal(reasonFor("张".repeat(33)), LENGTH_REASON);
  // Astral letters count once each.
  assert.equal(acceptedAs("𠀀".repeat(32)), "𠀀".repeat(32));
  assert.equal(reasonFor("𠀀".repeat(33)), LENGTH_REASON);
});

Deno.test("length is counted after normalisation", () => {
  // U+337F SQUARE CORPORATION becomes the four characters 株式会社 under NFKC.
  assert.equal(acceptedAs("\u337f".repeat(8)), "株式会社".repeat(8));
  assert.equal(reasonFor("\u337f".repeat(9)), LENGTH_REASON);
});

Deno.test("an empty name is rejected", () => {
  assert.equal(reasonFor(""), LENGTH_REASON);
});

Deno.test("spaces, slashes, '..' and '@' are rejected", () => {
  for (
    const name of [
      "Tom Jack",
      " Tom",
      "Tom ",
      "Tom\u3000",
      "a/b",
      "/",
      "a\\b",
      "..",
      ".",
      "-",
      "_",
      "@tom",
      "tom@example.com",
      "tom?x",
      "tom#1",
      "tom%20",
      "😀",
      "tom😀",
      "\u0301tom",
      "tom\u0000",
    ]
  ) {
    assert.equal(reasonFor(name), CHARACTERS_REASON, JSON.stringify(name));
  }
});

Deno.test("a missing name is required", () => {
  for (const raw of [undefined, null]) assert.equal(reasonFor(raw), "is required");
});

Deno.test("a name that is not a string is rejected", () => {
  for (const raw of [42, ["Tom"], { name: "Tom" }]) {
    assert.equal(reasonFor(raw), "must be a string");
  }
});

Deno.test("a name with a lone surrogate is rejected", () => {
  assert.equal(reasonFor("tom\ud800"), "is not valid Unicode");
});

Deno.test("spellings that differ in case or width share one key", () => {
  assert.equal(usernameKey("Tom"), "tom");
  assert.equal(usernameKey("tom"), "tom");
  assert.equal(usernameKey("TOM"), "tom");
  assert.equal(usernameKey("Ｔｏｍ"), "tom");
  assert.equal(usernameKey("ＴＯＭ"), "tom");
  assert.equal(usernameKey("Ольга"), usernameKey("ОЛЬГА"));
  assert.equal(usernameKey("Jose\u0301"), usernameKey("JOS\u00c9"));
});

Deno.test("different names have different keys", () => {
  assert.notEqual(usernameKey("Tom"), usernameKey("Tim"));
  assert.notEqual(usernameKey("张三"), usernameKey("张四"));
  assert.equal(usernameKey("张三"), "张三");
});

Deno.test("stacks of combining marks, a repeated mark and invisible characters are refused", () => {
  const stack = "Z\u0301\u0302\u0303\u0304\u0305oe";
  assert.equal(checkUsername(stack).ok, false);
  assert.equal(checkUsername("e\u0301\u0301va").ok, false);
  assert.equal(checkUsername("a\u3164b").ok, false); // HANGUL FILLER draws as nothing
  assert.equal(checkUsername("Tom\uFE0F").ok, false); // a variation selector
  // What scripts need stays allowed: Vietnamese, Devanagari conjuncts, Thai tone marks.
  for (const name of ["Tiền", "Nguyễn", "क्षत्रिय", "กิ่ง"]) {
    assert.equal(checkUsername(name).ok, true, name);
  }
});
