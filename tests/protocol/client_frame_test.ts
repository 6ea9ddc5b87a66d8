import assert from "node:assert/strict";
import { decodeClientFrame, MAX_CLIENT_ID_CHARS } from "../../lib/protocol/client_frame.ts";

const MAX_CHARS = 10;

/** Decodes `text` and returns the rejection reason, failing if it was accepted. */
function rejection(text: string, maxChars: number = MAX_CHARS): string {
  const result = decodeClientFrame(text, maxChars);
  assert.equal(result.ok, false, `${text} should be rejected`);
  return result.ok ? "" : result.reason;
}

/** Decodes `text` and returns the message, failing if it was rejected. */
function accepted(text: string, maxChars: number = MAX_CHARS): { msg: string; id: string | null } {
  const result = decodeClientFrame(text, maxChars);
  assert.ok(result.ok, `${text} should be accepted: ${result.ok ? "" : result.reason}`);
  assert.equal(result.kind, "message");
  return result.kind === "message" ? result.message : { msg: "", id: null };
}

Deno.test("a frame with only msg is accepted with a null id", () => {
  assert.deepEqual(accepted('{"msg":"Hello Tom"}'), { msg: "Hello Tom", id: null });
});

Deno.test("msg is kept exactly as sent, surrounding spaces included", () => {
  assert.equal(accepted('{"msg":"  hi \\n"}').msg, "  hi \n");
});

Deno.test("a frame that is not JSON is rejected", () => {
  assert.equal(rejection("Hello"), "frame is not valid JSON");
  assert.equal(rejection('{"msg":"unterminated'), "frame is not valid JSON");
  assert.equal(rejection(""), "frame is not valid JSON");
  // The seed's own example uses single quotes, which JSON does not allow.
  assert.equal(rejection("{'msg': 'hi'}"), "frame is not valid JSON");
});

Deno.test("a frame that is JSON but not an object is rejected", () => {
  for (const text of ['[{"msg":"hi"}]', "[]", "null", "42", '"hi"', "true"]) {
    assert.equal(rejection(text), "frame must be a JSON object", text);
  }
});

Deno.test("a frame without msg is rejected", () => {
  assert.equal(rejection("{}"), "msg is missing");
  assert.equal(rejection('{"message":"hi"}'), "msg is missing");
});

Deno.test("a msg that is not a string is rejected", () => {
  for (const value of ["42", "null", "true", '["hi"]', '{"text":"hi"}']) {
    assert.equal(rejection(`{"msg":${value}}`), "msg must be a string", value);
  }
});

Deno.test("an empty or whitespace-only msg is rejected", () => {
  assert.equal(rejection('{"msg":""}'), "msg is empty");
  assert.equal(rejection('{"msg":" \\t\\r\\n "}'), "msg is empty");
  // The ideographic space a Chinese keyboard types is whitespace too.
  assert.equal(rejection('{"msg":"\u3000\u3000"}'), "msg is empty");
});

Deno.test("msg length is counted in code points, an emoji being one", () => {
  assert.equal(accepted(`{"msg":"${"a".repeat(MAX_CHARS)}"}`).msg.length, MAX_CHARS);
  assert.equal(
    rejection(`{"msg":"${"a".repeat(MAX_CHARS + 1)}"}`),
    `msg is longer than ${MAX_CHARS} characters`,
  );
  // Ten emoji are twenty UTF-16 units, but ten characters.
  assert.equal(accepted(`{"msg":"${"😀".repeat(MAX_CHARS)}"}`).msg, "😀".repeat(MAX_CHARS));
  assert.equal(
    rejection(`{"msg":"${"😀".repeat(MAX_CHARS + 1)}"}`),
    `msg is longer than ${MAX_CHARS} characters`,
  );
  assert.equal(accepted(`{"msg":"${"你".repeat(MAX_CHARS)}"}`).msg, "你".repeat(MAX_CHARS));
  assert.equal(
    rejection(`{"msg":"${"你".repeat(MAX_CHARS + 1)}"}`),
    `msg is longer than ${MAX_CHARS} characters`,
  );
});

