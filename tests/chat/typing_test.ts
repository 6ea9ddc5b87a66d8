/**
 * Typing (30014) between v2 sockets on a real service: state changes only, excess frames ignored
 * without an answer, a `true` ending by itself 6 s after its last repeat or when its socket
 * closes; a seed peer never sees it.
 */
import assert from "node:assert/strict";
import { registerAndLogin, startTestServer, type TestServer } from "../support/server.ts";
import { ChatClient } from "../support/ws_client.ts";
import { openV2 } from "../support/v2_clients.ts";

async function pair(server: TestServer) {
  const tom = await registerAndLogin(server, "Tom");
  const jack = await registerAndLogin(server, "Jack");
  const tomV2 = await openV2(server, "Jack", tom);
  const jackV2 = await openV2(server, "Tom", jack);
  const jackSeed = await ChatClient.connect(server.wsUrl, "Tom", jack);
  await tomV2.expect(30098);
  await jackV2.expect(30098);
  await jackSeed.expect(30098);
  return { tomV2, jackV2, jackSeed };
}

Deno.test("typing true then false reaches the peer's v2 sockets once each; repeats are not forwarded", async () => {
  await using server = await startTestServer();
  const { tomV2, jackV2, jackSeed } = await pair(server);
  await using _sockets = { [Symbol.asyncDispose]: () => closeAll(tomV2, jackV2, jackSeed) };
  tomV2.sendJson({ typing: true });
  assert.deepEqual(await jackV2.next(), {
    status: 30014,
    msg: "Typing",
    body: { from_user: "Tom", typing: true },
  });
  tomV2.sendJson({ typing: true });
  tomV2.sendJson({ typing: false });
  assert.deepEqual((await jackV2.next()).body, { from_user: "Tom", typing: false });
  tomV2.sendMessage("done typing", "m-1");
  assert.equal((await jackV2.next()).status, 30001);
  assert.equal((await jackSeed.next()).status, 30001);
  assert.deepEqual(jackSeed.frames.map((f) => f.status), [30098, 30001]);
});

Deno.test("typing frames over the socket's rate are ignored without any answer", async () => {
  await using server = await startTestServer({ env: { TYPING_RATE: "1", TYPING_BURST: "2" } });
  const { tomV2, jackV2, jackSeed } = await pair(server);
  await using _sockets = { [Symbol.asyncDispose]: () => closeAll(tomV2, jackV2, jackSeed) };
  for (let i = 0; i < 10; i++) tomV2.sendJson({ typing: i % 2 === 0 });
  tomV2.sendMessage("after the flood", "m-1");
  // Tom's next frame answers his message: nothing answered the typing frames.
  const answer = await tomV2.nextMatching((f) => f.status !== 30016, "the 30010");
  assert.equal(answer.status, 30010);
  // Jack saw the two the burst allowed (true, false), then the message.
  const seen = [await jackV2.next(), await jackV2.next(), await jackV2.next()];
  assert.deepEqual(seen.map((f) => [f.status, f.body.typing]), [
    [30014, true],
    [30014, false],
    [30001, undefined],
  ]);
});

Deno.test("a typing true ends by itself 6 s after its last repeat, and when its socket closes", async () => {
  await using server = await startTestServer();
  const { tomV2, jackV2, jackSeed } = await pair(server);
  await using _sockets = { [Symbol.asyncDispose]: () => closeAll(tomV2, jackV2, jackSeed) };
  tomV2.sendJson({ typing: true });
  assert.equal((await jackV2.next()).body.typing, true);
  const started = Date.now();
  const ended = await jackV2.next("the expiry", 9000);
  assert.deepEqual(ended.body, { from_user: "Tom", typing: false });
  assert.ok(Date.now() - started >= 5500, `ended after ${Date.now() - started} ms`);
  tomV2.sendJson({ typing: true });
  assert.equal((await jackV2.next()).body.typing, true);
  await tomV2.close();
  const closed = await jackV2.next();
  assert.deepEqual([closed.status, closed.body.typing], [30014, false]);
  assert.equal((await jackV2.next()).status, 30099);
});

async function closeAll(...clients: ChatClient[]): Promise<void> {
  for (const client of clients) await client.close();
}
