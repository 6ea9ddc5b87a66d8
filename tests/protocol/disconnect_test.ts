import assert from "node:assert/strict";
import { DISCONNECT, type Disconnect } from "../../lib/protocol/disconnect.ts";
import { CLOSE_CODE, isApiStatus, isChatStatus, isCloseCode } from "../../lib/protocol/status.ts";

Deno.test("token, target and cap refusals send their frame, then close with 1008", () => {
  assert.deepEqual(
    { ...DISCONNECT.TOKEN_FAILED },
    {
      kind: "token_failed",
      frame: '{"status":30002,"msg":"Token authentication failed","body":{}}',
      code: 1008,
      reason: "Token authentication failed",
    },
  );
  assert.equal(DISCONNECT.TOKEN_EXPIRED.frame, DISCONNECT.TOKEN_FAILED.frame);
  assert.equal(DISCONNECT.TOKEN_EXPIRED.reason, "Token expired");
  assert.equal(
    DISCONNECT.targetNotFound("Tony").frame,
    '{"status":30003,"msg":"Target user Tony does not exist","body":{}}',
  );
  assert.equal(DISCONNECT.targetNotFound("Tony").code, 1008);
  assert.equal(
    DISCONNECT.tooManyConnections(20).frame,
    '{"status":30006,"msg":"Too many connections","body":{"limit":20}}',
  );
});

Deno.test("a message over a storage quota: 30007 or 30008 (no id), then 1008 saying what is stored", () => {
  const daily = DISCONNECT.dailyQuota("bytes", 16384, 3_600_000);
  assert.deepEqual({ ...daily }, {
    kind: "daily_quota",
    frame: '{"status":30007,"msg":"Daily quota exceeded","body":' +
      '{"quota":"bytes","limit":16384,"retry_after_ms":3600000}}',
    code: 1008,
    reason:
      "Daily quota of bytes reached; messages before this close are stored, later ones are not",
  });
  const waiting = DISCONNECT.waitingQuota(5000);
  assert.equal(waiting.kind, "waiting_quota");
  assert.equal(
    waiting.frame,
    '{"status":30008,"msg":"Too many messages waiting","body":{"limit":5000}}',
  );
  assert.equal(waiting.code, 1008);
  assert.match(waiting.reason, /^Too many messages waiting for the receiver; messages before/);
});

Deno.test("closes without a frame carry their code and a reason within 123 bytes", () => {
  const expected: [keyof typeof DISCONNECT, number][] = [
    ["FRAME_TOO_BIG", 1009],
    ["TOO_SLOW", 1013],
    ["TRY_AGAIN_LATER", 1013],
    ["GOING_AWAY", 1001],
    ["INTERNAL_ERROR", 1011],
  ];
  for (const [name, code] of expected) {
    const disconnect = DISCONNECT[name];
    assert.ok(typeof disconnect !== "function");
    assert.equal(disconnect.code, code, name);
    assert.equal(disconnect.frame, null, name);
  }
  for (const value of Object.values(DISCONNECT)) {
    const disconnect = typeof value === "function"
      ? (value as (arg: never) => Disconnect)("x" as never)
      : value;
    assert.ok(new TextEncoder().encode(disconnect.reason).byteLength <= 123);
    assert.ok(isCloseCode(disconnect.code));
    assert.ok(Object.isFrozen(disconnect));
  }
});

Deno.test("the guards accept exactly the codes of their table", () => {
  assert.equal(isChatStatus(30001), true);
  assert.equal(isChatStatus(30099), true);
  assert.equal(isChatStatus(30000), false);
  assert.equal(isChatStatus("30001"), false);
  assert.equal(isApiStatus(10001), true);
  assert.equal(isApiStatus(30001), false);
  assert.equal(isCloseCode(CLOSE_CODE.TRY_AGAIN_LATER), true);
  assert.equal(isCloseCode(1000), false);
});
