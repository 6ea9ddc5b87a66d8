/**
 * Faults of the whole process, on the real program (`main.ts`) with its own SQLite file: killed
 * with SIGKILL while clients send, and stopped with SIGTERM under load. After a restart on the
 * same file, nothing that was acknowledged with 30010 is lost or delivered twice on a socket.
 */
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { api, registerAndLogin } from "./support/server.ts";
import { ChatClient } from "./support/ws_client.ts";
import { type ChildDeno, type Listening, spawnDeno, tempDir } from "./support/process.ts";
import { connectChat, type RawWebSocket } from "./support/raw_ws.ts";

const SENDERS = ["Ann", "Bob", "Cid"] as const;
const RECEIVER = "Rex";
/** Messages a sender may have sent without their 30010 yet. */
const WINDOW = 16;
/** Acknowledged messages, over all senders, before the fault is injected. */
const ACKS_BEFORE_FAULT = 150;
/** How long a receiver waits for the next frame. */
const RECEIVE_WAIT_MS = 10_000;

/** A message the server acknowledged with 30010. */
interface Acked {
  readonly seq: number;
  readonly messageId: number;
  readonly msg: string;
}

/** A chat message as a receiver got it. */
interface Received {
  readonly messageId: number;
  readonly fromUser: string;
  readonly msg: string;
}

function text(sender: string, seq: number): string {
  return `${sender} says ${seq}`;
}

function seqOf(msg: string): number {
  return Number(/ says (\d+)$/.exec(msg)?.[1] ?? NaN);
}

/** Starts the program on `dbPath` with limits high enough for a flood from one address. */
async function start(dbPath: string): Promise<{ child: ChildDeno; server: Listening }> {
  const child = spawnDeno({
    env: {
      DB_PATH: dbPath,
      MSG_RATE: "100000",
      MSG_BURST: "100000",
      AUTH_MAX_PER_IP: "1000",
      // A receiver slowed by a loaded machine still reads its backlog and the 1001 before the
      // server gives up on the close handshake (dropping it then can reset the connection).
      WS_CLOSE_TIMEOUT: "30s",
    },
  });
  try {
    return { child, server: await child.listening() };
  } catch (error) {
    await child[Symbol.asyncDispose]();
    throw error;
  }
}

/** Counts acknowledgements over every sender and resolves once there are `target` of them. */
class Progress {
  #count = 0;
  readonly #reached = Promise.withResolvers<void>();
  constructor(readonly target: number) {}

  ack(): void {
    if (++this.#count === this.target) this.#reached.resolve();
  }

  get reached(): Promise<void> {
    return this.#reached.promise;
  }
}

/**
 * Sends numbered messages with ids, up to `WINDOW` unanswered, until the server closes the
 * socket; returns the acknowledged ones in the order sent.
 */
async function sendUntilClosed(
  client: ChatClient,
  sender: string,
  progress: Progress,
): Promise<Acked[]> {
  const acked: Acked[] = [];
  let sent = 0;
  for (;;) {
    while (sent - acked.length < WINDOW && client.socket.readyState === WebSocket.OPEN) {
      client.sendMessage(text(sender, sent), `${sender}-${sent}`);
      sent++;
    }
    let frame;
    try {
      frame = await client.next(`${sender}'s next 30010`);
    } catch (error) {
      if (client.socket.readyState === WebSocket.CLOSED) return acked;
      throw error;
    }
    // Presence of the receiver is no answer to a message.
    if (frame.status === 30098 || frame.status === 30099) continue;
    assert.equal(frame.status, 30010, JSON.stringify(frame));
    const seq = acked.length;
    // Stored one at a time in the order sent, so the answers come in that order.
    assert.equal(frame.body.id, `${sender}-${seq}`);
    acked.push({ seq, messageId: frame.body.message_id as number, msg: text(sender, seq) });
    progress.ack();
  }
}

/** Connects every sender to the receiver and floods until the server goes away. */
async function flood(server: Listening, tokens: Record<string, string>, progress: Progress) {
  const clients = await Promise.all(
    SENDERS.map((sender) => ChatClient.connect(server.wsUrl, RECEIVER, tokens[sender])),
  );
  try {
    const acked = await Promise.all(
      SENDERS.map((sender, i) => sendUntilClosed(clients[i], sender, progress)),
    );
    return new Map(SENDERS.map((sender, i) => [sender, acked[i]]));
  } finally {
    await Promise.all(clients.map((client) => client.close()));
  }
}

/**
 * Acknowledges `messageId`; false when the server already went away (a stopping server may reset
 * the connection before the ack is written, as a browser's send after the close is lost too: the
 * message then stays unacknowledged, so it must still be waiting).
 */
async function acknowledge(socket: RawWebSocket, messageId: number): Promise<boolean> {
  try {
    await socket.sendJson({ ack: messageId });
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.ConnectionReset || error instanceof Deno.errors.BrokenPipe) {
      return false;
    }
    throw error;
  }
}

