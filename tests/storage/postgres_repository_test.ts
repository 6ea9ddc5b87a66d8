import assert from "node:assert/strict";
import postgres from "npm:postgres@3.4.9";
import { PostgresRepository } from "../../lib/storage/postgres_repository.ts";
import { LOCK_CLASS, migrate, PG_SCHEMA_VERSION } from "../../lib/storage/postgres_schema.ts";
import { lookalikeKeys } from "../../lib/users/lookalike.ts";
import { usernameKey } from "../../lib/users/username.ts";
import type { UserRef } from "../../lib/storage/repository.ts";
import { StorageUnavailableError } from "../../lib/storage/errors.ts";
import { type HeldWriteLock, repositoryContract, saveOne } from "./repository_contract.ts";
import { waitForAsync as waitFor } from "../support/wait.ts";
import { postgresOptions } from "../support/backend_options.ts";
import {
  dropSchema,
  freePort,
  servicesReachable,
  TEST_DATABASE_URL,
  testSchema,
} from "../support/services.ts";

const reachable = await servicesReachable(["postgres"], "the PostgreSQL repository tests");

function open(schema: string): Promise<PostgresRepository> {
  return PostgresRepository.open({ ...postgresOptions(TEST_DATABASE_URL, schema), poolSize: 4 });
}

/** Stores a user named `name` under its lower-case key. */
async function addUser(repo: PostgresRepository, name: string): Promise<UserRef> {
  const user = await repo.createUser({
    username: name,
    usernameKey: name.toLowerCase(),
    passwordHash: "h",
    email: null,
    createdAt: 1,
  });
  assert.ok(user !== null);
  return user;
}

/**
 * Takes, in a transaction of another connection, the lock every write to the schema's tables
 * needs (EXCLUSIVE mode still lets reads through), and holds it until released.
 */
async function holdWriteLock(schema: string): Promise<HeldWriteLock & { pid: number }> {
  const other = postgres(TEST_DATABASE_URL, { max: 1, onnotice: () => {} });
  const locked = Promise.withResolvers<number>();
  const released = Promise.withResolvers<void>();
  const transaction = other.begin(async (tx) => {
    await tx.unsafe(
      `LOCK TABLE "${schema}".users, "${schema}".tokens, "${schema}".messages, ` +
        `"${schema}".write_probe IN EXCLUSIVE MODE`,
    );
    const [{ pid }] = await tx<{ pid: number }[]>`SELECT pg_backend_pid() AS pid`;
    locked.resolve(pid);
    await released.promise;
  });
  transaction.catch(locked.reject);
  let pid: number;
  try {
    pid = await locked.promise;
  } catch (error) {
    await other.end({ timeout: 1 });
    throw error;
  }
  return {
    pid,
    release: async () => {
      released.resolve();
      await transaction;
      await other.end({ timeout: 1 });
    },
  };
}

if (reachable) {
  repositoryContract("PostgresRepository", async () => {
    const schema = testSchema();
    // A statement waits this long for another session's lock before it fails as unavailable.
    const url = new URL(TEST_DATABASE_URL);
    url.searchParams.set("lock_timeout", "100ms");
    const repo = await PostgresRepository.open({
      ...postgresOptions(url.href, schema),
      poolSize: 4,
    });
    return {
      repo,
      holdWriteLock: () => holdWriteLock(schema),
      cleanup: async () => {
        await repo.close();
        await dropSchema(schema);
      },
    };
  });
}

function pgTest(name: string, fn: () => Promise<void>): void {
  Deno.test({ name: `PostgresRepository: ${name}`, ignore: !reachable, fn });
}

/** Runs `body` with an admin connection and a fresh schema name, dropping the schema after. */
async function withSchema(
  body: (schema: string, admin: postgres.Sql) => Promise<void>,
): Promise<void> {
  const schema = testSchema();
  const admin = postgres(TEST_DATABASE_URL, { max: 2, onnotice: () => {} });
  try {
    await body(schema, admin);
  } finally {
    await admin.end({ timeout: 1 });
    await dropSchema(schema);
  }
}

