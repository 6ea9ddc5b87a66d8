/**
 * The real program as a subprocess: settings, the listening line, signals, restart on the same
 * database, logs, the `user add` command and `deno task start`.
 */
import assert from "node:assert/strict";
import { api, login, registerAndLogin } from "./support/server.ts";
import { ChatClient, type Frame } from "./support/ws_client.ts";
import {
  type ChildDeno,
  type Listening,
  REPO_ROOT,
  spawnDeno,
  tempDir,
} from "./support/process.ts";

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const SEND_TIME = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/;

/** A history item as the API returns it. */
interface HistoryItem {
  message_id: number;
  from_user: string;
  to_user: string;
  msg: string;
  send_time: string;
}

async function history(server: Listening, token: string, peer: string): Promise<HistoryItem[]> {
  const response = await api(server, "GET", `/v1/chat/${encodeURIComponent(peer)}/messages`, {
    token,
  });
  assert.equal(response.httpStatus, 200, JSON.stringify(response.json));
  return response.json.body.messages as HistoryItem[];
}

/** The log lines of one event, e.g. `chat.open`, from stdout and stderr. */
function logLines(child: ChildDeno, event: string): string[] {
  const pattern = new RegExp(`^\\S+ (info|warn|error) ${event.replaceAll(".", "\\.")}( |$)`);
  return [...child.stdout, ...child.stderr].filter((line) => pattern.test(line));
}

/** Runs every check, waits for all of them (so each cleans up), then fails with the first error. */
async function allSettled(checks: Promise<void>[]): Promise<void> {
  const results = await Promise.allSettled(checks);
  for (const result of results) {
    if (result.status === "rejected") throw result.reason;
  }
}

Deno.test("a bad setting stops start-up with one line naming it and exit code 1", async () => {
  await using dir = await tempDir();
  const cases: [string, string][] = [
    ["PORT", "abc"],
    ["PORT", "70000"],
    ["TOKEN_TTL", "0"],
    ["TOKEN_TTL", "soon"],
    ["MAX_MESSAGE_CHARS", "0"],
    ["MAX_FRAME_BYTES", "10"],
    ["WS_IDLE_TIMEOUT", "1500ms"],
    ["HOST", "not a host"],
  ];
  await allSettled(cases.map(async ([key, value], index) => {
    const dbDir = `${dir.path}/case${index}`;
    await using child = spawnDeno({ env: { DB_PATH: `${dbDir}/chat.db`, [key]: value } });
    const status = await child.finished();
    const label = `${key}=${value}: ${child.output}`;
    assert.equal(status.code, 1, label);
    assert.equal(child.stderr.length, 1, label);
    assert.match(child.stderr[0], new RegExp(`\\b${key}\\b`), label);
    assert.deepEqual(child.stdout, [], label);
    // It stopped before touching the database.
    await assert.rejects(Deno.stat(dbDir), Deno.errors.NotFound, label);
  }));
});

Deno.test("a port already in use stops start-up with one line naming PORT and exit code 1", async () => {
  await using dir = await tempDir();
  using taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  await using child = spawnDeno({
    env: { DB_PATH: `${dir.path}/chat.db`, PORT: String(taken.addr.port) },
  });
  const status = await child.finished();
  assert.equal(status.code, 1, child.output);
  assert.equal(child.stderr.length, 1, child.output);
  assert.match(child.stderr[0], /\bPORT\b/);
  assert.match(child.stderr[0], new RegExp(`:${taken.addr.port}\\b`));
  assert.equal(logLines(child, "listening").length, 0);
});

Deno.test("a database that cannot be opened stops start-up with one line naming DB_PATH", async () => {
  await using dir = await tempDir();
  // A regular file where the database folder should be.
  await Deno.writeTextFile(`${dir.path}/file`, "");
  await using child = spawnDeno({ env: { DB_PATH: `${dir.path}/file/chat.db` } });
  const status = await child.finished();
  assert.equal(status.code, 1, child.output);
  assert.equal(child.stderr.length, 1, child.output);
  assert.match(child.stderr[0], /\bDB_PATH\b/);
  assert.equal(logLines(child, "listening").length, 0);
});

