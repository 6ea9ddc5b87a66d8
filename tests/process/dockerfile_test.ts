/**
 * The Dockerfile's HEALTHCHECK follows the service's PORT (no hard-coded 7071): its command is
 * run here as Docker would, against a real server on a free port and against a closed one.
 */
import assert from "node:assert/strict";
import { startTestServer } from "../support/server.ts";
import { REPO_ROOT } from "../support/process.ts";

/** The exec-form command of the Dockerfile's HEALTHCHECK (`CMD ["deno", "eval", …]`). */
async function healthcheckCommand(): Promise<string[]> {
  const dockerfile = await Deno.readTextFile(`${REPO_ROOT}Dockerfile`);
  const joined = dockerfile.replaceAll("\\\n", " ");
  const match = /^HEALTHCHECK\b.*?\bCMD\s+(\[.*\])\s*$/m.exec(joined);
  assert.ok(match !== null, "a HEALTHCHECK with an exec-form CMD");
  return JSON.parse(match[1]) as string[];
}

async function runCheck(command: string[], port: number): Promise<number> {
  const [program, ...args] = command;
  assert.equal(program, "deno");
  const { code } = await new Deno.Command(Deno.execPath(), {
    args,
    env: { PORT: String(port), NO_COLOR: "1" },
    stdout: "null",
    stderr: "null",
  }).output();
  return code;
}

function closedPort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

Deno.test("the Dockerfile's HEALTHCHECK checks the port PORT names, not a fixed 7071", async () => {
  const command = await healthcheckCommand();
  assert.doesNotMatch(command.join(" "), /127\.0\.0\.1:7071/);
  await using server = await startTestServer();
  assert.equal(await runCheck(command, server.port), 0, "healthy on the service's own port");
  assert.equal(await runCheck(command, closedPort()), 1, "unhealthy where nothing listens");
});
