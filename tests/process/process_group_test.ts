/**
 * A stop signal sent to the whole process group of `deno task start` (Ctrl-C in a terminal,
 * systemd's default kill mode, `timeout`) reaches the server twice: directly and forwarded by
 * the task runner. It must still be one clean stop: 1001 to open sockets, exit 0.
 */
import assert from "node:assert/strict";
import { registerAndLogin } from "../support/server.ts";
import { ChatClient } from "../support/ws_client.ts";
import { spawnDeno, tempDir } from "../support/process.ts";

/** Sends `first` to the group, then `again` (if given) once the server logs that it is stopping,
 * as the copy forwarded by `deno task` arrives a moment after the direct one. */
async function stopGroupWith(first: Deno.Signal, again?: Deno.Signal): Promise<void> {
  await using dir = await tempDir();
  await using child = spawnDeno({
    denoArgs: ["task", "start"],
    env: { DB_PATH: `${dir.path}/chat.db` },
    ownProcessGroup: true,
  });
  const server = await child.listening();
  const token = await registerAndLogin(server, "alice");
  await registerAndLogin(server, "bob");
  await using alice = await ChatClient.connect(server.wsUrl, "bob", token);
  await child.waitForLine(/ info chat\.open /, "the chat.open line");
  child.signalGroup(first);
  if (again !== undefined) {
    await child.waitForLine(/ info stopping /, "the stopping line");
    child.signalGroup(again);
  }
  assert.equal((await alice.closed("alice's socket to close")).code, 1001, child.output);
  const status = await child.finished();
  assert.equal(status.code, 0, child.output);
  assert.doesNotMatch(child.output, /forced_exit/);
  assert.equal(child.output.match(/ info stopped$/gm)?.length, 1, child.output);
}

Deno.test("SIGINT to the process group of deno task start stops it once: 1001, exit 0", async () => {
  await stopGroupWith("SIGINT");
});

Deno.test("a second SIGTERM to the group while stopping, within 2 s, is the same request: 1001, exit 0", async () => {
  await stopGroupWith("SIGTERM", "SIGTERM");
});
