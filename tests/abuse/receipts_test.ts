import assert from "node:assert/strict";
import { api, registerAndLogin, startTestServer, type TestServer } from "../support/server.ts";
import { ChatClient } from "../support/ws_client.ts";

async function setUp(server: TestServer, waiting: number) {
  const tom = await registerAndLogin(server, "Tom");
  const jack = await registerAndLogin(server, "Jack");
  const toJack = await ChatClient.connect(server.wsUrl, "Jack", tom);
  for (let i = 1; i <= waiting; i++) toJack.sendMessage(`m${i}`, `id${i}`);
  for (let i = 1; i <= waiting; i++) await toJack.expect(30010);
  return { tom, jack, toJack };
}

async function receive(
  client: ChatClient,
  count: number,
  acknowledge = false,
): Promise<{ ids: number[]; texts: string[] }> {
  const ids: number[] = [];
  const texts: string[] = [];
  while (ids.length < count) {
    const frame = await client.next(`message ${ids.length + 1} of ${count}`);
    if (frame.status !== 30001) continue;
    ids.push(frame.body.message_id as number);
    texts.push(frame.body.msg as string);
    if (acknowledge) client.ack(frame.body.message_id as number);
  }
  return { ids, texts };
}

Deno.test("in receipt mode an unacknowledged message is delivered again on the next socket", async () => {
  await using server = await startTestServer();
  const { jack, toJack } = await setUp(server, 5);
  try {
    const first = await ChatClient.connect(server.wsUrl, "Tom", jack, { receipts: true });
    const got = await receive(first, 5);
    assert.deepEqual(got.texts, ["m1", "m2", "m3", "m4", "m5"]);
    // Acknowledge the first two only (cumulatively), then drop the socket.
    first.ack(got.ids[1]);
    first.sendMessage("marker", "marker");
    await first.nextMatching((f) => f.status === 30010, "the marker's ack (receipt handled)");
    await first.close();
    const second = await ChatClient.connect(server.wsUrl, "Tom", jack, { receipts: true });
    const again = await receive(second, 3);
    assert.deepEqual(again.texts, ["m3", "m4", "m5"]);
    second.ack(again.ids[2]);
    second.sendMessage("marker 2", "marker2");
    await second.nextMatching((f) => f.status === 30010, "the second marker's ack");
    await second.close();
    // Everything acknowledged: a third socket gets only what is new.
    const third = await ChatClient.connect(server.wsUrl, "Tom", jack, { receipts: true });
    toJack.sendMessage("new");
    assert.deepEqual((await receive(third, 1)).texts, ["new"]);
    await third.close();
  } finally {
    await toJack.close();
  }
});

Deno.test("without ack=1 a message counts as delivered once written, as before", async () => {
  await using server = await startTestServer();
  const { jack, toJack } = await setUp(server, 3);
  try {
    const first = await ChatClient.connect(server.wsUrl, "Tom", jack);
    await receive(first, 3);
    // A receipt from a client not in receipt mode is ignored, not an error.
    first.ack(1);
    first.sendMessage("probe", "probe");
    assert.equal((await first.nextMatching((f) => f.status !== 30098, "probe ack")).status, 30010);
    await first.close();
    const second = await ChatClient.connect(server.wsUrl, "Tom", jack);
    toJack.sendMessage("only this");
    assert.deepEqual((await receive(second, 1)).texts, ["only this"]);
    await second.close();
  } finally {
    await toJack.close();
  }
});

Deno.test("waiting messages beyond MAX_UNACKED flow as the client acknowledges them", async () => {
  await using server = await startTestServer({ env: { MAX_UNACKED: "4" } });
  const { jack, toJack } = await setUp(server, 12);
  try {
    const client = await ChatClient.connect(server.wsUrl, "Tom", jack, { receipts: true });
    const texts: string[] = [];
    while (texts.length < 12) {
      const frame = await client.next(`message ${texts.length + 1}`);
      if (frame.status !== 30001) continue;
      texts.push(frame.body.msg as string);
      client.ack(frame.body.message_id as number);
    }
    assert.deepEqual(texts, Array.from({ length: 12 }, (_, i) => `m${i + 1}`));
    await client.close();
  } finally {
    await toJack.close();
  }
});

Deno.test("a receipt-mode socket that never acknowledges is closed with 1013; its messages wait", async () => {
  await using server = await startTestServer({ env: { MAX_UNACKED: "3" } });
  const { jack, toJack } = await setUp(server, 0);
  try {
    const silent = await ChatClient.connect(server.wsUrl, "Tom", jack, { receipts: true });
    await toJack.expect(30098);
    for (let i = 1; i <= 4; i++) toJack.sendMessage(`live ${i}`);
    assert.equal((await silent.closed("closed for not acknowledging")).code, 1013);
    const back = await ChatClient.connect(server.wsUrl, "Tom", jack, { receipts: true });
    // The window is 3 here too: acknowledging as they come lets all four through.
    assert.deepEqual((await receive(back, 4, true)).texts, [
      "live 1",
      "live 2",
      "live 3",
      "live 4",
    ]);
    await back.close();
  } finally {
    await toJack.close();
  }
});

Deno.test("an acknowledged message is marked delivered in history order and not resent", async () => {
  await using server = await startTestServer();
  const { tom, jack, toJack } = await setUp(server, 2);
  try {
    const client = await ChatClient.connect(server.wsUrl, "Tom", jack, { receipts: true });
    const got = await receive(client, 2);
    client.ack(got.ids[1]);
    client.sendMessage("sync", "sync");
    await client.nextMatching((f) => f.status === 30010, "sync ack");
    await client.close();
    const history = await api(server, "GET", "/v1/chat/Jack/messages", { token: tom });
    assert.equal((history.json.body.messages as unknown[]).length, 3);
    const again = await ChatClient.connect(server.wsUrl, "Tom", jack, { receipts: true });
    toJack.sendMessage("fresh");
    assert.deepEqual((await receive(again, 1)).texts, ["fresh"]);
    await again.close();
  } finally {
    await toJack.close();
  }
});
