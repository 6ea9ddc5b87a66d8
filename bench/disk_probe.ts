/**
 * What one SQLite commit costs on the disk that holds the benchmark's databases, in WAL mode
 * with `synchronous=FULL` (an fsync per commit) and `NORMAL` (no fsync at commit). It bounds
 * any design that commits once per message.
 */
import { DatabaseSync } from "node:sqlite";
import { join } from "node:path";
import type { DiskProbe } from "./results.ts";
import { round } from "./stats.ts";

/** Rows per transaction in the group-commit probe. */
export const GROUP_ROWS = 100;

/**
 * Times `commits` INSERT commits in each mode, in a scratch file in `dir`: one row per commit,
 * and (FULL) `GROUP_ROWS` rows per commit, the cost per row of a group commit.
 */
export function probeDisk(dir: string, commits: number): DiskProbe {
  const perRowUs = (synchronous: "FULL" | "NORMAL", rowsPerCommit: number) => {
    const path = join(dir, `disk-probe-${synchronous}-${rowsPerCommit}.db`);
    const db = new DatabaseSync(path);
    try {
      db.exec("PRAGMA journal_mode = WAL");
      db.exec(`PRAGMA synchronous = ${synchronous}`);
      db.exec("CREATE TABLE probe (id INTEGER PRIMARY KEY, text TEXT NOT NULL)");
      const insert = db.prepare("INSERT INTO probe (text) VALUES (?)");
      const started = performance.now();
      for (let i = 0; i < commits; i++) {
        if (rowsPerCommit > 1) db.exec("BEGIN IMMEDIATE");
        for (let row = 0; row < rowsPerCommit; row++) {
          insert.run(`a chat message of some length, number ${i}.${row}`);
        }
        if (rowsPerCommit > 1) db.exec("COMMIT");
      }
      return ((performance.now() - started) * 1000) / (commits * rowsPerCommit);
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
    fullCommitUs: round(perRowUs("FULL", 1)),
    normalCommitUs: round(perRowUs("NORMAL", 1)),
    groupRows: GROUP_ROWS,
    fullGroupRowUs: round(perRowUs("FULL", GROUP_ROWS), 2),
  };
}