Deno.test("the listening line names address, port and database, and the folder is created", async () => {
  await using dir = await tempDir();
  const dbPath = `${dir.path}/not/yet/there/chat.db`;
  await using child = spawnDeno({ env: { DB_PATH: dbPath } });
  const server = await child.listening();
  assert.equal(server.address, "127.0.0.1");
  assert.ok(server.port > 0 && server.port < 65536, `port ${server.port}`);
  assert.equal(server.database, dbPath);
  assert.ok((await Deno.stat(dbPath)).isFile);
  assert.equal(logLines(child, "listening").length, 1);
  // The port in the line is the one it serves on.
  assert.match(await registerAndLogin(server, "alice"), UUID_V4);
  assert.equal((await child.stop()).code, 0, child.output);
});

Deno.test("SIGTERM closes both chatting sockets with 1001, logs stopping and exits 0", async () => {
  await using dir = await tempDir();
  await using child = spawnDeno({ env: { DB_PATH: `${dir.path}/chat.db` } });
  const server = await child.listening();
  const aliceToken = await registerAndLogin(server, "alice");
  const bobToken = await registerAndLogin(server, "bob");
  await using alice = await ChatClient.connect(server.wsUrl, "bob", aliceToken);
  await using bob = await ChatClient.connect(server.wsUrl, "alice", bobToken);
  await bob.expect(30098, "bob sees alice online");
  await alice.expect(30098, "alice sees bob online");
  alice.sendMessage("hello bob");
  assert.equal((await bob.expect(30001)).body.msg, "hello bob");
  bob.sendMessage("hello alice");
  assert.equal((await alice.expect(30001)).body.msg, "hello alice");

  child.child.kill("SIGTERM");
  const [aliceClosed, bobClosed] = await Promise.all([
    alice.closed("alice's socket to close"),
    bob.closed("bob's socket to close"),
  ]);
  assert.equal(aliceClosed.code, 1001);
  assert.equal(bobClosed.code, 1001);
  const status = await child.finished();
  assert.equal(status.code, 0, child.output);
  assert.match(logLines(child, "stopping").join("\n"), /^\S+ info stopping signal=SIGTERM$/);
  assert.equal(logLines(child, "stopped").length, 1, child.output);
  assert.deepEqual(child.stderr, [], "nothing logged as a warning or error");
});

Deno.test("SIGINT closes the socket with 1001 and exits 0", async () => {
  await using dir = await tempDir();
  await using child = spawnDeno({ env: { DB_PATH: `${dir.path}/chat.db` } });
  const server = await child.listening();
  const token = await registerAndLogin(server, "alice");
  await registerAndLogin(server, "bob");
  await using alice = await ChatClient.connect(server.wsUrl, "bob", token);
  await child.waitForLine(/ info chat\.open /, "the chat.open line");
  child.child.kill("SIGINT");
  assert.equal((await alice.closed()).code, 1001);
  assert.equal((await child.finished()).code, 0, child.output);
  assert.match(logLines(child, "stopping").join("\n"), /^\S+ info stopping signal=SIGINT$/);
});

