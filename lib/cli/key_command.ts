/**
 * `deno task key add|list|revoke`: the admin API's keys, for operators. `add` prints the new key
 * alone on the last line, once: only its SHA-256 is stored, so it cannot be shown again.
 */
import type { ApiKeys } from "../admin/api_keys.ts";
import type { Terminal } from "./user_add.ts";

const USAGE = "Usage: deno task key add <name> | key list | key revoke <name>";

/** Runs `key <args>`; returns the process exit code. */
export async function runKeyCommand(
  args: readonly string[],
  keys: ApiKeys,
  terminal: Pick<Terminal, "print">,
): Promise<number> {
  const [command, name] = args;
  if (command === "add" && args.length === 2) {
    const result = await keys.add(name);
    if (!result.ok) {
      terminal.print(`Cannot add the key: ${result.reason}`);
      return 1;
    }
    terminal.print(`API key ${name} added. It is shown only this once; keep it secret:`);
    terminal.print(result.key);
    return 0;
  }
  if (command === "list" && args.length === 1) {
    const list = await keys.list();
    if (list.length === 0) terminal.print("No API keys");
    for (const key of list) {
      terminal.print(`${key.name}\tcreated ${new Date(key.createdAt).toISOString()}`);
    }
    return 0;
  }
  if (command === "revoke" && args.length === 2) {
    if (await keys.revoke(name)) {
      terminal.print(`API key ${name} revoked`);
      return 0;
    }
    terminal.print(`No API key named ${name}`);
    return 1;
  }
  terminal.print(USAGE);
  return 2;
}
