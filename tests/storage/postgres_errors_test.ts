import assert from "node:assert/strict";
import postgres from "npm:postgres@3.4.9";
import {
  fromPostgresError,
  isTransientPostgresError,
  isTransientSqlState,
} from "../../lib/storage/postgres_errors.ts";
import { StorageUnavailableError } from "../../lib/storage/errors.ts";
import {
  dropSchema,
  freePort,
  servicesReachable,
  TEST_DATABASE_URL,
  testSchema,
} from "../support/services.ts";
import { waitForAsync } from "../support/wait.ts";

const reachable = await servicesReachable(["postgres"], "the PostgreSQL error tests");

function pgTest(name: string, fn: () => Promise<void>): void {
  Deno.test({ name: `PostgreSQL errors: ${name}`, ignore: !reachable, fn });
}

/** A client of the test database with `settings` as connection parameters. */
function connect(settings: Record<string, string> = {}): postgres.Sql {
  const url = new URL(TEST_DATABASE_URL);
  for (const [name, value] of Object.entries(settings)) url.searchParams.set(name, value);
  return postgres(url.href, { max: 1, onnotice: () => {} });
}

/** The error `query` rejects with. */
async function rejectionOf(query: Promise<unknown>): Promise<unknown> {
  try {
    await query;
  } catch (error) {
    return error;
  }
  throw new Error("Expected the query to fail");
}

/** Asserts that `error` is mapped to `StorageUnavailableError` with it as the cause. */
function assertTransient(error: unknown, code: string): void {
  assert.equal((error as { code?: string }).code, code, String(error));
  assert.equal(isTransientPostgresError(error), true, String(error));
  const mapped = fromPostgresError(error);
  assert.ok(mapped instanceof StorageUnavailableError);
  assert.equal(mapped.cause, error);
  assert.ok(mapped.message.includes(code), mapped.message);
}

pgTest("a refused connection is transient", async () => {
  const sql = postgres(`postgres://postgres@127.0.0.1:${freePort()}/test`, {
    max: 1,
    onnotice: () => {},
  });
  try {
    assertTransient(await rejectionOf(sql`SELECT 1`), "ECONNREFUSED");
  } finally {
    await sql.end({ timeout: 1 });
  }
});

pgTest("a lock timeout and a statement timeout are transient", async () => {
  const schema = testSchema();
  const admin = connect();
  const waiting = connect({ lock_timeout: "50ms", statement_timeout: "200ms" });
  try {
    await admin.unsafe(`CREATE SCHEMA "${schema}"; CREATE TABLE "${schema}".t (v int)`);
    const locked = Promise.withResolvers<void>();
    const released = Promise.withResolvers<void>();
    const holder = admin.begin(async (tx) => {
      await tx.unsafe(`LOCK TABLE "${schema}".t IN EXCLUSIVE MODE`);
      locked.resolve();
      await released.promise;
    });
    await locked.promise;
    const lockTimeout = await rejectionOf(waiting.unsafe(`INSERT INTO "${schema}".t VALUES (1)`));
    released.resolve();
    await holder;
    assertTransient(lockTimeout, "55P03");
    assertTransient(await rejectionOf(waiting`SELECT pg_sleep(5)`), "57014");
  } finally {
    await waiting.end({ timeout: 1 });
    await admin.end({ timeout: 1 });
    await dropSchema(schema);
  }
});

pgTest("a connection terminated under a query is transient", async () => {
  const name = `chat-test-${crypto.randomUUID()}`;
  const admin = connect();
  const victim = connect({ application_name: name });
  try {
    const sleeping = rejectionOf(victim`SELECT pg_sleep(10)`);
    await waitForAsync(async () => {
      const [{ count }] = await admin`
        SELECT count(*)::int AS count FROM pg_stat_activity
        WHERE application_name = ${name} AND state = 'active'`;
      return count === 1;
    }, "the query to run");
    await admin`SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                WHERE application_name = ${name}`;
    // The server sends 57P01 and closes; the client reports the 57P01, the close or the reset of
    // the socket, depending on which reaches it first.
    const lost = await sleeping;
    const codes = ["CONNECTION_CLOSED", "57P01", "ECONNRESET"];
    assert.ok(codes.includes((lost as { code: string }).code), `${lost}`);
    assertTransient(lost, (lost as { code: string }).code);
    // Transient indeed: the client connects again, and any failure until then is transient too.
    await waitForAsync(async () => {
      const failure = await victim`SELECT 1`.then(() => null, (error) => error);
      if (failure !== null) assert.equal(isTransientPostgresError(failure), true, `${failure}`);
      return failure === null;
    }, "the client to connect again");
  } finally {
    await victim.end({ timeout: 1 });
    await admin.end({ timeout: 1 });
  }
});

pgTest("a constraint, a missing table, a bad statement and an ended client are not", async () => {
  const schema = testSchema();
  const sql = connect();
  try {
    await sql.unsafe(`CREATE SCHEMA "${schema}"; CREATE TABLE "${schema}".t (v int UNIQUE)`);
    await sql.unsafe(`INSERT INTO "${schema}".t VALUES (1)`);
    const failures = [
      await rejectionOf(sql.unsafe(`INSERT INTO "${schema}".t VALUES (1)`)),
      await rejectionOf(sql.unsafe(`SELECT * FROM "${schema}".missing`)),
      await rejectionOf(sql.unsafe(`SELEKT 1`)),
    ];
    assert.deepEqual(failures.map((error) => (error as { code: string }).code), [
      "23505",
      "42P01",
      "42601",
    ]);
    for (const failure of failures) {
      assert.equal(isTransientPostgresError(failure), false, String(failure));
      assert.equal(fromPostgresError(failure), failure);
    }
  } finally {
    await sql.end({ timeout: 1 });
    await dropSchema(schema);
  }
  const ended = await rejectionOf(sql`SELECT 1`);
  assert.equal((ended as { code: string }).code, "CONNECTION_ENDED");
  assert.equal(isTransientPostgresError(ended), false);
});

Deno.test("PostgreSQL errors: the SQLSTATEs that are transient and those that are not", () => {
  const transient = [
    "08000",
    "08003",
    "08006",
    "08001",
    "08004",
    "53000",
    "53100",
    "53200",
    "53300",
    "53400",
    "57P01",
    "57P02",
    "57P03",
    "57P05",
    "57014",
    "55P03",
    "40001",
    "40P01",
    "58030",
  ];
  const lasting = ["08P01", "57P04", "57000", "25006", "23505", "42P01", "22012", "58P01", "XX000"];
  for (const state of transient) assert.equal(isTransientSqlState(state), true, state);
  for (const state of lasting) assert.equal(isTransientSqlState(state), false, state);
  // A client error named like a SQLSTATE is judged by its name, not as one.
  assert.equal(isTransientPostgresError(Object.assign(new Error("x"), { code: "53100" })), false);
  assert.equal(isTransientPostgresError(Object.assign(new Error("x"), { code: "EPIPE" })), true);
  assert.equal(isTransientPostgresError(new Error("no code")), false);
});
