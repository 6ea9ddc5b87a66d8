/**
 * The storage path alone, as the chat socket drives it: batches of a sender's messages saved with
 * the quotas on (as `deno task bench` runs the service), each batch's ids then marked delivered,
 * many sockets' batches sharing each group commit. Prints the process's CPU time (every thread:
 * the WAL syncs and the checkpointing Worker included) and the wall
 * time per message, so a storage lever can be measured apart from the socket work (and from the
 * load of a shared machine, which moves end-to-end figures more than this). It also times the
 * event loop: how long the longest turn took, and its 99th percentile (a 1 ms ticker), which is
 * what a disk sync inside a commit on the main thread shows up as.
 * Run: deno run --allow-read --allow-write --allow-env bench/storage_probe.ts [--ids] [rounds]
 */
import process from "node:process";
import { join } from "node:path";
import { SqliteRepository } from "../lib/storage/sqlite_repository.ts";
import type { NewMessage, UserRef } from "../lib/storage/repository.ts";

const PAIRS = 100;
const BATCH = 16;
const QUOTA = { dailyMessages: 1_000_000_000, dailyBytes: 2 ** 40, waitingMessages: 0 };

/** Measures the gaps of a 1 ms ticker: how long the event loop was busy between ticks. */
class TurnTimer {
  readonly #gaps: number[] = [];
  #last = performance.now();
  readonly #timer = setInterval(() => {
    const at = performance.now();
    this.#gaps.push(at - this.#last);
    this.#last = at;
  }, 1);

  stop(): { p99: number; max: number } {
    clearInterval(this.#timer);
    const sorted = this.#gaps.sort((a, b) => a - b);
    return {
      p99: sorted[Math.floor(sorted.length * 0.99)] ?? 0,
      max: sorted[sorted.length - 1] ?? 0,
    };
  }
}

async function users(repo: SqliteRepository, count: number): Promise<UserRef[]> {
  const out: UserRef[] = [];
  for (let i = 0; i < count; i++) {
    const name = `p${i}`;
    const user = await repo.createUser({
      username: name,
      usernameKey: name,
      passwordHash: "x",
      email: null,
      createdAt: 0,
    });
    out.push(user!);
  }
  return out;
}

/** One round: every pair's sender saves a batch, all in one turn, then marks it delivered. */
async function round(repo: SqliteRepository, all: UserRef[], n: number, ids: boolean) {
  const saves = [];
  for (let p = 0; p < PAIRS; p++) {
    const batch: NewMessage[] = Array.from({ length: BATCH }, (_, i) => ({
      from: all[2 * p],
      to: all[2 * p + 1],
      msg: `${n}-${i}|${"x".repeat(60)}`,
      sendTime: "2026-12-01 12:00:00",
      sentAt: Date.now(),
      clientId: ids ? `c${n}-${i}` : null,
    }));
    saves.push(repo.saveMessagesWithin(batch, QUOTA));
  }
  const saved = await Promise.all(saves);
  await Promise.all(
    saved.map((outcomes) =>
      repo.markDelivered(outcomes.map((o) => "message" in o ? o.message.messageId : 0))
    ),
  );
}

const ids = Deno.args.includes("--ids");
const rounds = Number(Deno.args.find((arg) => /^\d+$/.test(arg)) ?? 200);
const dir = await Deno.makeTempDir({ prefix: "chat-storage-probe-" });
const repo = new SqliteRepository(join(dir, "chat.db"), {
  synchronous: "FULL",
  busyTimeoutMs: 5000,
});
try {
  const all = await users(repo, PAIRS * 2);
  for (let n = 0; n < 20; n++) await round(repo, all, -n - 1, ids); // Warm-up.
  const turns = new TurnTimer();
  const cpu0 = process.cpuUsage();
  const wall0 = performance.now();
  for (let n = 0; n < rounds; n++) await round(repo, all, n, ids);
  const cpu = process.cpuUsage(cpu0);
  const stalls = turns.stop();
  const messages = rounds * PAIRS * BATCH;
  const us = (value: number) => (value / messages).toFixed(2);
  console.log(
    `${messages} messages ${ids ? "with" : "without"} client ids, ${BATCH} a batch, ${PAIRS} ` +
      `batches a commit: CPU ${us(cpu.user + cpu.system)} us/message (user ${us(cpu.user)}, ` +
      `system ${us(cpu.system)}), wall ${us((performance.now() - wall0) * 1000)} us/message; ` +
      `event-loop turns: p99 ${stalls.p99.toFixed(2)} ms, longest ${stalls.max.toFixed(2)} ms`,
  );
} finally {
  await repo.close();
  await Deno.remove(dir, { recursive: true });
}