pgTest("nodes starting at once migrate the schema exactly once", async () => {
  await withSchema(async (schema, admin) => {
    const repos = await Promise.all(Array.from({ length: 6 }, () => open(schema)));
    try {
      const versions = await admin.unsafe(
        `SELECT version FROM "${schema}".schema_migrations ORDER BY version`,
      );
      assert.deepEqual(
        versions.map((row) => row.version),
        Array.from({ length: PG_SCHEMA_VERSION }, (_, i) => i + 1),
      );
      // They all work on the same tables: a user made by one is found by another.
      const made = await addUser(repos[0], "Tom");
      assert.equal((await repos[5].findUser("tom"))?.id, made?.id);
    } finally {
      await Promise.all(repos.map((repo) => repo.close()));
    }
  });
});

pgTest("the data lives in the configured schema, not in public", async () => {
  await withSchema(async (schema, admin) => {
    const repo = await open(schema);
    try {
      await addUser(repo, "Tom");
    } finally {
      await repo.close();
    }
    const rows = await admin`
      SELECT table_schema FROM information_schema.tables
      WHERE table_name = 'users' AND table_schema = ${schema}`;
    assert.equal(rows.length, 1);
    const [{ count }] = await admin.unsafe(`SELECT count(*)::int AS count FROM "${schema}".users`);
    assert.equal(count, 1);
  });
});

pgTest("reopening a schema keeps its data and applies nothing twice", async () => {
  await withSchema(async (schema) => {
    const first = await open(schema);
    try {
      await addUser(first, "Tom");
    } finally {
      await first.close();
    }
    const second = await open(schema);
    try {
      assert.equal((await second.findUser("tom"))?.username, "Tom");
    } finally {
      await second.close();
    }
  });
});

pgTest("a schema written by a newer server is refused untouched", async () => {
  await withSchema(async (schema, admin) => {
    await (await open(schema)).close();
    await admin.unsafe(
      `INSERT INTO "${schema}".schema_migrations (version) VALUES (${PG_SCHEMA_VERSION + 1})`,
    );
    await assert.rejects(open(schema), /newer than this server/);
    const [{ count }] = await admin.unsafe(
      `SELECT count(*)::int AS count FROM "${schema}".schema_migrations`,
    );
    assert.equal(count, PG_SCHEMA_VERSION + 1);
  });
});

pgTest("saves on one direction wait for each other's commit, so ids commit in order", async () => {
  await withSchema(async (schema, admin) => {
    const repo = await open(schema);
    try {
      const tom = await addUser(repo, "Tom");
      const jack = await addUser(repo, "Jack");
      const save = (from: UserRef, to: UserRef, msg: string) =>
        saveOne(repo, {
          from,
          to,
          msg,
          sendTime: "2024-05-01 12:00:00",
          sentAt: 1,
          clientId: null,
        });
      // Another node's save of Tom -> Jack, still uncommitted, holds the direction's lock.
      const held = Promise.withResolvers<void>();
      const locked = Promise.withResolvers<void>();
      const other = admin.begin(async (tx) => {
        // The key names the schema (advisory locks are database-wide), as the repository's does.
        const key = `${schema}:${tom.id}>${jack.id}`;
        await tx`SELECT pg_advisory_xact_lock(${LOCK_CLASS}, hashtext(${key}))`;
        locked.resolve();
        await held.promise;
      });
      await locked.promise;
      let saved = false;
      const blocked = save(tom, jack, "waits").then((result) => {
        saved = true;
        return result;
      });
      // The other direction is not held up.
      assert.equal((await save(jack, tom, "reply")).duplicate, false);
      await waitFor(async () => {
        const [{ waiting }] = await admin`
          SELECT count(*)::int AS waiting FROM pg_locks
          WHERE locktype = 'advisory' AND NOT granted`;
        return waiting === 1;
      }, "the save to wait for the lock");
      assert.equal(saved, false);
      held.resolve();
      await other;
      assert.equal((await blocked).message.msg, "waits");
    } finally {
      await repo.close();
    }
  });
});

