/**
 * Storage faults under a live socket: the database locked by another connection, and a database
 * that cannot grow. The sender is told its message was not stored (30011, never 30010), nothing
 * reaches the peer, the socket and the service stay up, and (once the lock is gone) a retry with
 * the same `id` stores the message once.
 */
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { DEFAULTS } from "../../lib/config.ts";
import { api, registerAndLogin, startTestServer } from "../support/server.ts";
import { ChatClient, withTimeout } from "../support/ws_client.ts";
import {
  type Listening,
  PROCESS_WAIT_MS,
  REPO_ROOT,
  RUN_MAIN,
  tempDir,
} from "../support/process.ts";

async function healthStatus(server: { baseUrl: string }): Promise<number> {
  const response = await fetch(`${server.baseUrl}/healthz`);
  await response.body?.cancel();
  return response.status;
}

/** Opens a second connection to the service's database file and takes its write lock. */
function lockDatabase(dbPath: string): DatabaseSync & Disposable {
  const db = new DatabaseSync(dbPath);
  db.exec("BEGIN EXCLUSIVE");
  return Object.assign(db, {
    [Symbol.dispose]() {
      if (db.isOpen) {
        if (db.isTransaction) db.exec("ROLLBACK");
        db.close();
      }
    },
  });
}

Deno.test("a locked database answers 30011, delivers nothing, and a retry stores the message once", async () => {
  await using server = await startTestServer({ env: { SQLITE_BUSY_TIMEOUT: "100ms" } });
  const tom = await registerAndLogin(server, "Tom");
  const jack = await registerAndLogin(server, "Jack");
  await using toJack = await ChatClient.connect(server.wsUrl, "Jack", tom);
  await using toTom = await ChatClient.connect(server.wsUrl, "Tom", jack);
  await toJack.expect(30098, "Jack's login");
  await toTom.expect(30098, "Tom's login");
  assert.equal(await healthStatus(server), 200);

  {
    using _lock = lockDatabase(server.dbPath);
    toJack.sendMessage("while locked", "locked-1");
    // Asked while the message waits on the lock.
    const health = healthStatus(server);
    await toJack.next("the answer to a message while locked");
    assert.equal(
      toJack.raw.at(-1),
      '{"status":30011,"msg":"Message not stored, try again","body":{"id":"locked-1"}}',
    );
    assert.equal(await health, 200);
    // A client without ids learns it through the end of its socket: 30011, then 1013.
    await using seed = await ChatClient.connect(server.wsUrl, "Jack", tom);
    await seed.expect(30098, "Jack's login, on the second socket");
    seed.sendMessage("no id while locked");
    await seed.next("the answer to a message without id while locked");
    assert.equal(
      seed.raw.at(-1),
      '{"status":30011,"msg":"Message not stored, try again","body":{}}',
    );
    const close = await seed.closed();
    assert.equal(close.code, 1013);
    assert.equal(close.reason, "Message not stored, try again");
    assert.equal(toJack.socket.readyState, WebSocket.OPEN);
    assert.equal(await healthStatus(server), 200);
    // A login needs a write too: it is answered 503 with Retry-After, not 500.
    const loginWhileLocked = await api(server, "POST", "/v1/user/token", {
      body: { username: "Tom", password: "password123" },
    });
    assert.equal(loginWhileLocked.httpStatus, 503);
    assert.equal(loginWhileLocked.json.status, 10011);
    assert.equal(loginWhileLocked.headers.get("retry-after"), "1");
  }

  // The lock is gone: the same id is stored now, once, and reaches the peer.
  toJack.sendMessage("while locked", "locked-1");
  const stored = await toJack.expect(30010, "the retry's 30010");
  assert.equal(stored.body.id, "locked-1");
  toJack.sendMessage("after", "after-1");
  await toJack.expect(30010, "the next message's 30010");
  // The peer's first frame is the retry: nothing arrived while the database was locked.
  const first = await toTom.expect(30001, "the retried message");
  assert.equal(first.body.msg, "while locked");
  assert.equal(first.body.message_id, stored.body.message_id);
  assert.equal((await toTom.expect(30001, "the next message")).body.msg, "after");

  const history = await api(server, "GET", "/v1/chat/Jack/messages", { token: tom });
  assert.deepEqual(
    (history.json.body.messages as { msg: string }[]).map((item) => item.msg),
    ["after", "while locked"],
  );
  const metrics = await (await fetch(`${server.baseUrl}/metrics`)).text();
  assert.match(metrics, /^chat_store_failures_total 2$/m);
  assert.equal(await healthStatus(server), 200);
});

/**
 * The real program with a limit on the size of any file it writes (`ulimit -f`), so its SQLite
 * write-ahead log cannot grow past `maxFileBytes`: writes fail as on a full disk. SIGXFSZ is
 * ignored, so a write past the limit fails instead of killing the process.
 */
class SizeLimitedServer implements AsyncDisposable {
  readonly #child: Deno.ChildProcess;
  readonly #lines: string[] = [];
  readonly #reading: Promise<void>;
  #wake: (() => void) | null = null;
  #ended = false;

