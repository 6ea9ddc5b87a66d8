/**
 * What one SQLite commit costs on the disk that holds the benchmark's databases, in WAL mode
 * with `synchronous=FULL` (an fsync per commit) and `NORMAL` (no fsync at commit). It bounds
 * any design that commits once per message.
 */
import { DatabaseSync } from "node:sqlite";
import { join } from "node:path";
import type { DiskProbe } from "./results.ts";
import { round } from "./stats.ts";

/** Times `commits` single-row INSERT commits in each mode, in a scratch file in `dir`. */
export function probeDisk(dir: string, commits: number): DiskProbe {
  const perCommitUs = (synchronous: "FULL" | "NORMAL") => {
    const path = join(dir, `disk-probe-${synchronous}.db`);
    const db = new DatabaseSync(path);
    try {
      db.exec("PRAGMA journal_mode = WAL");
      db.exec(`PRAGMA synchronous = ${synchronous}`);
      db.exec("CREATE TABLE probe (id INTEGER PRIMARY KEY, text TEXT NOT NULL)");
      const insert = db.prepare("INSERT INTO probe (text) VALUES (?)");
      const started = performance.now();
      for (let i = 0; i < commits; i++) insert.run(`a chat message of some length, number ${i}`);
      return ((performance.now() - started) * 1000) / commits;
    } finally {
      db.close();
      for (const suffix of ["", "-wal", "-shm"]) {
        try {
          Deno.removeSync(path + suffix);
        } catch { /* not there */ }
      }
    }
  };
  return {
    commits,
    fullCommitUs: round(perCommitUs("FULL")),
    normalCommitUs: round(perCommitUs("NORMAL")),
  };
}
