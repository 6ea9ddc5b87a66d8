import assert from "node:assert/strict";
import { migrate } from "../../lib/storage/sqlite_schema.ts";
import { lookalikeKeys } from "../../lib/users/lookalike.ts";
import { usernameKey } from "../../lib/users/username.ts";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { SqliteRepository } from "../../lib/storage/sqlite_repository.ts";
import { SCHEMA_VERSION } from "../../lib/storage/sqlite_schema.ts";
import type { UserRef } from "../../lib/storage/repository.ts";
import { type HeldWriteLock, repositoryContract, saveOne } from "./repository_contract.ts";
import { sqliteOptions } from "../support/backend_options.ts";

const NOW = Date.UTC(2024, 4, 1, 12, 0, 0);

/** Runs `body` with the path of a database file in a fresh temporary directory. */
async function withDatabaseFile(body: (path: string, dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "chat-sqlite-test-" });
  try {
    await body(join(dir, "chat.db"), dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Reads one PRAGMA through a separate read-only connection, as plain objects. */
function readPragma(path: string, pragma: string): unknown {
  const db = new DatabaseSync(path, { readOnly: true });
  try {
    return db.prepare(`PRAGMA ${pragma}`).all().map((row) => ({ ...row }));
  } finally {
    db.close();
  }
}

async function addUser(repo: SqliteRepository, username: string): Promise<UserRef> {
  const user = await repo.createUser({
    username,
    usernameKey: username.toLowerCase(),
    passwordHash: `hash-of-${username}`,
    email: null,
    createdAt: NOW,
  });
  assert.ok(user !== null);
  return user;
}

/** Writes a file as a newer server would: a later schema version, with data of its own. */
function writeNewerFile(path: string, journalMode: "WAL" | "DELETE"): void {
  const db = new DatabaseSync(path);
  try {
    db.exec(`PRAGMA journal_mode = ${journalMode}`);
    db.exec(`
      CREATE TABLE from_the_future (note TEXT NOT NULL);
      INSERT INTO from_the_future VALUES ('keep me');
      PRAGMA user_version = ${SCHEMA_VERSION + 1};
    `);
  } finally {
    db.close();
  }
}

/** Takes the write lock of the file at `path` from a connection of its own. */
function holdWriteLock(path: string): Promise<HeldWriteLock> {
  const other = new DatabaseSync(path);
  other.exec("BEGIN EXCLUSIVE");
  return Promise.resolve({
    release: () => {
      other.exec("ROLLBACK");
      other.close();
      return Promise.resolve();
    },
  });
}

repositoryContract("SqliteRepository", async () => {
  const dir = await Deno.makeTempDir({ prefix: "chat-sqlite-contract-" });
  const path = join(dir, "chat.db");
  // A write waits this long for another connection's lock before it fails as unavailable.
  const repo = new SqliteRepository(path, { ...sqliteOptions(), busyTimeoutMs: 100 });
  return {
    repo,
    holdWriteLock: () => holdWriteLock(path),
    cleanup: async () => {
      await repo.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
});

Deno.test("SqliteRepository: data survives closing and reopening the file", async () => {
  await withDatabaseFile(async (path) => {
    const first = new SqliteRepository(path, sqliteOptions());
    let tom: UserRef, jack: UserRef, lastId: number;
    try {
      tom = await addUser(first, "Tom");
      jack = await addUser(first, "Jack");
      await first.createToken({
        tokenHash: "token",
        userId: tom.id,
        createdAt: NOW,
        expiresAt: NOW + 60_000,
      });
      await saveOne(first, {
        from: tom,
        to: jack,
        msg: "你好 😀",
        sendTime: "2024-05-01 12:00:00",
        sentAt: NOW,
        clientId: "c1",
      });
      const reply = await saveOne(first, {
        from: jack,
        to: tom,
        msg: "Hi",
        sendTime: "2024-05-01 12:00:01",
        sentAt: NOW + 1000,
        clientId: null,
      });
      await first.markDelivered([reply.message.messageId]);
      lastId = reply.message.messageId;
    } finally {
      await first.close();
    }

    const second = new SqliteRepository(path, sqliteOptions());
    try {
      assert.equal((await second.findUser("tom"))?.id, tom.id);
      assert.equal((await second.findSession("token", NOW))?.user.username, "Tom");
      assert.deepEqual(
        (await second.history(tom.id, jack.id, { limit: 10 })).map((message) => message.msg),
        ["Hi", "你好 😀"],
      );
      assert.deepEqual(
        (await second.waitingMessages(jack.id, tom.id, 0, 10)).map((message) => message.msg),
        ["你好 😀"],
      );
      assert.deepEqual(await second.waitingMessages(tom.id, jack.id, 0, 10), []);
      // The client id index survived too, and new ids continue past the old ones.
      const resend = await saveOne(second, {
        from: tom,
        to: jack,
        msg: "你好 😀",
        sendTime: "2024-05-01 12:05:00",
        sentAt: NOW + 300_000,
        clientId: "c1",
      });
      assert.equal(resend.duplicate, true);
      const next = await saveOne(second, {
        from: tom,
        to: jack,
        msg: "new",
        sendTime: "2024-05-01 12:05:00",
        sentAt: NOW + 300_000,
        clientId: null,
      });
      assert.ok(next.message.messageId > lastId);
    } finally {
      await second.close();
    }
  });
});

Deno.test("SqliteRepository: a new file is in WAL mode at the current schema version", async () => {
  await withDatabaseFile(async (path) => {
    const repo = new SqliteRepository(path, sqliteOptions());
    await addUser(repo, "Tom");
    await repo.close();
    assert.deepEqual(readPragma(path, "journal_mode"), [{ journal_mode: "wal" }]);
    assert.deepEqual(readPragma(path, "user_version"), [{ user_version: SCHEMA_VERSION }]);
  });
});

Deno.test("SqliteRepository: a file from a newer schema is refused and left unchanged", async () => {
  await withDatabaseFile(async (path, dir) => {
    writeNewerFile(path, "WAL");
    const before = await Deno.readFile(path);

    assert.throws(
      () => new SqliteRepository(path, sqliteOptions()),
      (error) =>
        error instanceof RangeError &&
        error.message.includes(`version ${SCHEMA_VERSION + 1} is newer`),
    );

    assert.deepEqual(await Deno.readFile(path), before);
    // The connection was closed: no WAL or shared-memory file is left open beside it.
    assert.deepEqual([...Deno.readDirSync(dir)].map((entry) => entry.name), ["chat.db"]);
    assert.deepEqual(readPragma(path, "user_version"), [{ user_version: SCHEMA_VERSION + 1 }]);
  });
});

Deno.test("SqliteRepository: a refused newer file keeps its own journal mode", async () => {
  await withDatabaseFile(async (path) => {
    writeNewerFile(path, "DELETE");
    const before = await Deno.readFile(path);

    assert.throws(() => new SqliteRepository(path, sqliteOptions()), RangeError);

    assert.deepEqual(readPragma(path, "journal_mode"), [{ journal_mode: "delete" }]);
    assert.deepEqual(await Deno.readFile(path), before);
  });
});

Deno.test("SqliteRepository: the file passes an integrity check after many writes", async () => {
  await withDatabaseFile(async (path) => {
    const repo = new SqliteRepository(path, sqliteOptions());
    try {
      const users: UserRef[] = [];
      for (let index = 0; index < 20; index++) users.push(await addUser(repo, `user${index}`));
      for (const [index, user] of users.entries()) {
        await repo.createToken({
          tokenHash: `token-${index}`,
          userId: user.id,
          createdAt: NOW,
          expiresAt: NOW + index * 1000,
        });
      }
      const ids: number[] = [];
      for (let index = 0; index < 300; index++) {
        const from = users[index % users.length];
        const to = users[(index * 7 + 3) % users.length];
        const saved = await saveOne(repo, {
          from,
          to,
          msg: `message ${index} 消息 😀`.repeat(1 + (index % 5)),
          sendTime: "2024-05-01 12:00:00",
          sentAt: NOW + index,
          clientId: index % 3 === 0 ? `client-${index % 45}` : null,
        });
        ids.push(saved.message.messageId);
      }
      await repo.markDelivered(ids.filter((_, index) => index % 2 === 0));
      assert.equal(await repo.deleteExpiredTokens(NOW + 9_500), 10);
      assert.equal(await repo.deleteToken("token-15"), true);
    } finally {
      await repo.close();
    }
    assert.deepEqual(readPragma(path, "integrity_check"), [{ integrity_check: "ok" }]);
    assert.deepEqual(readPragma(path, "foreign_key_check"), []);
  });
});

Deno.test("SqliteRepository: migration 2 gives users stored before it their look-alike keys; look-alikes stored before both keep working", async () => {
  const dir = await Deno.makeTempDir({ prefix: "chat-lookalike-" });
  const path = `${dir}/chat.db`;
  try {
    const old = new DatabaseSync(path);
    migrate(old, 1);
    const insert = old.prepare(
      `INSERT INTO users (username, username_key, password_hash, email, created_at)
       VALUES (?, ?, 'x', NULL, 0)`,
    );
    insert.run("Tom", "tom");
    insert.run("Тоm", usernameKey("Тоm")); // Cyrillic: a look-alike registered before the rule
    old.close();

    const repo = new SqliteRepository(path, sqliteOptions());
    try {
      assert.equal((await repo.findUser("tom"))?.username, "Tom");
      assert.equal((await repo.findUser(usernameKey("Тоm")))?.username, "Тоm");
      const attempt = await repo.createUser({
        username: "Tоm",
        usernameKey: usernameKey("Tоm"),
        passwordHash: "x",
        email: null,
        createdAt: 0,
        lookalike: lookalikeKeys("Tоm"),
      });
      assert.equal(attempt, null);
    } finally {
      await repo.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