  constructor(dbPath: string, maxFileBytes: number) {
    const settings: Record<string, string> = {};
    for (const key of Object.keys(DEFAULTS)) settings[key] = "";
    const blocks = Math.floor(maxFileBytes / 512); // POSIX `ulimit -f` counts 512-byte blocks.
    const script = `trap '' XFSZ; ulimit -f ${blocks} && exec "$0" "$@"`;
    this.#child = new Deno.Command("sh", {
      args: ["-c", script, Deno.execPath(), ...RUN_MAIN],
      cwd: REPO_ROOT,
      env: {
        ...settings,
        PORT: "0",
        HOST: "127.0.0.1",
        NO_COLOR: "1",
        DB_PATH: dbPath,
        MSG_RATE: "100000",
        MSG_BURST: "100000",
      },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.#reading = Promise.all([this.#read(this.#child.stdout), this.#read(this.#child.stderr)])
      .then(() => {
        this.#ended = true;
        this.#wake?.();
      });
  }

  /** Every line of output so far. */
  get output(): string {
    return this.#lines.join("\n");
  }

  /** Waits for the listening line. */
  async listening(): Promise<Listening> {
    const pattern = /^\S+ info listening address=(\S+) port=(\d+) database=(.+)$/;
    const search = async () => {
      for (;;) {
        for (const line of this.#lines) {
          const match = pattern.exec(line);
          if (match !== null) return match;
        }
        if (this.#ended) throw new Error(`The server ended without listening:\n${this.output}`);
        await new Promise<void>((resolve) => this.#wake = resolve);
      }
    };
    const [, address, port, database] = await withTimeout(search(), "listening", PROCESS_WAIT_MS);
    const base = `${address}:${port}`;
    return {
      address,
      port: Number(port),
      database,
      baseUrl: `http://${base}`,
      wsUrl: `ws://${base}`,
    };
  }

  /** Sends SIGTERM and waits for the exit. */
  async stop(): Promise<Deno.CommandStatus> {
    this.#child.kill("SIGTERM");
    const status = await withTimeout(this.#child.status, "the exit", PROCESS_WAIT_MS);
    await this.#reading;
    return status;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    try {
      this.#child.kill("SIGKILL");
    } catch {
      // Exited already.
    }
    await this.#child.status;
    await this.#reading;
  }

  async #read(stream: ReadableStream<Uint8Array>): Promise<void> {
    let rest = "";
    // The cast bridges Deno's and the DOM's stream typings, both loaded by `deno task check`.
    const decoder = new TextDecoderStream() as unknown as TransformStream<Uint8Array, string>;
    for await (const text of stream.pipeThrough(decoder)) {
      const parts = (rest + text).split("\n");
      rest = parts.pop() ?? "";
      this.#lines.push(...parts);
      this.#wake?.();
    }
    if (rest !== "") this.#lines.push(rest);
  }
}

Deno.test("a database that cannot grow answers 30011, delivers nothing and stays up", async () => {
  await using dir = await tempDir();
  const dbPath = `${dir.path}/chat.db`;
  await using child = new SizeLimitedServer(dbPath, 1024 * 1024);
  const server = await child.listening();
  const tom = await registerAndLogin(server, "Tom");
  const jack = await registerAndLogin(server, "Jack");
  const stored: number[] = [];
  {
    await using toJack = await ChatClient.connect(server.wsUrl, "Jack", tom);
    await using toTom = await ChatClient.connect(server.wsUrl, "Tom", jack);
    await toJack.expect(30098, "Jack's login");
    await toTom.expect(30098, "Tom's login");
    // Each message adds pages to the write-ahead log until it reaches the file size limit.
    const large = "x".repeat(4000);
    let failed: string | null = null;
    for (let i = 0; failed === null; i++) {
      assert.ok(i < 1000, "the database never filled up");
      toJack.sendMessage(large, `m${i}`);
      const answer = await toJack.next(`the answer to message ${i}`);
      if (answer.status === 30011) {
        assert.deepEqual(answer.body, { id: `m${i}` });
        failed = `m${i}`;
        continue;
      }
      assert.equal(answer.status, 30010, JSON.stringify(answer));
      stored.push(answer.body.message_id as number);
      const delivered = await toTom.expect(30001, `message ${i} at the peer`);
      assert.equal(delivered.body.message_id, answer.body.message_id);
    }
    assert.ok(stored.length > 0, "the limit left no room for any message");
    // Still full: a retry fails the same way, and the socket stays open.
    toJack.sendMessage(large, failed);
    assert.deepEqual((await toJack.expect(30011, "the retry's 30011")).body, { id: failed });
    assert.equal(toJack.socket.readyState, WebSocket.OPEN);
    // The peer got nothing: its answer to a frame of its own is the next thing it receives.
    toTom.socket.send("{}");
    assert.equal(
      (await toTom.expect(30004, "the peer's own answer")).body.reason,
      "msg is missing",
    );
    assert.equal(await healthStatus(server), 200);
    // The process is up, but the database reads and cannot write: not ready.
    const ready = await fetch(`${server.baseUrl}/readyz`);
    assert.equal(ready.status, 503);
    assert.deepEqual((await ready.json()).body, { database: "down", hub: "up" });
    const metrics = await (await fetch(`${server.baseUrl}/metrics`)).text();
    assert.match(metrics, /^chat_store_failures_total 2$/m);
  }
  assert.equal((await child.stop()).code, 0, child.output);
  const db = new DatabaseSync(dbPath);
  try {
    const check = db.prepare("PRAGMA integrity_check").all().map((row) => row.integrity_check);
    assert.deepEqual(check, ["ok"]);
    const ids = db.prepare("SELECT id FROM messages ORDER BY id").all().map((row) => row.id);
    assert.deepEqual(ids, stored);
  } finally {
    db.close();
  }
});
