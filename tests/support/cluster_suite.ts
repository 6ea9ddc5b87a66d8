/**
 * `deno task test:cluster`: runs the protocol test suite (tests/chat, tests/http) and the app integration suite (tests/integration) against the
 * cluster configuration, two in-process nodes on PostgreSQL and Redis. When those are
 * unreachable it prints a note and exits 0, unless `REQUIRE_SERVICES=1`.
 */
import { REPO_ROOT } from "./process.ts";
import { servicesReachable } from "./services.ts";

const SUITE = ["tests/chat/", "tests/http/", "tests/integration/"];

if (import.meta.main) {
  const reachable = await servicesReachable(
    ["postgres", "redis"],
    "the protocol suite on the cluster configuration",
  );
  if (!reachable) Deno.exit(0);
  const config = JSON.parse(await Deno.readTextFile(`${REPO_ROOT}/deno.json`));
  // The same flags as the embedded run: `deno test <flags> tests/`.
  const flags = (config.tasks["test:embedded"] as string).split(/\s+/).slice(2, -1);
  const { code } = await new Deno.Command(Deno.execPath(), {
    args: ["test", ...flags, ...Deno.args, ...SUITE],
    cwd: REPO_ROOT,
    env: { CHAT_TEST_BACKEND: "cluster" },
    stdin: "null",
  }).spawn().status;
  Deno.exit(code);
}
