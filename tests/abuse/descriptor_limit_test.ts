/**
 * At the descriptor limit the service refuses new connections and keeps serving the ones it
 * has; once descriptors are free again it accepts new ones. The real program runs under a low
 * `ulimit -n` (the runtime's accept loop used to end the process: `Too many open files`).
 */
import assert from "node:assert/strict";
import { ChildDeno } from "../support/process.ts";
import { withTimeout } from "../support/wait.ts";

/** The child's descriptor limit, and how many idle connections the test opens against it. */
const LIMIT = 64;
const IDLE_CONNECTIONS = 100;

/** One request on an open connection; resolves with the answer's status line. */
async function statusLine(conn: Deno.Conn): Promise<string> {
  await conn.write(new TextEncoder().encode("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"));
  const answer = new Uint8Array(4096);
  const count = await withTimeout(conn.read(answer), "the answer", 5000);
  assert.ok(count !== null, "the connection was closed");
  return new TextDecoder().decode(answer.subarray(0, count)).split("\r\n")[0];
}

Deno.test("at the descriptor limit new connections are refused, open ones served, and the process lives", async () => {
  const dir = await Deno.makeTempDir({ prefix: "chat-fd-" });
  await using child = new ChildDeno({
    // The hard limit is set low; the start script raises the soft one to it and says so.
    shellPrefix: `ulimit -n ${LIMIT} && exec sh tools/start.sh`,
    env: { DB_PATH: `${dir}/chat.db` },
  });
  const { port, baseUrl } = await child.listening();
  await child.waitForLine(new RegExp(`descriptors soft=${LIMIT} hard=`), "the descriptors line");
  const kept = await Deno.connect({ hostname: "127.0.0.1", port });
  const idle: Deno.Conn[] = [];
  try {
    assert.equal(await statusLine(kept), "HTTP/1.1 200 OK");
    let refused = 0;
    for (let i = 0; i < IDLE_CONNECTIONS; i++) {
      try {
        idle.push(await Deno.connect({ hostname: "127.0.0.1", port }));
      } catch {
        refused++; // Reset or refused while the service is at its limit.
      }
    }
    assert.ok(idle.length + refused === IDLE_CONNECTIONS);
    await child.waitForLine(/http\.accept_failed .*Too many open files/, "the accept failure");
    // The connection it had is still served.
    assert.equal(await statusLine(kept), "HTTP/1.1 200 OK");
  } finally {
    for (const conn of idle) conn.close();
  }
  // Below the limit again, a new connection is served.
  let served = false;
  const deadline = Date.now() + 10_000;
  while (!served && Date.now() < deadline) {
    try {
      const response = await fetch(`${baseUrl}/healthz`, { signal: AbortSignal.timeout(1000) });
      await response.body?.cancel();
      served = response.status === 200;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  kept.close();
  assert.ok(served, "a new connection is served once descriptors are free");
  const status = await child.stop();
  assert.equal(status.code, 0, child.output);
  assert.doesNotMatch(child.output, /Uncaught|unhandled_rejection/);
  await Deno.remove(dir, { recursive: true });
});