/** Reads chat messages in receipt mode, acknowledging each, until `stop` says so or it closes. */
async function receive(
  socket: RawWebSocket,
  stop: (message: Received) => boolean = () => false,
): Promise<Received[]> {
  const got: Received[] = [];
  for (;;) {
    const frameText = await socket.nextText(RECEIVE_WAIT_MS);
    if (frameText === null) {
      // Closed by the server: answer its close frame at once, as a browser would.
      await socket.closeGracefully();
      return got;
    }
    const frame = JSON.parse(frameText);
    if (frame.status !== 30001) continue;
    const message = {
      messageId: frame.body.message_id as number,
      fromUser: frame.body.from_user as string,
      msg: frame.body.msg as string,
    };
    got.push(message);
    if (!await acknowledge(socket, message.messageId)) return got;
    if (stop(message)) return got;
  }
}

/**
 * Opens the receiver's receipt-mode socket to `sender`, then has the sender send a marker; the
 * marker comes after every waiting message, so all of them have been read when it arrives.
 */
async function receiveWaiting(
  server: Listening,
  tokens: Record<string, string>,
  sender: string,
): Promise<Received[]> {
  const socket = await connectChat(server.wsUrl, sender, tokens[RECEIVER], { receipts: true });
  try {
    assert.equal(socket.status, 101, socket.body);
    const marker = `${sender} marker`;
    const reading = receive(socket, (message) => message.msg === marker);
    const client = await ChatClient.connect(server.wsUrl, RECEIVER, tokens[sender]);
    try {
      client.sendMessage(marker, `${sender}-marker`);
      await client.nextMatching((frame) => frame.status === 30010, "the marker's 30010");
    } finally {
      await client.close();
    }
    const got = await reading;
    assert.equal(got.at(-1)?.msg, marker);
    return got.slice(0, -1);
  } finally {
    await socket.closeGracefully();
  }
}

/** Checks one connection's messages: no id twice, and each sender's in the order sent. */
function assertOrderedOnce(got: readonly Received[], label: string): void {
  const ids = got.map((message) => message.messageId);
  assert.equal(new Set(ids).size, ids.length, `${label}: a message_id came twice`);
  for (const sender of SENDERS) {
    const mine = got.filter((message) => message.fromUser === sender);
    for (let i = 1; i < mine.length; i++) {
      assert.ok(
        seqOf(mine[i].msg) > seqOf(mine[i - 1].msg) && mine[i].messageId > mine[i - 1].messageId,
        `${label}: ${sender}'s messages out of order: ${mine[i - 1].msg}, then ${mine[i].msg}`,
      );
    }
  }
}

/** Every message between the receiver and `sender`, read page by page through the API. */
async function fullHistory(server: Listening, token: string, sender: string) {
  const all: { message_id: number; from_user: string; msg: string }[] = [];
  let before: number | null = null;
  do {
    const query: string = before === null ? "limit=200" : `limit=200&before=${before}`;
    const response = await api(server, "GET", `/v1/chat/${sender}/messages?${query}`, { token });
    assert.equal(response.httpStatus, 200, JSON.stringify(response.json));
    all.push(...(response.json.body.messages as typeof all));
    before = response.json.body.next_before as number | null;
  } while (before !== null);
  return all;
}

/** Every acknowledged message is in the history exactly once, under its message_id. */
async function assertInHistory(
  server: Listening,
  tokens: Record<string, string>,
  acked: Map<string, Acked[]>,
): Promise<void> {
  for (const sender of SENDERS) {
    const history = await fullHistory(server, tokens[RECEIVER], sender);
    const texts = history.map((item) => item.msg);
    assert.equal(new Set(texts).size, texts.length, `${sender}: a message is stored twice`);
    const byId = new Map(history.map((item) => [item.message_id, item]));
    for (const message of acked.get(sender)!) {
      const item = byId.get(message.messageId);
      assert.ok(item !== undefined, `${sender}: acknowledged ${message.msg} is not in history`);
      assert.equal(item.msg, message.msg);
      assert.equal(item.from_user, sender);
    }
  }
}