Deno.test("a restart on the same database loses no user, token, message or delivery state", async () => {
  await using dir = await tempDir();
  const dbPath = `${dir.path}/chat.db`;
  let aliceToken: string;
  let before: HistoryItem[];
  const acks = new Map<string, Frame>();
  {
    await using first = spawnDeno({ env: { DB_PATH: dbPath } });
    const server = await first.listening();
    aliceToken = await registerAndLogin(server, "alice");
    const bobToken = await registerAndLogin(server, "bob");
    await using alice = await ChatClient.connect(server.wsUrl, "bob", aliceToken);
    {
      // Delivered live, so it must not come again after the restart.
      await using bob = await ChatClient.connect(server.wsUrl, "alice", bobToken);
      await bob.expect(30098);
      await alice.expect(30098);
      alice.sendMessage("live one", "live-1");
      acks.set("live-1", await alice.expect(30010, "ack of live-1"));
      assert.equal((await bob.expect(30001)).body.msg, "live one");
      bob.sendMessage("live reply");
      assert.equal((await alice.expect(30001)).body.msg, "live reply");
    }
    await alice.expect(30099, "bob went offline");
    // Waiting for bob: with and without an id; the last ack means all three are stored.
    alice.sendMessage("waiting one", "w-1");
    alice.sendMessage("waiting two");
    alice.sendMessage("waiting three", "w-3");
    acks.set("w-1", await alice.expect(30010, "ack of w-1"));
    acks.set("w-3", await alice.expect(30010, "ack of w-3"));
    before = await history(server, aliceToken, "bob");
    assert.deepEqual(before.map((item) => item.msg), [
      "waiting three",
      "waiting two",
      "waiting one",
      "live reply",
      "live one",
    ]);
    for (const [id, ack] of acks) {
      const item = before.find((item) => item.message_id === ack.body.message_id);
      assert.equal(item?.send_time, ack.body.send_time, id);
      assert.match(String(ack.body.send_time), SEND_TIME);
    }
    await alice.close();
    assert.equal((await first.stop()).code, 0, first.output);
  }

  await using second = spawnDeno({ env: { DB_PATH: dbPath } });
  const server = await second.listening();
  // The old token still works, and the history is unchanged.
  assert.deepEqual(await history(server, aliceToken, "bob"), before);
  const bobToken = await login(server, "bob");
  assert.deepEqual(
    await history(server, bobToken, "alice"),
    before,
    "bob sees the same conversation",
  );

  await using bob = await ChatClient.connect(server.wsUrl, "alice", bobToken);
  const waiting = before.filter((item) => item.msg.startsWith("waiting")).reverse();
  for (const item of waiting) {
    const frame = await bob.expect(30001, `waiting message ${item.msg}`);
    assert.deepEqual(frame.body, {
      msg: item.msg,
      from_user: "alice",
      send_time: item.send_time,
      message_id: item.message_id,
    });
  }
  // A repeated id after the restart is answered with the first ack and not delivered again;
  // the next frames bob sees are alice coming online and then only the new message.
  const newAliceToken = await login(server, "alice");
  await using alice = await ChatClient.connect(server.wsUrl, "bob", newAliceToken);
  await alice.expect(30098);
  await bob.expect(30098, "alice online after bob's waiting messages");
  alice.sendMessage("waiting one", "w-1");
  assert.deepEqual(await alice.expect(30010, "repeated ack of w-1"), acks.get("w-1"));
  alice.sendMessage("after the restart");
  const fresh = await bob.expect(30001, "the new message, and nothing repeated before it");
  assert.equal(fresh.body.msg, "after the restart");
  assert.ok(Number(fresh.body.message_id) > Number(before[0].message_id));
  const after = await history(server, aliceToken, "bob");
  assert.deepEqual(after.slice(1), before);
  assert.equal((await second.stop()).code, 0, second.output);
});

Deno.test("each connection logs one open and one close line, and no secret or message text", async () => {
  await using dir = await tempDir();
  const alicePassword = "alice-Secret-Passw0rd";
  const bobPassword = "bob-Secret-Passw0rd";
  const text = "the message text stays out of logs";
  await using child = spawnDeno({ env: { DB_PATH: `${dir.path}/chat.db` } });
  const server = await child.listening();
  const aliceToken = await registerAndLogin(server, "alice", alicePassword);
  const bobToken = await registerAndLogin(server, "bob", bobPassword);
  // Failed logins and a wrong token must not leak what was tried either.
  const wrong = await api(server, "POST", "/v1/user/token", {
    body: { username: "alice", password: "wrong-Passw0rd-tried" },
  });
  assert.equal(wrong.httpStatus, 401);
  const bogusToken = "6b1f0a4e-0000-4000-8000-bogus0token0";
  await using rejected = await ChatClient.connect(server.wsUrl, "bob", bogusToken);
  await rejected.expect(30002);
  await rejected.closed();
  {
    await using alice = await ChatClient.connect(server.wsUrl, "bob", aliceToken);
    await using bob = await ChatClient.connect(server.wsUrl, "alice", bobToken);
    await alice.expect(30098);
    await bob.expect(30098);
    alice.sendMessage(text, "id-1");
    await alice.expect(30010);
    assert.equal((await bob.expect(30001)).body.msg, text);
  }
  await child.waitForLine(/ info chat\.close .*user=alice/, "alice's chat.close line");
  await child.waitForLine(/ info chat\.close .*user=bob/, "bob's chat.close line");
  assert.equal((await child.stop()).code, 0, child.output);

  const opens = logLines(child, "chat.open");
  const closes = logLines(child, "chat.close");
  assert.equal(opens.length, 2, child.output);
  assert.equal(closes.length, 2, child.output);
  assert.equal(opens.filter((line) => / user=alice peer=bob( |$)/.test(line)).length, 1);
  assert.equal(opens.filter((line) => / user=bob peer=alice( |$)/.test(line)).length, 1);
  assert.equal(closes.filter((line) => / user=alice peer=bob( |$)/.test(line)).length, 1);
  assert.equal(closes.filter((line) => / user=bob peer=alice( |$)/.test(line)).length, 1);
  const logs = child.output;
  for (
    const secret of [
      aliceToken,
      bobToken,
      bogusToken,
      alicePassword,
      bobPassword,
      "wrong-Passw0rd-tried",
      text,
    ]
  ) {
    assert.ok(!logs.includes(secret), `the logs contain ${JSON.stringify(secret)}:\n${logs}`);
  }
});

