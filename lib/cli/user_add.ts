/** `deno task user add <name>`: registers a user from the command line, for operators. */
import type { Accounts } from "../auth/accounts.ts";

/** Where the command reads the password and writes its answer. */
export interface Terminal {
  /** Reads a password without echoing it when the input is a terminal. */
  readSecret(prompt: string): Promise<string | null>;
  print(line: string): void;
}

/** Runs `user add <name>`; returns the process exit code. */
export async function runUserCommand(
  args: readonly string[],
  accounts: Accounts,
  terminal: Terminal,
): Promise<number> {
  if (args.length !== 2 || args[0] !== "add") {
    terminal.print("Usage: deno task user add <username>");
    return 2;
  }
  const password = await terminal.readSecret(`Password for ${args[1]}: `);
  if (password === null) {
    terminal.print("No password given");
    return 1;
  }
  const result = await accounts.register({ username: args[1], password });
  if (result.ok) {
    terminal.print(`User ${result.user.username} added`);
    return 0;
  }
  terminal.print(
    result.taken
      ? `User ${args[1]} already exists`
      : `Invalid ${result.error.field}: ${result.error.reason}`,
  );
  return 1;
}

/** A `Terminal` on the process's stdin and stdout. */
export function processTerminal(): Terminal {
  const encoder = new TextEncoder();
  return {
    print(line) {
      console.log(line);
    },
    async readSecret(prompt) {
      Deno.stdout.writeSync(encoder.encode(prompt));
      const interactive = Deno.stdin.isTerminal();
      if (interactive) Deno.stdin.setRaw(true);
      try {
        const bytes: number[] = [];
        const buffer = new Uint8Array(1);
        for (;;) {
          const n = await Deno.stdin.read(buffer);
          if (n === null) break;
          const byte = buffer[0];
          if (byte === 3) return null; // Ctrl-C
          if (byte === 10 || byte === 13) break;
          if (interactive && (byte === 127 || byte === 8)) dropLastCharacter(bytes);
          else bytes.push(byte);
        }
        if (bytes.length === 0) return null;
        return new TextDecoder().decode(new Uint8Array(bytes));
      } finally {
        if (interactive) {
          Deno.stdin.setRaw(false);
          Deno.stdout.writeSync(encoder.encode("\n"));
        }
      }
    },
  };
}

/** Removes the last UTF-8 character: its continuation bytes (10xxxxxx), then its lead byte. */
function dropLastCharacter(bytes: number[]): void {
  while (bytes.length > 0 && (bytes[bytes.length - 1] & 0xc0) === 0x80) bytes.pop();
  bytes.pop();
}