/** Fails unless every acknowledged message is among `seen`. */
function assertAllSeen(acked: Map<string, Acked[]>, seen: ReadonlySet<number>): void {
  for (const [sender, messages] of acked) {
    const missing = messages.filter((message) => !seen.has(message.messageId));
    assert.deepEqual(
      missing.map((message) => message.msg),
      [],
      `${sender}: acknowledged messages never reached the receiver`,
    );
  }
}

function integrityCheck(dbPath: string): string {
  const db = new DatabaseSync(dbPath);
  try {
    const rows = db.prepare("PRAGMA integrity_check").all() as { integrity_check: string }[];
    return rows.map((row) => row.integrity_check).join("\n");
  } finally {
    db.close();
  }
}

async function registerEveryone(server: Listening): Promise<Record<string, string>> {
  const tokens: Record<string, string> = {};
  for (const name of [...SENDERS, RECEIVER]) tokens[name] = await registerAndLogin(server, name);
  return tokens;
}

Deno.test("after SIGKILL mid-flood every acknowledged message is stored and delivered once", async () => {
  await using dir = await tempDir();
  const dbPath = `${dir.path}/chat.db`;
  let tokens: Record<string, string>;
  let acked: Map<string, Acked[]>;
  {
    const { child, server } = await start(dbPath);
    await using _child = child;
    tokens = await registerEveryone(server);
    const progress = new Progress(ACKS_BEFORE_FAULT);
    const flooding = flood(server, tokens, progress);
    // Killed only once the flood is under way; an early failure of the flood fails the test.
    await Promise.race([progress.reached, flooding]);
    child.child.kill("SIGKILL");
    const status = await child.finished();
    assert.equal(status.signal, "SIGKILL");
    acked = await flooding;
  }
  const total = [...acked.values()].reduce((sum, list) => sum + list.length, 0);
  assert.ok(total >= ACKS_BEFORE_FAULT, `only ${total} messages acknowledged`);

  {
    const { child, server } = await start(dbPath);
    await using _child = child;
    await assertInHistory(server, tokens, acked);
    const seen = new Set<number>();
    for (const sender of SENDERS) {
      const got = await receiveWaiting(server, tokens, sender);
      assertOrderedOnce(got, `receipt-mode socket to ${sender}`);
      assert.ok(got.every((message) => message.fromUser === sender));
      for (const message of got) seen.add(message.messageId);
    }
    assertAllSeen(acked, seen);
    assert.equal((await child.stop("SIGTERM")).code, 0, child.output);
  }
  assert.equal(integrityCheck(dbPath), "ok");
});

Deno.test("SIGTERM under load exits 0 and loses no acknowledged message", async () => {
  await using dir = await tempDir();
  const dbPath = `${dir.path}/chat.db`;
  let tokens: Record<string, string>;
  let acked: Map<string, Acked[]>;
  const seenBefore = new Set<number>();
  {
    const { child, server } = await start(dbPath);
    await using _child = child;
    tokens = await registerEveryone(server);
    // The receiver is online in receipt mode, acknowledging as it reads, while traffic flows.
    const receivers = await Promise.all(
      SENDERS.map((sender) =>
        connectChat(server.wsUrl, sender, tokens[RECEIVER], { receipts: true })
      ),
    );
    try {
      for (const socket of receivers) assert.equal(socket.status, 101, socket.body);
      const reading = Promise.all(receivers.map((socket) => receive(socket)));
      const progress = new Progress(ACKS_BEFORE_FAULT);
      const flooding = flood(server, tokens, progress);
      await Promise.race([progress.reached, flooding]);
      const status = await child.stop("SIGTERM");
      assert.equal(status.code, 0, child.output);
      acked = await flooding;
      const got = await reading;
      for (const [i, socket] of receivers.entries()) {
        assert.equal(socket.closeCode, 1001, `the receiver's socket to ${SENDERS[i]}`);
        assertOrderedOnce(got[i], `the receiver's socket to ${SENDERS[i]} before SIGTERM`);
        for (const message of got[i]) seenBefore.add(message.messageId);
      }
    } finally {
      await Promise.all(receivers.map((socket) => socket.closeGracefully()));
    }
  }

  {
    const { child, server } = await start(dbPath);
    await using _child = child;
    await assertInHistory(server, tokens, acked);
    const seen = new Set(seenBefore);
    for (const sender of SENDERS) {
      const got = await receiveWaiting(server, tokens, sender);
      assertOrderedOnce(got, `the receiver's socket to ${sender} after restart`);
      for (const message of got) seen.add(message.messageId);
    }
    assertAllSeen(acked, seen);
    assert.equal((await child.stop("SIGTERM")).code, 0, child.output);
  }
  assert.equal(integrityCheck(dbPath), "ok");
});
