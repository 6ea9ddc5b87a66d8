/**
 * Migration 6 (issue 12) on both engines: a database written at version 5 keeps every stored
 * message, and its conversations start with what was delivered counted as read and what still
 * waits as unread, delivered cursors at the highest delivered id; new messages then keep them.
 */
import assert from "node:assert/strict";
import type { Repository } from "../../lib/storage/repository.ts";
import { servicesReachable } from "../support/services.ts";
import { fromOldPostgres, fromOldSqlite } from "./migration_support.ts";

const reachable = await servicesReachable(["postgres"], "the PostgreSQL migration test");

// Users 1 Tom, 2 Jack, 3 Alice; messages 1..6: (from, to, delivered).
const USERS = ["Tom", "Jack", "Alice"];
const MESSAGES: [number, number, boolean][] = [
  [2, 1, true], // 1 Jack -> Tom, delivered
  [1, 2, true], // 2 Tom -> Jack, delivered
  [2, 1, true], // 3 Jack -> Tom, delivered
  [2, 1, false], // 4 Jack -> Tom, waiting
  [3, 1, false], // 5 Alice -> Tom, waiting
  [1, 1, true], // 6 Tom's note to self
];

function insertStatements(): { users: string[]; messages: string[] } {
  return {
    users: USERS.map((name) =>
      `INSERT INTO users (username, username_key, password_hash, email, created_at)
       VALUES ('${name}', '${name.toLowerCase()}', 'x', NULL, 0)`
    ),
    messages: MESSAGES.map(([from, to, delivered], i) =>
      `INSERT INTO messages (from_user_id, to_user_id, msg, send_time, sent_at, client_id,
                             delivered)
       VALUES (${from}, ${to}, 'm${i + 1}', '2024-05-01 12:00:00', 0, NULL, ${delivered})`
    ),
  };
}

/** What the migrated repository must show. */
async function assertMigrated(repo: Repository): Promise<void> {
  const history = await repo.history(1, 2, { limit: 50 });
  assert.deepEqual(history.map((m) => m.msg), ["m4", "m3", "m2", "m1"]);
  assert.deepEqual((await repo.history(1, 3, { limit: 50 })).map((m) => m.msg), ["m5"]);
  assert.deepEqual((await repo.waitingMessages(1, 2, 0, 10)).map((m) => m.msg), ["m4"]);
  const toms = await repo.conversations(1, { limit: 10 });
  assert.deepEqual(
    toms.map((c) => [c.peer.username, c.unread, c.readUpto, c.peerReadUpto, c.lastMessage.msg]),
    [["Tom", 0, 0, 0, "m6"], ["Alice", 1, 0, 0, "m5"], ["Jack", 1, 3, 2, "m4"]],
  );
  // Jack's m4 still waits: delivered up to m3.
  assert.equal(await repo.deliveredUpto(1, 2), 3);
  assert.equal(await repo.deliveredUpto(2, 1), 2);
  assert.equal((await repo.conversation(2, 1))?.unread, 0);
  // New messages keep the migrated state.
  await repo.saveMessages([{
    from: { id: 2, username: "Jack" },
    to: { id: 1, username: "Tom" },
    msg: "m7",
    sendTime: "2024-05-01 12:00:01",
    sentAt: 1,
    clientId: null,
  }]);
  const after = await repo.conversation(1, 2);
  assert.equal(after?.unread, 2);
  assert.equal(after?.lastMessage.msg, "m7");
}

Deno.test("SqliteRepository: migration 6 keeps every message and derives each conversation", async () => {
  await fromOldSqlite(5, (old) => {
    const { users, messages } = insertStatements();
    for (const statement of [...users, ...messages]) {
      old.exec(statement.replace(/true|false/g, (b) => b === "true" ? "1" : "0"));
    }
  }, assertMigrated);
});

Deno.test({
  name: "PostgresRepository: migration 6 keeps every message and derives each conversation",
  ignore: !reachable,
  fn: async () => {
    await fromOldPostgres(5, async (sql) => {
      const { users, messages } = insertStatements();
      for (const statement of users) await sql.unsafe(statement);
      // Identity columns: the ids come out 1, 2, 3... as on SQLite.
      for (const statement of messages) await sql.unsafe(statement);
    }, assertMigrated);
  },
});