Deno.test("a connection the server closes is logged as closed too", async () => {
  await using dir = await tempDir();
  await using child = spawnDeno({ env: { DB_PATH: `${dir.path}/chat.db` } });
  const server = await child.listening();
  const aliceToken = await registerAndLogin(server, "alice");
  const bobToken = await registerAndLogin(server, "bob");
  await using alice = await ChatClient.connect(server.wsUrl, "bob", aliceToken);
  await using bob = await ChatClient.connect(server.wsUrl, "alice", bobToken);
  await alice.expect(30098);
  await bob.expect(30098);
  // Logging out closes alice's socket from the server side, shutting down closes bob's.
  const logout = await api(server, "DELETE", "/v1/user/token", { token: aliceToken });
  assert.equal(logout.httpStatus, 200);
  await alice.expect(30002);
  assert.equal((await alice.closed()).code, 1008);
  await bob.expect(30099);
  assert.equal((await child.stop()).code, 0, child.output);
  assert.equal((await bob.closed()).code, 1001);

  const closes = logLines(child, "chat.close");
  assert.equal(logLines(child, "chat.open").length, 2, child.output);
  assert.equal(closes.length, 2, child.output);
  assert.equal(
    closes.filter((line) => / user=alice peer=bob .*code=1008( |$)/.test(line)).length,
    1,
    child.output,
  );
  assert.equal(
    closes.filter((line) => / user=bob peer=alice .*code=1001( |$)/.test(line)).length,
    1,
    child.output,
  );
});

Deno.test("user add: adds a user from a piped password, refuses repeats and bad input", async () => {
  await using dir = await tempDir();
  const env = { DB_PATH: `${dir.path}/data/chat.db` };
  const run = async (args: string[], stdin?: string) => {
    await using child = spawnDeno({ args, env, stdin });
    const status = await child.finished();
    return { code: status.code, stdout: child.stdout.join("\n"), output: child.output };
  };

  const added = await run(["user", "add", "alice"], "password123\n");
  assert.equal(added.code, 0, added.output);
  assert.match(added.stdout, /User alice added/);
  assert.ok(!added.output.includes("password123"), "the password is not echoed");

  const again = await run(["user", "add", "Alice"], "password456\n");
  assert.equal(again.code, 1, again.output);
  assert.match(again.stdout, /already exists/);

  const short = await run(["user", "add", "bob"], "1234567\n");
  assert.equal(short.code, 1, short.output);
  assert.match(short.stdout, /password/i);

  const empty = await run(["user", "add", "bob"], "");
  assert.equal(empty.code, 1, empty.output);
  assert.match(empty.stdout, /password/i);

  for (
    const args of [["user"], ["user", "add"], ["user", "remove", "alice"], [
      "user",
      "add",
      "a",
      "b",
    ]]
  ) {
    const usage = await run(args);
    assert.equal(usage.code, 2, `${args.join(" ")}: ${usage.output}`);
    assert.match(usage.stdout, /Usage: .*user add <username>/);
  }

  await using child = spawnDeno({ env });
  const server = await child.listening();
  assert.match(await login(server, "alice", "password123"), UUID_V4);
  await assert.rejects(login(server, "bob", "1234567"), /login bob/);
  assert.equal((await child.stop()).code, 0, child.output);
});

