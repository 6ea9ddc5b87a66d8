/**
 * Committed but not published (issue 11, item 10): a seed sender's node stores messages and is
 * killed with -9 before it publishes them, while the receiver stays connected on another node.
 * Real processes and a real SIGKILL. To stop the node exactly between the commit and the
 * publish, its Redis connections go through a TCP proxy that the test freezes: the node still
 * stores (PostgreSQL is reached directly) but its publishes are never run. No test-only code
 * runs in the service: the gap is made the way a network makes it.
 */
import assert from "node:assert/strict";
import { historyTexts, registerAndLogin } from "../support/server.ts";
import { ChatClient } from "../support/ws_client.ts";
import { ProcessCluster } from "../support/process_cluster.ts";
import { servicesReachable, TEST_REDIS_URL } from "../support/services.ts";
import { TcpProxy } from "../support/tcp_proxy.ts";
import { waitFor, waitForAsync } from "../support/wait.ts";

const reachable = await servicesReachable(["postgres", "redis"], "the unpublished-message test");

/**
 * The presence TTL of this test: long enough that the frozen node cannot give up on Redis (a
 * command unanswered for a third of it) before the test has killed it, on a loaded machine.
 */
const TTL_MS = 6000;
/** A dead node is reaped within TTL + TTL / 3 of its last heartbeat. */
const REAP_BOUND_MS = TTL_MS + TTL_MS / 3;
/** Slack for process scheduling on a loaded test machine. */
const SLACK_MS = 3000;

Deno.test({
  name: "cluster: messages a killed node stored and never published reach the receiver's open " +
    "socket, in order, before the 30099 and within the presence bound",
  ignore: !reachable,
  async fn() {
    await using proxy = TcpProxy.to(TEST_REDIS_URL);
    await using cluster = new ProcessCluster({ PRESENCE_TTL: `${TTL_MS}ms` });
    const survivor = await cluster.start();
    const doomed = await cluster.start({ REDIS_URL: proxy.url(TEST_REDIS_URL) });
    const tom = await registerAndLogin(doomed.server, "Tom");
    const jack = await registerAndLogin(survivor.server, "Jack");
    await using jackSocket = await ChatClient.connect(survivor.server.wsUrl, "Tom", jack);
    // Three seed clients of Tom on the doomed node: no ids, no acks, never a resend.
    const tomSockets: ChatClient[] = [];
    for (let i = 0; i < 3; i++) {
      tomSockets.push(await ChatClient.connect(doomed.server.wsUrl, "Jack", tom));
      await tomSockets[i].expect(30098);
    }
    await jackSocket.expect(30098);
    tomSockets[0].sendMessage("published");
    assert.equal((await jackSocket.expect(30001)).body.msg, "published");

    // Redis no longer hears the doomed node; each message is stored, its publish hangs.
    proxy.freeze();
    const stored = ["published"];
    for (let i = 0; i < 3; i++) {
      const text = `never published ${i + 1}`;
      tomSockets[i].sendMessage(text);
      stored.push(text);
      await waitForAsync(
        async () => (await historyTexts(survivor.server, jack, "Tom")).length === stored.length,
        `"${text}" to be stored`,
      );
    }
    assert.deepEqual(await historyTexts(survivor.server, jack, "Tom"), stored);
    assert.equal(jackSocket.pending.length, 0, "nothing was published");

    const killedAt = Date.now();
    doomed.child.child.kill("SIGKILL");
    await doomed.child.status;
    await waitFor(
      () => jackSocket.pending.length >= 4,
      "three messages and a 30099 after the kill",
      REAP_BOUND_MS + SLACK_MS,
    );
    const frames = jackSocket.pending;
    const took = Date.now() - killedAt;
    assert.deepEqual(frames.map((frame) => [frame.status, frame.body.msg]), [
      [30001, "never published 1"],
      [30001, "never published 2"],
      [30001, "never published 3"],
      [30099, undefined],
    ]);
    assert.ok(took <= REAP_BOUND_MS + SLACK_MS, `they came ${took} ms after the kill`);
    for (let i = 0; i < 4; i++) await jackSocket.next();
    for (const socket of tomSockets) await socket.closed();

    // Tom comes back on the surviving node: live again, nothing twice.
    await using tomAgain = await ChatClient.connect(survivor.server.wsUrl, "Jack", tom);
    await tomAgain.expect(30098);
    assert.equal((await jackSocket.expect(30098)).msg, "Target user Tom login");
    tomAgain.sendMessage("after");
    assert.deepEqual((await jackSocket.expect(30001)).body.msg, "after");
    assert.equal(jackSocket.pending.length, 0);
  },
});
