import assert from "node:assert/strict";
import { api, registerAndLogin, startTestServer, type TestServer } from "../support/server.ts";
import { ChatClient } from "../support/ws_client.ts";

async function setUp(server: TestServer) {
  const tom = await registerAndLogin(server, "Tom");
  const jack = await registerAndLogin(server, "Jack");
  const toJack = await ChatClient.connect(server.wsUrl, "Jack", tom);
  const toTom = await ChatClient.connect(server.wsUrl, "Tom", jack);
  await toJack.expect(30098);
  await toTom.expect(30098);
  return { tom, toJack, toTom };
}

const BAD_FRAMES: [string, string | ArrayBuffer, string][] = [
  ["not JSON", "hello", "frame is not valid JSON"],
  ["a JSON string", '"hello"', "frame must be a JSON object"],
  ["a JSON array", '["hello"]', "frame must be a JSON object"],
  ["JSON null", "null", "frame must be a JSON object"],
  ["msg missing", '{"text":"hello"}', "msg is missing"],
  ["msg a number", '{"msg":42}', "msg must be a string"],
  ["msg null", '{"msg":null}', "msg must be a string"],
  ["msg an object", '{"msg":{"a":1}}', "msg must be a string"],
  ["msg empty", '{"msg":""}', "msg is empty"],
  ["msg only whitespace", '{"msg":" \\n\\t　"}', "msg is empty"],
  ["msg too long", JSON.stringify({ msg: "字".repeat(11) }), "msg is longer than 10 characters"],
  ["msg a lone surrogate", '{"msg":"\\ud800"}', "msg is not valid Unicode"],
  ["id a number", '{"msg":"hi","id":7}', "id must be a string"],
  ["id empty", '{"msg":"hi","id":""}', "id must be 1 to 64 characters"],
  [
    "id too long",
    JSON.stringify({ msg: "hi", id: "x".repeat(65) }),
    "id must be 1 to 64 characters",
  ],
  [
    "a binary frame",
    new TextEncoder().encode('{"msg":"hi"}').buffer as ArrayBuffer,
    "binary frames are not supported; send JSON text",
  ],
];

for (const [name, frame, reason] of BAD_FRAMES) {
  Deno.test(`a bad frame without id (${name}) from a seed client: 30004, then the socket ends; what came before is stored`, async () => {
    await using server = await startTestServer({ env: { MAX_MESSAGE_CHARS: "10" } });
    const { tom, toJack, toTom } = await setUp(server);
    try {
      toJack.sendMessage("before");
      toJack.socket.send(frame);
      assert.deepEqual(await toJack.next(), {
        status: 30004,
        msg: "Invalid message",
        body: { reason },
      });
      const close = await toJack.closed();
      assert.equal(close.code, typeof frame === "string" ? 1008 : 1003);
      assert.equal(close.reason, `Invalid message, not stored: ${reason}`);
      assert.equal((await toTom.expect(30001)).body.msg, "before");
      const history = await api(server, "GET", "/v1/chat/Jack/messages", { token: tom });
      assert.deepEqual(
        (history.json.body.messages as { msg: string }[]).map((m) => m.msg),
        ["before"],
      );
    } finally {
      await toJack.close();
      await toTom.close();
    }
  });
}

// The refusals of a frame that carries a valid id: it opted in, so it is answered and stays.
const BAD_FRAMES_WITH_ID: [string, string, string][] = [
  ["msg missing", '{"text":"hello","id":"x1"}', "msg is missing"],
  ["msg a number", '{"msg":42,"id":"x1"}', "msg must be a string"],
  ["msg empty", '{"msg":"","id":"x1"}', "msg is empty"],
  [
    "msg too long",
    JSON.stringify({ msg: "字".repeat(11), id: "x1" }),
    "msg is longer than 10 characters",
  ],
  ["msg with ack", '{"ack":1,"msg":"hello","id":"x1"}', "a frame carries msg or ack, not both"],
];

for (const [name, frame, reason] of BAD_FRAMES_WITH_ID) {
  Deno.test(`a bad frame with an id (${name}) gets 30004 naming the id, stores nothing, and the socket stays usable`, async () => {
    await using server = await startTestServer({ env: { MAX_MESSAGE_CHARS: "10" } });
    const { tom, toJack, toTom } = await setUp(server);
    try {
      toJack.socket.send(frame);
      assert.deepEqual(await toJack.next(), {
        status: 30004,
        msg: "Invalid message",
        body: { reason, id: "x1" },
      });
      toJack.sendMessage("still here");
      assert.equal((await toTom.expect(30001)).body.msg, "still here");
      const history = await api(server, "GET", "/v1/chat/Jack/messages", { token: tom });
      assert.deepEqual(
        (history.json.body.messages as { msg: string }[]).map((m) => m.msg),
        ["still here"],
      );
    } finally {
      await toJack.close();
      await toTom.close();
    }
  });
}

Deno.test("a message of exactly MAX_MESSAGE_CHARS characters is accepted (emoji count as one)", async () => {
  await using server = await startTestServer({ env: { MAX_MESSAGE_CHARS: "10" } });
  const { toJack, toTom } = await setUp(server);
  try {
    toJack.sendMessage("😀".repeat(10));
    assert.equal((await toTom.expect(30001)).body.msg, "😀".repeat(10));
  } finally {
    await toJack.close();
    await toTom.close();
  }
});

Deno.test("unknown keys in a frame are ignored", async () => {
  await using server = await startTestServer();
  const { toJack, toTom } = await setUp(server);
  try {
    toJack.socket.send('{"msg":"hi","__proto__":{"polluted":1},"extra":[1,2]}');
    const frame = await toTom.expect(30001);
    assert.equal(frame.body.msg, "hi");
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  } finally {
    await toJack.close();
    await toTom.close();
  }
});

Deno.test("a frame over MAX_FRAME_BYTES closes the socket with 1009 and stores nothing", async () => {
  await using server = await startTestServer({ env: { MAX_FRAME_BYTES: "1024" } });
  const { tom, toJack, toTom } = await setUp(server);
  try {
    // 400 CJK characters are 1,200 bytes in UTF-8 though only 400 characters.
    toJack.sendMessage("字".repeat(400));
    assert.equal((await toJack.closed()).code, 1009);
    assert.deepEqual(await toTom.next(), {
      status: 30099,
      msg: "Target user Tom logout",
      body: {},
    });
    const history = await api(server, "GET", "/v1/chat/Jack/messages", { token: tom });
    assert.deepEqual(history.json.body.messages, []);
  } finally {
    await toTom.close();
  }
});

Deno.test("a binary frame over MAX_FRAME_BYTES closes the socket with 1009", async () => {
  await using server = await startTestServer({ env: { MAX_FRAME_BYTES: "1024" } });
  const { toJack, toTom } = await setUp(server);
  try {
    toJack.socket.send(new Uint8Array(2048));
    assert.equal((await toJack.closed()).code, 1009);
  } finally {
    await toTom.close();
  }
});

Deno.test("a frame of exactly MAX_FRAME_BYTES is accepted", async () => {
  await using server = await startTestServer({
    env: { MAX_FRAME_BYTES: "1024", MAX_MESSAGE_CHARS: "5000" },
  });
  const { toJack, toTom } = await setUp(server);
  try {
    const frame = JSON.stringify({ msg: "a".repeat(1024 - '{"msg":""}'.length) });
    assert.equal(frame.length, 1024);
    toJack.socket.send(frame);
    assert.equal(((await toTom.expect(30001)).body.msg as string).length, 1014);
  } finally {
    await toJack.close();
    await toTom.close();
  }
});
