/**
 * Floods a service of ours on loopback and reports what it cost the server: peak resident
 * memory (from `/proc/<pid>/status`), bytes sent before the server dropped the connection, the
 * time to drop, and the descriptors the server held afterwards. It starts the service itself
 * (`main.ts` as `deno task start` runs it, a temporary database, port 0), so it never touches
 * another host. Bounded: each flood stops at `--max-mib` or `--seconds`, whichever is first.
 *
 *   deno run -A tools/ws_flood.ts [--max-mib 2048] [--seconds 20] [--env KEY=VALUE ...]
 *
 * Scenarios: `refused` (bad token, then an endless fragmented message), `open` (a valid token,
 * the same), `replies` (tiny bad frames that each draw a 30004, and the client never reads).
 */
import { parseArgs } from "node:util";
import { encodeFrame, OPCODE, RawWebSocket } from "../tests/support/raw_ws.ts";

const MIB = 1024 * 1024;

interface Figures {
  readonly scenario: string;
  readonly sentMib: number;
  readonly dropped: boolean;
  readonly seconds: number;
  readonly peakRssMb: number;
  readonly rssAfterMb: number;
  readonly descriptorsAfter: number;
}

function rssMb(pid: number): number {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  const kb = Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1] ?? 0);
  return Math.round(kb / 1024);
}

function descriptors(pid: number): number {
  return [...Deno.readDirSync(`/proc/${pid}/fd`)].length;
}

/** Samples the server's memory every 20 ms while `run` goes; returns the peak in MB. */
async function peakWhile(pid: number, run: () => Promise<void>): Promise<number> {
  let peak = rssMb(pid);
  const timer = setInterval(() => peak = Math.max(peak, rssMb(pid)), 20);
  try {
    await run();
  } finally {
    clearInterval(timer);
  }
  return Math.max(peak, rssMb(pid));
}

/** Sends `frame` until the connection fails or a bound is reached; returns bytes sent. */
async function pump(socket: RawWebSocket, frame: Uint8Array, maxBytes: number, deadline: number) {
  let sent = 0;
  try {
    while (sent < maxBytes && performance.now() < deadline) {
      await socket.sendRaw(frame);
      sent += frame.byteLength;
    }
    return { sent, dropped: false };
  } catch {
    return { sent, dropped: true };
  }
}

async function flood(
  pid: number,
  scenario: string,
  open: () => Promise<RawWebSocket>,
  frame: Uint8Array,
  limits: { maxBytes: number; seconds: number },
): Promise<Figures> {
  const socket = await open();
  const started = performance.now();
  let result = { sent: 0, dropped: false };
  const peak = await peakWhile(pid, async () => {
    if (frame[0] === OPCODE.CONTINUATION) {
      await socket.sendFrame(OPCODE.TEXT, new TextEncoder().encode('{"msg":"'), { fin: false });
    }
    result = await pump(socket, frame, limits.maxBytes, started + limits.seconds * 1000);
  });
  const seconds = (performance.now() - started) / 1000;
  await socket.close();
  await new Promise((resolve) => setTimeout(resolve, 1500));
  return {
    scenario,
    sentMib: Math.round(result.sent / MIB),
    dropped: result.dropped,
    seconds: Math.round(seconds * 100) / 100,
    peakRssMb: peak,
    rssAfterMb: rssMb(pid),
    descriptorsAfter: descriptors(pid),
  };
}

async function startService(env: Record<string, string>) {
  const dir = await Deno.makeTempDir({ prefix: "ws-flood-" });
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-net", "--allow-env", "--allow-read", "--allow-write", "main.ts"],
    env: { PORT: "0", HOST: "127.0.0.1", DB_PATH: `${dir}/chat.db`, ...env },
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  let port = 0;
  while (port === 0) {
    const { value, done } = await lines.read();
    if (done) throw new Error(`The service ended: ${text}`);
    text += value;
    port = Number(/ listening .*port=(\d+)/.exec(text)?.[1] ?? 0);
  }
  // Keep reading so the service never blocks on a full pipe.
  (async () => {
    while (!(await lines.read()).done);
  })();
  return { child, port, dir };
}

async function token(port: number, username: string): Promise<string> {
  const post = (path: string) =>
    fetch(`http://127.0.0.1:${port}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ username, password: "password123" }),
    }).then((response) => response.json());
  await post("/v1/user");
  return (await post("/v1/user/token")).body.token;
}

async function main() {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      "max-mib": { type: "string", default: "2048" },
      seconds: { type: "string", default: "20" },
      env: { type: "string", multiple: true, default: [] },
    },
  });
  const env = Object.fromEntries(values.env.map((pair) => pair.split("=", 2)));
  const limits = { maxBytes: Number(values["max-mib"]) * MIB, seconds: Number(values.seconds) };
  const { child, port, dir } = await startService(env);
  try {
    const tom = await token(port, "Tom");
    await token(port, "Jack");
    const url = (auth: string) => `ws://127.0.0.1:${port}/v1/chat/Jack?token=${auth}`;
    const fragment = encodeFrame(OPCODE.CONTINUATION, new Uint8Array(MIB), { fin: false });
    const reply = encodeFrame(OPCODE.TEXT, new TextEncoder().encode('{"id":"x","msg":""}'));
    const replies = new Uint8Array(reply.byteLength * 1000);
    for (let i = 0; i < 1000; i++) replies.set(reply, i * reply.byteLength);
    const results = [
      await flood(child.pid, "refused", () => RawWebSocket.connect(url("bad")), fragment, limits),
      await flood(child.pid, "open", () => RawWebSocket.connect(url(tom)), fragment, limits),
      await flood(child.pid, "replies", () => RawWebSocket.connect(url(tom)), replies, {
        ...limits,
        maxBytes: Math.min(limits.maxBytes, 20 * MIB),
      }),
    ];
    const health = await fetch(`http://127.0.0.1:${port}/healthz`);
    await health.body?.cancel();
    console.table(results);
    console.log(`server alive: ${health.status === 200}, idle RSS ${rssMb(child.pid)} MB`);
  } finally {
    child.kill("SIGTERM");
    await child.status;
    await Deno.remove(dir, { recursive: true });
  }
}

if (import.meta.main) await main();
