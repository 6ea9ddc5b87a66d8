import assert from "node:assert/strict";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { WalCheckpointer } from "../../lib/storage/wal_checkpointer.ts";
import { waitFor } from "../support/wait.ts";

Deno.test("WalCheckpointer: a Worker copies the WAL into the database while the writer never checkpoints", async () => {
  const dir = await Deno.makeTempDir({ prefix: "chat-checkpoint-test-" });
  const path = join(dir, "chat.db");
  const db = new DatabaseSync(path);
  try {
    db.exec("PRAGMA journal_mode = WAL; PRAGMA wal_autocheckpoint = 0");
    db.exec("CREATE TABLE t (x TEXT)");
    const insert = db.prepare("INSERT INTO t (x) VALUES (?)");
    db.exec("BEGIN");
    for (let i = 0; i < 2000; i++) insert.run(`row ${i} ${"x".repeat(200)}`);
    db.exec("COMMIT");
    const before = Deno.statSync(path).size;
    const checkpointer = new WalCheckpointer(path, 1000, 20);
    try {
      await waitFor(
        () => Deno.statSync(path).size > before + 100_000,
        "the rows in the file",
        5000,
      );
    } finally {
      await checkpointer.stop();
    }
    assert.equal(checkpointer.failures, 0);
    // The writer goes on after the last checkpoint; nothing was lost.
    assert.deepEqual({ ...db.prepare("SELECT count(*) AS n FROM t").get() }, { n: 2000 });
  } finally {
    db.close();
    await Deno.remove(dir, { recursive: true });
  }
});
