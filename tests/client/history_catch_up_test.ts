/** The catch-up after a reconnect: the peer's missed messages from history, then the held live ones. */
import assert from "node:assert/strict";
import { ChatApi, type HistoryOptions, type HistoryPage } from "../../lib/client/chat_api.ts";
import { HistoryCatchUp } from "../../lib/client/history_catch_up.ts";
import { MessageReceiver } from "../../lib/client/message_receiver.ts";
import { SYSTEM_TIMERS } from "../../lib/client/timers.ts";
import type { ChatMessageView } from "../../lib/protocol/server_frame.ts";
import { CHAT_STATUS } from "../../lib/protocol/status.ts";
import { registerAndLogin, startTestServer, type TestServer } from "../support/server.ts";
import { ChatClient as RawChatClient } from "../support/ws_client.ts";
import { ManualTimers } from "../support/manual_timers.ts";

/** Sends `texts` from the owner of `token` to `peer`, each stored before the next; their ids. */
async function sendAll(server: TestServer, token: string, peer: string, texts: string[]) {
  await using socket = await RawChatClient.connect(server.wsUrl, peer, token);
  const ids: Record<string, number> = {};
  for (const text of texts) {
    socket.sendMessage(text, `id-${text}`);
    const stored = await socket.nextMatching((f) => f.status === CHAT_STATUS.STORED, text);
    ids[text] = stored.body.message_id as number;
  }
  return ids;
}

/** A receiver that records the texts it hands on. */
function recordingReceiver() {
  const handed: string[] = [];
  return { receiver: new MessageReceiver((m) => handed.push(m.msg)), handed };
}

function live(messageId: number, msg: string): ChatMessageView {
  return { messageId, fromUser: "Jack", msg, sendTime: "2024-05-01 12:00:00" };
}

/** Jack's five messages to Tom with one of Tom's among them, and the history API of the server. */
async function conversation(server: TestServer) {
  const tom = await registerAndLogin(server, "Tom");
  const jack = await registerAndLogin(server, "Jack");
  const early = await sendAll(server, jack, "Tom", ["one", "two"]);
  const mine = await sendAll(server, tom, "Jack", ["mine"]);
  const late = await sendAll(server, jack, "Tom", ["three", "four", "five"]);
  const requests: (number | null)[] = [];
  const chatApi = new ChatApi({ baseUrl: server.baseUrl });
  const api = {
    history(token: string, peer: string, options: HistoryOptions = {}): Promise<HistoryPage> {
      requests.push(options.before ?? null);
      return chatApi.history(token, peer, options);
    },
  };
  return { tom, ids: { ...early, ...mine, ...late }, api, requests };
}

Deno.test("the peer's messages newer than those handed on come first, oldest first, then the held live ones", async () => {
  await using server = await startTestServer();
  const { tom, ids, api, requests } = await conversation(server);
  const { receiver, handed } = recordingReceiver();
  receiver.markSeen([ids.two]);
  const catchUp = new HistoryCatchUp({
    api,
    token: tom,
    peer: "jack",
    receiver,
    timers: SYSTEM_TIMERS,
    timeoutMs: 5000,
    pageSize: 2,
  });
  catchUp.start();
  assert.equal(receiver.holding, true);
  receiver.accept(live(ids.five + 1, "live"));
  await catchUp.settled;
  assert.deepEqual(handed, ["three", "four", "five", "live"]);
  // Newest page first; the third page reaches "two", which was handed on already, and ends it.
  assert.deepEqual(requests, [null, ids.four, ids.mine]);
  assert.equal(receiver.holding, false);
});

Deno.test("a catch-up reads no more than maxPages pages", async () => {
  await using server = await startTestServer();
  const { tom, ids, api, requests } = await conversation(server);
  const { receiver, handed } = recordingReceiver();
  const catchUp = new HistoryCatchUp({
    api,
    token: tom,
    peer: "Jack",
    receiver,
    timers: SYSTEM_TIMERS,
    timeoutMs: 5000,
    pageSize: 2,
    maxPages: 1,
  });
  catchUp.start();
  await catchUp.settled;
  assert.deepEqual(handed, ["four", "five"]);
  assert.deepEqual(requests, [null]);
  assert.equal(receiver.caughtUpTo, ids.five);
});

/**
 * A history API that answers only when the test says; with `failOnAbort` it fails once its
 * request is aborted, as `fetch` does, else it answers regardless (a late answer).
 */
function heldHistoryApi(failOnAbort: boolean) {
  const answer = Promise.withResolvers<HistoryPage>();
  const api = {
    history(_token: string, _peer: string, options: HistoryOptions = {}): Promise<HistoryPage> {
      if (failOnAbort) {
        options.signal?.addEventListener("abort", () => answer.reject(options.signal?.reason));
      }
      return answer.promise;
    },
  };
  return { api, answer };
}

Deno.test("a history API that does not answer in time is given up, and the held messages go on", async () => {
  const { api } = heldHistoryApi(true);
  const timers = new ManualTimers();
  const { receiver, handed } = recordingReceiver();
  const catchUp = new HistoryCatchUp({
    api,
    token: "t",
    peer: "Jack",
    receiver,
    timers,
    timeoutMs: 10_000,
  });
  catchUp.start();
  receiver.accept(live(7, "live"));
  assert.deepEqual(handed, []);
  assert.equal(timers.fire(), 10_000);
  await catchUp.settled;
  assert.deepEqual(handed, ["live"]);
  assert.equal(receiver.holding, false);
});

Deno.test("a catch-up ended early (the socket dropped) hands on the held messages and not its late answer", async () => {
  const { api, answer } = heldHistoryApi(false);
  const timers = new ManualTimers();
  const { receiver, handed } = recordingReceiver();
  const catchUp = new HistoryCatchUp({
    api,
    token: "t",
    peer: "Jack",
    receiver,
    timers,
    timeoutMs: 1,
  });
  catchUp.start();
  receiver.accept(live(7, "live"));
  catchUp.end();
  assert.deepEqual(handed, ["live"]);
  answer.resolve({ messages: [{ ...live(3, "late"), toUser: "Tom" }], nextBefore: null });
  await catchUp.settled;
  assert.deepEqual(handed, ["live"]);
  assert.deepEqual(timers.pending, [], "the time-out is cleared");
});