Deno.test("deno task start listens and stops with exit code 0 on SIGTERM", async () => {
  await using dir = await tempDir();
  await using child = spawnDeno({
    denoArgs: ["task", "start"],
    env: { DB_PATH: `${dir.path}/chat.db` },
  });
  const server = await child.listening();
  assert.match(await registerAndLogin(server, "alice"), UUID_V4);
  const status = await child.stop("SIGTERM");
  assert.equal(status.code, 0, child.output);
  assert.match(logLines(child, "stopping").join("\n"), /signal=SIGTERM$/);
  assert.equal(logLines(child, "stopped").length, 1, child.output);
});

Deno.test("deno task user add adds a user that can then log in", async () => {
  await using dir = await tempDir();
  const env = { DB_PATH: `${dir.path}/chat.db` };
  {
    await using add = spawnDeno({
      denoArgs: ["task", "user", "add", "carol"],
      env,
      stdin: "password123\n",
    });
    const status = await add.finished();
    assert.equal(status.code, 0, add.output);
    assert.match(add.stdout.join("\n"), /User carol added/);
  }
  await using child = spawnDeno({ env });
  const server = await child.listening();
  assert.match(await login(server, "carol"), UUID_V4);
  assert.equal((await child.stop()).code, 0, child.output);
});

Deno.test("deno task start reads settings from .env in the working folder; the environment wins", async () => {
  await using dir = await tempDir();
  const dbPath = `${dir.path}/from-dotenv.db`;
  await Deno.writeTextFile(
    `${dir.path}/.env`,
    `PORT=0\nHOST=127.0.0.1\nDB_PATH=${dbPath}\nTOKEN_TTL=not-a-duration\n`,
  );
  // The start task's own command line, run in the folder that holds the .env file.
  const config = JSON.parse(await Deno.readTextFile(`${REPO_ROOT}/deno.json`));
  // The start script raises the descriptor limit, then runs `deno run ...`.
  const words = (config.tasks.start as string).split(/\s+/);
  assert.deepEqual(words.slice(0, 3), ["sh", "tools/start.sh", "deno"]);
  const args = words.slice(3)
    .map((arg) => arg === "main.ts" ? `${REPO_ROOT}/main.ts` : arg);
  await using child = spawnDeno({
    denoArgs: args,
    cwd: dir.path,
    clearEnv: true,
    env: { TOKEN_TTL: "1h" },
  });
  const server = await child.listening();
  assert.equal(server.database, dbPath);
  assert.equal(server.address, "127.0.0.1");
  assert.equal((await child.stop()).code, 0, child.output);
});

Deno.test("LOG_FORMAT=json writes one JSON object per line, with no token, password or text", async () => {
  await using dir = await tempDir();
  await using child = spawnDeno({
    env: { DB_PATH: `${dir.path}/chat.db`, LOG_FORMAT: "json" },
  });
  const [, port] = await child.waitForLine(/"event":"listening".*"port":(\d+)/, "listening");
  const server = { baseUrl: `http://127.0.0.1:${port}`, wsUrl: `ws://127.0.0.1:${port}` };
  const password = "secret-password-9";
  const tom = await registerAndLogin(server, "tom", password);
  const jack = await registerAndLogin(server, "jack", password);
  const text = "a private message 42";
  {
    await using toJack = await ChatClient.connect(server.wsUrl, "jack", tom);
    await using toTom = await ChatClient.connect(server.wsUrl, "tom", jack);
    toJack.sendMessage(text);
    await toTom.nextMatching((f) => f.status === 30001, "message");
  }
  await child.waitForLine(/"event":"chat.close"/, "a close line");
  assert.equal((await child.stop()).code, 0, child.output);
  const lines = [...child.stdout, ...child.stderr].filter((line) => line.startsWith("{"));
  assert.ok(lines.length >= 5, child.output);
  for (const line of lines) {
    const entry = JSON.parse(line);
    assert.equal(typeof entry.time, "string");
    assert.match(entry.level, /^(info|warn|error)$/);
    for (const secret of [tom, jack, password, text]) assert.ok(!line.includes(secret), line);
  }
  assert.ok(lines.some((line) => JSON.parse(line).event === "chat.open"));
});
