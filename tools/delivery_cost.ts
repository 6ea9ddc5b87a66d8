/**
 * Issue 12's measurement: what marking messages delivered costs per delivery, with the
 * per-message `delivered` flag (what the service does), with the flag plus a per-conversation
 * `delivered_upto` column, and with that cursor alone (the flag's candidate replacement); and
 * what storing a message costs before (schema 5) and after (schema 6, whose trigger keeps the
 * conversation's last message and unread count). A fresh SQLite file (WAL, synchronous as given)
 * with 20 senders writing to one receiver; each delivery or insert is its own transaction, as a
 * socket with one message in flight makes it. Prints microseconds per operation.
 *
 *   deno run -A tools/delivery_cost.ts [messages=5000] [FULL|NORMAL]
 */
import { DatabaseSync } from "node:sqlite";
import { migrate } from "../lib/storage/sqlite_schema.ts";

const COUNT = Number(Deno.args[0] ?? 5000);
const SYNCHRONOUS = Deno.args[1] === "FULL" ? "FULL" : "NORMAL";
const SENDERS = 20;

const FLAG = `UPDATE messages SET delivered = 1
  WHERE id IN (SELECT value FROM json_each(?)) AND delivered = 0`;
const CURSOR = `UPDATE conversations SET delivered_upto = d.upto
  FROM (SELECT to_user_id AS receiver, from_user_id AS sender, max(id) AS upto
        FROM messages WHERE id IN (SELECT value FROM json_each(?))
        GROUP BY to_user_id, from_user_id) AS d
  WHERE conversations.user_id = d.receiver AND conversations.peer_id = d.sender
    AND conversations.delivered_upto < d.upto`;

/** A fresh database at `version` with its users; the receiver's id and the senders'. */
function open(path: string, version: number) {
  const db = new DatabaseSync(path);
  db.exec(`PRAGMA synchronous = ${SYNCHRONOUS}`);
  migrate(db, version);
  db.exec("PRAGMA journal_mode = WAL");
  const user = db.prepare(
    `INSERT INTO users (username, username_key, password_hash, email, created_at)
     VALUES (?, ?, 'x', NULL, 0) RETURNING id`,
  );
  const receiver = (user.get("r", "r") as { id: number }).id;
  const senders = Array.from(
    { length: SENDERS },
    (_, i) => (user.get(`s${i}`, `s${i}`) as { id: number }).id,
  );
  return { db, receiver, senders };
}

const INSERT = `INSERT INTO messages (from_user_id, to_user_id, msg, send_time, sent_at)
  VALUES (?, ?, ?, '2026-12-01 10:00:00', 0) RETURNING id`;

/** Microseconds per stored message at schema `version`, one message per transaction. */
function measureInsert(dir: string, version: number): number {
  const { db, receiver, senders } = open(`${dir}/insert-${version}.db`, version);
  const insert = db.prepare(INSERT);
  const started = performance.now();
  for (let i = 0; i < COUNT; i++) {
    db.exec("BEGIN IMMEDIATE");
    insert.get(senders[i % SENDERS], receiver, `message ${i} `.repeat(4));
    db.exec("COMMIT");
  }
  const elapsed = performance.now() - started;
  db.close();
  return (elapsed * 1000) / COUNT;
}

/** A fresh database with `COUNT` waiting messages; returns it and its ids. */
function prepare(path: string): { db: DatabaseSync; ids: number[] } {
  const { db, receiver, senders } = open(path, 6);
  // The cursor column the measurement compares against (the service does not keep it).
  db.exec("ALTER TABLE conversations ADD COLUMN delivered_upto INTEGER NOT NULL DEFAULT 0");
  const insert = db.prepare(INSERT);
  const ids: number[] = [];
  db.exec("BEGIN");
  for (let i = 0; i < COUNT; i++) {
    const from = senders[i % SENDERS];
    ids.push((insert.get(from, receiver, `message ${i} `.repeat(4)) as { id: number }).id);
  }
  db.exec("COMMIT");
  return { db, ids };
}

/** Microseconds per delivery of `statements`, one message per transaction. */
function measure(dir: string, name: string, statements: string[]): number {
  const { db, ids } = prepare(`${dir}/${name}.db`);
  const prepared = statements.map((sql) => db.prepare(sql));
  const started = performance.now();
  for (const id of ids) {
    db.exec("BEGIN IMMEDIATE");
    for (const statement of prepared) statement.run(JSON.stringify([id]));
    db.exec("COMMIT");
  }
  const elapsed = performance.now() - started;
  db.close();
  return (elapsed * 1000) / ids.length;
}

const dir = await Deno.makeTempDir({ prefix: "chat-delivery-cost-" });
try {
  const variants: [string, string[]][] = [
    ["flag", [FLAG]],
    ["flag+cursor", [FLAG, CURSOR]],
    ["cursor", [CURSOR]],
  ];
  console.log(`${COUNT} deliveries, synchronous=${SYNCHRONOUS}`);
  for (const [name, statements] of variants) {
    console.log(`${name.padEnd(12)} ${measure(dir, name, statements).toFixed(1)} µs per delivery`);
  }
  for (const version of [5, 6]) {
    console.log(`insert v${version}    ${measureInsert(dir, version).toFixed(1)} µs per message`);
  }
} finally {
  await Deno.remove(dir, { recursive: true });
}
