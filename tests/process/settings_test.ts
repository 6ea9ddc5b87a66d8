/**
 * First start, the settings side (issue 11, item 12): the default HOST is loopback, so a fresh
 * start exposes nothing (the unauthenticated `/metrics` included); a misspelled setting is
 * logged by name, never by value.
 */
import assert from "node:assert/strict";
import { spawnDeno, tempDir } from "../support/process.ts";

Deno.test("with no HOST the service listens on 127.0.0.1 only", async () => {
  await using dir = await tempDir();
  await using child = spawnDeno({
    clearEnv: true,
    env: { PORT: "0", DB_PATH: `${dir.path}/chat.db`, DENO_DIR: Deno.env.get("DENO_DIR") ?? "" },
  });
  const server = await child.listening();
  assert.equal(server.address, "127.0.0.1");
  const metrics = await fetch(`${server.baseUrl}/metrics`);
  assert.equal(metrics.status, 200, "reachable from this machine");
  await metrics.body?.cancel();
  assert.equal((await child.stop()).code, 0, child.output);
});

Deno.test("a misspelled setting (MSG_RATES=5) is logged as unknown with the setting it may mean, never its value", async () => {
  await using dir = await tempDir();
  await using child = spawnDeno({
    env: {
      DB_PATH: `${dir.path}/chat.db`,
      MSG_RATES: "5",
      JWT_SECRETT: "a-secret-value-never-logged",
    },
  });
  await child.listening();
  const warned = child.stderr.filter((line) => / warn config\.unknown_setting /.test(line));
  assert.deepEqual(warned.map((line) => line.replace(/^\S+ /, "")), [
    "warn config.unknown_setting setting=JWT_SECRETT did_you_mean=JWT_SECRET",
    "warn config.unknown_setting setting=MSG_RATES did_you_mean=MSG_RATE",
  ]);
  assert.doesNotMatch(child.output, /a-secret-value-never-logged/);
  assert.equal((await child.stop()).code, 0, child.output);
});
