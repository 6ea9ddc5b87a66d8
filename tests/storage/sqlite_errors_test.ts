import assert from "node:assert/strict";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { fromSqliteError, isTransientSqliteError } from "../../lib/storage/sqlite_errors.ts";
import { StorageUnavailableError } from "../../lib/storage/errors.ts";

/** Runs `body` with two connections to one fresh database file holding a table `t`. */
async function withTwoConnections(
  body: (first: DatabaseSync, second: DatabaseSync) => void,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "chat-sqlite-errors-" });
  const path = join(dir, "errors.db");
  const first = new DatabaseSync(path);
  const second = new DatabaseSync(path);
  try {
    first.exec("PRAGMA journal_mode = WAL; CREATE TABLE t (v TEXT UNIQUE)");
    second.exec("PRAGMA busy_timeout = 20");
    body(first, second);
  } finally {
    first.close();
    second.close();
    await Deno.remove(dir, { recursive: true });
  }
}

/** The error `work` throws. */
function thrownBy(work: () => unknown): unknown {
  try {
    work();
  } catch (error) {
    return error;
  }
  throw new Error("Expected the work to throw");
}

Deno.test("a write while another connection holds the lock is transient", async () => {
  await withTwoConnections((first, second) => {
    first.exec("BEGIN EXCLUSIVE");
    const busy = thrownBy(() => second.exec("INSERT INTO t VALUES ('x')"));
    const beginBusy = thrownBy(() => second.exec("BEGIN IMMEDIATE"));
    first.exec("ROLLBACK");
    assert.equal(isTransientSqliteError(busy), true, String(busy));
    assert.equal(isTransientSqliteError(beginBusy), true, String(beginBusy));
    const mapped = fromSqliteError(busy);
    assert.ok(mapped instanceof StorageUnavailableError);
    assert.equal(mapped.cause, busy);
    assert.match(mapped.message, /database is locked/);
  });
});

Deno.test("a database that cannot grow is transient", async () => {
  await withTwoConnections((first) => {
    first.exec("PRAGMA max_page_count = 8");
    const full = thrownBy(() => {
      for (let i = 0; i < 1000; i++) {
        first.prepare("INSERT INTO t VALUES (?)").run(`${i}`.repeat(200));
      }
    });
    assert.match(String(full), /database or disk is full/);
    assert.equal(isTransientSqliteError(full), true);
    assert.ok(fromSqliteError(full) instanceof StorageUnavailableError);
  });
});

Deno.test("a constraint, a missing table and a bad statement are not transient", async () => {
  await withTwoConnections((first) => {
    first.exec("INSERT INTO t VALUES ('taken')");
    const failures = [
      thrownBy(() => first.exec("INSERT INTO t VALUES ('taken')")),
      thrownBy(() => first.exec("SELECT * FROM missing")),
      thrownBy(() => first.exec("SELEKT 1")),
    ];
    for (const failure of failures) {
      assert.equal(isTransientSqliteError(failure), false, String(failure));
      // Passed on as it is, not wrapped.
      assert.equal(fromSqliteError(failure), failure);
    }
  });
});

Deno.test("a result code decides where the runtime gives one", () => {
  const withCode = (errcode: number, message: string) =>
    Object.assign(new Error(message), { errcode });
  // SQLITE_BUSY_RECOVERY and SQLITE_IOERR_WRITE are extended codes of BUSY and IOERR.
  assert.equal(isTransientSqliteError(withCode(5 | (1 << 8), "database is locked")), true);
  assert.equal(isTransientSqliteError(withCode(10 | (3 << 8), "disk I/O error")), true);
  assert.equal(isTransientSqliteError(withCode(6, "database table is locked")), true);
  assert.equal(isTransientSqliteError(withCode(13, "database or disk is full")), true);
  // A constraint failure is not transient, whatever its message says.
  assert.equal(isTransientSqliteError(withCode(19, "database is locked")), false);
  // Without a code the message decides.
  assert.equal(isTransientSqliteError(new Error("disk I/O error")), true);
  assert.equal(isTransientSqliteError(new Error("database table is locked")), true);
  assert.equal(isTransientSqliteError("database is locked"), false);
});