pgTest("the daily quota holds exactly for one sender saving from two nodes at once", async () => {
  await withSchema(async (schema) => {
    const [a, b] = [await open(schema), await open(schema)];
    try {
      const tom = await addUser(a, "Tom");
      const jack = await addUser(a, "Jack");
      const alice = await addUser(a, "Alice");
      const quota = { dailyMessages: 25, dailyBytes: 0, waitingMessages: 0 };
      // 60 saves at once, on two directions (two locks) and two pools: 25 fit.
      const saves = Array.from({ length: 60 }, (_, i) =>
        (i % 2 === 0 ? a : b).saveMessagesWithin([{
          from: tom,
          to: i % 4 < 2 ? jack : alice,
          msg: `m${i}`,
          sendTime: "2024-05-01 12:00:00",
          sentAt: Date.UTC(2024, 4, 1, 12),
          clientId: null,
        }], quota));
      const outcomes = (await Promise.all(saves)).flat();
      assert.equal(outcomes.filter((o) => "message" in o).length, 25);
      assert.ok(outcomes.every((o) => "message" in o || o.refused.quota === "daily_messages"));
      const stored = (await a.history(tom.id, jack.id, { limit: 100 })).length +
        (await a.history(tom.id, alice.id, { limit: 100 })).length;
      assert.equal(stored, 25);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });
});

pgTest(
  "a connection lost under a query fails as unavailable, then the pool reconnects",
  async () => {
    await withSchema(async (schema, admin) => {
      // One connection, so the one cut is the one that comes back. (npm:postgres 3.4.9 keeps
      // the query of a connection closed under it until the connection runs another, and
      // `end()` waits for that query until its time-out.)
      const repo = await PostgresRepository.open({
        ...postgresOptions(TEST_DATABASE_URL, schema),
        poolSize: 1,
      });
      try {
        const tom = await addUser(repo, "Tom");
        const token = { tokenHash: "t1", userId: tom.id, createdAt: 1, expiresAt: 2 };
        // A write waits for a lock (no lock_timeout here); its connection is then cut.
        const lock = await holdWriteLock(schema);
        let lost: Promise<unknown>;
        try {
          lost = repo.createToken(token).then(() => null, (error) => error);
          const blocked = () =>
            admin<{ pid: number }[]>`
            SELECT pid FROM pg_stat_activity WHERE ${lock.pid} = ANY(pg_blocking_pids(pid))`;
          await waitFor(
            async () => (await blocked()).length === 1,
            "the write to wait for the lock",
          );
          const [{ pid }] = await blocked();
          await admin`SELECT pg_terminate_backend(${pid})`;
          const error = await lost;
          assert.ok(error instanceof StorageUnavailableError, `${error}`);
        } finally {
          await lock.release();
        }
        // Every failure until the pool has connected again is as transient.
        await waitFor(async () => {
          const failure = await repo.ping().then(() => null, (error) => error);
          if (failure !== null) assert.ok(failure instanceof StorageUnavailableError, `${failure}`);
          return failure === null;
        }, "the repository to serve again");
        await repo.createToken(token);
        assert.equal((await repo.findSession("t1", 1))?.user.id, tom.id);
      } finally {
        await repo.close();
      }
    });
  },
);

pgTest("ping answers while open and fails after close", async () => {
  await withSchema(async (schema) => {
    const repo = await open(schema);
    await repo.ping();
    await repo.close();
    await assert.rejects(repo.ping());
  });
});

pgTest("an unreachable database fails open within the connect timeout", async () => {
  // A port nobody listens on: connection refused, reported as an error rather than a hang.
  await assert.rejects(
    PostgresRepository.open(
      postgresOptions(`postgres://postgres@127.0.0.1:${freePort()}/test`, testSchema()),
    ),
  );
});

pgTest(
  "migration 2 gives users stored before it their look-alike keys; look-alikes stored before both keep working",
  async () => {
    await withSchema(async (schema, admin) => {
      const sql = postgres(TEST_DATABASE_URL, {
        max: 1,
        onnotice: () => {},
        connection: { search_path: schema },
      });
      try {
        await migrate(sql, schema, 1);
      } finally {
        await sql.end({ timeout: 1 });
      }
      for (const [name, key] of [["Tom", "tom"], ["Тоm", usernameKey("Тоm")]]) {
        await admin.unsafe(
          `INSERT INTO "${schema}".users (username, username_key, password_hash, created_at)
         VALUES ($1, $2, 'x', 0)`,
          [name, key],
        );
      }
      const repo = await open(schema);
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
    });
  },
);