Deno.test("a msg with a lone surrogate is rejected", () => {
  assert.equal(rejection('{"msg":"abc\\ud800"}'), "msg is not valid Unicode");
  assert.equal(rejection('{"msg":"\\udc00abc"}'), "msg is not valid Unicode");
  // A correctly escaped pair is one emoji.
  assert.equal(accepted('{"msg":"\\ud83d\\ude00"}').msg, "😀");
});

Deno.test("a client id is returned as sent", () => {
  assert.deepEqual(accepted('{"msg":"hi","id":"c-1"}'), { msg: "hi", id: "c-1" });
});

Deno.test("a null id is the same as no id", () => {
  assert.deepEqual(accepted('{"msg":"hi","id":null}'), { msg: "hi", id: null });
});

Deno.test("an id that is not a string is rejected", () => {
  for (const value of ["42", "0", "true", '["c-1"]', '{"id":"c-1"}']) {
    assert.equal(rejection(`{"msg":"hi","id":${value}}`), "id must be a string", value);
  }
});

Deno.test("an empty id is rejected", () => {
  assert.equal(rejection('{"msg":"hi","id":""}'), "id must be 1 to 64 characters");
});

Deno.test("an id of 64 characters is accepted and one of 65 rejected", () => {
  assert.equal(MAX_CLIENT_ID_CHARS, 64);
  const longest = "x".repeat(64);
  assert.equal(accepted(`{"msg":"hi","id":"${longest}"}`).id, longest);
  assert.equal(rejection(`{"msg":"hi","id":"${"x".repeat(65)}"}`), "id must be 1 to 64 characters");
  // Counted in code points, like msg.
  const emoji = "😀".repeat(64);
  assert.equal(accepted(`{"msg":"hi","id":"${emoji}"}`).id, emoji);
  assert.equal(rejection(`{"msg":"hi","id":"${emoji}😀"}`), "id must be 1 to 64 characters");
});

Deno.test("a msg or id holding a NUL character is rejected", () => {
  assert.equal(rejection('{"msg":"a\\u0000b"}'), "msg must not contain U+0000");
  assert.equal(rejection('{"msg":"hi","id":"c\\u0000"}'), "id must not contain U+0000");
});

Deno.test("an id with a lone surrogate is rejected", () => {
  assert.equal(rejection('{"msg":"hi","id":"c\\ud800"}'), "id is not valid Unicode");
});

Deno.test("unknown keys are ignored", () => {
  assert.deepEqual(
    accepted('{"msg":"hi","id":"c-1","status":30001,"to":"Tom","extra":{"nested":[1,2]}}'),
    { msg: "hi", id: "c-1" },
  );
});

Deno.test("a __proto__ key neither supplies fields nor pollutes objects", () => {
  assert.equal(rejection('{"__proto__":{"msg":"hi"}}'), "msg is missing");
  assert.deepEqual(accepted('{"__proto__":{"msg":"x","id":5},"msg":"hi"}'), {
    msg: "hi",
    id: null,
  });
  assert.deepEqual(accepted('{"msg":"hi","__proto__":null}'), { msg: "hi", id: null });
  const plain: Record<string, unknown> = {};
  assert.equal(plain.msg, undefined);
  assert.equal(plain.id, undefined);
});

Deno.test("a receipt names the message id it acknowledges up to", () => {
  assert.deepEqual(decodeClientFrame('{"ack":42}', MAX_CHARS), { ok: true, kind: "ack", upTo: 42 });
  for (const bad of ['{"ack":0}', '{"ack":-1}', '{"ack":1.5}', '{"ack":"7"}', '{"ack":1e300}']) {
    assert.equal(rejection(bad), "ack must be a positive message_id");
  }
});

Deno.test("a msg holding U+0000 is rejected", () => {
  assert.equal(rejection('{"msg":"a\\u0000b"}'), "msg must not contain U+0000");
});
