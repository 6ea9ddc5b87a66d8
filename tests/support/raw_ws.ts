/**
 * A minimal WebSocket client straight over TCP, for tests that need what a browser WebSocket
 * cannot do: send text frames holding any bytes (invalid UTF-8 included) or broken frames, see
 * the HTTP answer to a refused upgrade (403, 429, 503), and stop reading so the server's send
 * buffer fills up, then read what is still in flight. Nothing is read unless the test asks.
 */
import { withTimeout } from "./wait.ts";

/** Frame opcodes (RFC 6455 section 5.2). */
export const OPCODE = {
  CONTINUATION: 0x0,
  TEXT: 0x1,
  BINARY: 0x2,
  CLOSE: 0x8,
  PING: 0x9,
  PONG: 0xa,
} as const;

/** How long a read waits by default before failing. */
export const RAW_WAIT_MS = 5000;

/** A frame as it came off the wire, payload unmasked. */
export interface RawFrame {
  readonly fin: boolean;
  readonly opcode: number;
  readonly payload: Uint8Array;
}

/** A server frame parsed as the chat protocol's JSON `{"status", "msg", "body"}`. */
export interface JsonFrame {
  readonly status: number;
  readonly msg: string;
  readonly body: Record<string, unknown>;
}

/** Options of a connection. */
export interface RawConnectOptions {
  /** Extra request headers; a `null` value leaves out one of the default upgrade headers. */
  readonly headers?: Readonly<Record<string, string | null>>;
  /** The request method; `GET` by default. */
  readonly method?: string;
  /** How long to wait for the HTTP answer. */
  readonly timeoutMs?: number;
}

/** Options of an outgoing frame. */
export interface SendFrameOptions {
  /** The FIN bit; true by default. */
  readonly fin?: boolean;
  /** Mask the payload as a client must; true by default. */
  readonly mask?: boolean;
  /** The three RSV bits, as a number 0 to 7; 0 by default. */
  readonly rsv?: number;
}

const encoder = new TextEncoder();

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.byteLength === 0) return b;
  const joined = new Uint8Array(a.byteLength + b.byteLength);
  joined.set(a, 0);
  joined.set(b, a.byteLength);
  return joined;
}

function indexOfBlankLine(bytes: Uint8Array): number {
  for (let i = 0; i + 3 < bytes.byteLength; i++) {
    if (bytes[i] === 13 && bytes[i + 1] === 10 && bytes[i + 2] === 13 && bytes[i + 3] === 10) {
      return i;
    }
  }
  return -1;
}

/** Encodes one client frame: header, optional mask key, (masked) payload. */
export function encodeFrame(
  opcode: number,
  payload: Uint8Array,
  options: SendFrameOptions = {},
): Uint8Array {
  const { fin = true, mask = true, rsv = 0 } = options;
  const length = payload.byteLength;
  const extended = length < 126 ? 0 : length < 65536 ? 2 : 8;
  const header = new Uint8Array(2 + extended + (mask ? 4 : 0));
  header[0] = (fin ? 0x80 : 0) | ((rsv & 7) << 4) | (opcode & 0x0f);
  const view = new DataView(header.buffer);
  if (extended === 0) header[1] = length;
  else if (extended === 2) {
    header[1] = 126;
    view.setUint16(2, length);
  } else {
    header[1] = 127;
    view.setBigUint64(2, BigInt(length));
  }
  const body = new Uint8Array(payload);
  if (mask) {
    header[1] |= 0x80;
    const key = crypto.getRandomValues(new Uint8Array(4));
    header.set(key, 2 + extended);
    for (let i = 0; i < body.byteLength; i++) body[i] ^= key[i & 3];
  }
  return concat(header, body);
}

/** A WebSocket client on a raw TCP connection; dispose it to close the connection. */
export class RawWebSocket implements AsyncDisposable {
  /** The HTTP status of the upgrade answer: 101 when upgraded. */
  readonly status: number;
  /** The whole status line, e.g. `HTTP/1.1 101 Switching Protocols`. */
  readonly statusLine: string;
  /** The answer's headers. */
  readonly headers: Headers;
  /** The answer's body when the upgrade was refused (read up to its `content-length`). */
  readonly body: string;
  /** The code of the close frame received, once one came (`1005` when it carried none). */
  closeCode: number | null = null;
  /** Whether the server ended the TCP stream. */
  eof = false;
  readonly #conn: Deno.TcpConn;
  #buffer: Uint8Array;
  // A frame read that outlived a timeout; the next read takes it over, so no data is lost.
  #frameRead: Promise<RawFrame | null> | null = null;
  #closed = false;

  private constructor(
    conn: Deno.TcpConn,
    statusLine: string,
    headers: Headers,
    body: string,
    rest: Uint8Array,
  ) {
    this.#conn = conn;
    this.statusLine = statusLine;
    this.status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1] ?? 0);
    this.headers = headers;
    this.body = body;
    this.#buffer = rest;
  }

  /**
   * Connects to `url` (`ws://host:port/path?query`), sends the upgrade request and reads the
   * answer's head. Resolves whatever the status; check `status` (101 when upgraded).
   */
  static async connect(url: string | URL, options: RawConnectOptions = {}): Promise<RawWebSocket> {
    const target = new URL(url);
    const port = Number(target.port || (target.protocol === "wss:" ? 443 : 80));
    const conn = await Deno.connect({ hostname: target.hostname, port });
    try {
      const key = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(16))));
      const fields: Record<string, string | null> = {
        host: target.host,
        upgrade: "websocket",
        connection: "Upgrade",
        "sec-websocket-key": key,
        "sec-websocket-version": "13",
      };
      for (const [name, value] of Object.entries(options.headers ?? {})) {
        fields[name.toLowerCase()] = value;
      }
      let request = `${options.method ?? "GET"} ${target.pathname}${target.search} HTTP/1.1\r\n`;
      for (const [name, value] of Object.entries(fields)) {
        if (value !== null) request += `${name}: ${value}\r\n`;
      }
      await writeAll(conn, encoder.encode(request + "\r\n"));
      return await withTimeout(
        RawWebSocket.#readAnswer(conn),
        `the answer to the upgrade of ${target.pathname}`,
        options.timeoutMs ?? RAW_WAIT_MS,
      );
    } catch (error) {
      conn.close();
      throw error;
    }
  }

  static async #readAnswer(conn: Deno.TcpConn): Promise<RawWebSocket> {
    let bytes: Uint8Array = new Uint8Array();
    let end = -1;
    while ((end = indexOfBlankLine(bytes)) < 0) {
      const chunk = await readChunk(conn);
      if (chunk === null) throw new Error("The server closed the connection before answering");
      bytes = concat(bytes, chunk);
    }
    const [statusLine, ...lines] = new TextDecoder().decode(bytes.subarray(0, end)).split("\r\n");
    const headers = new Headers();
    for (const line of lines) {
      const colon = line.indexOf(":");
      if (colon > 0) headers.append(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
    }
    let rest = bytes.subarray(end + 4);
    let body = "";
    if (!/^HTTP\/1\.[01] 101 /.test(statusLine)) {
      // A refused upgrade: read the body the answer declares.
      const length = Number(headers.get("content-length") ?? "0");
      while (rest.byteLength < length) {
        const chunk = await readChunk(conn);
        if (chunk === null) break;
        rest = concat(rest, chunk);
      }
      body = new TextDecoder().decode(rest.subarray(0, length));
      rest = rest.subarray(length);
    }
    return new RawWebSocket(conn, statusLine, headers, body, rest);
  }

  /** Whether the server switched protocols. */
  get upgraded(): boolean {
    return this.status === 101;
  }

  /** The refused answer's body parsed as JSON. */
  json(): JsonFrame {
    return JSON.parse(this.body);
  }

  // --- sending ---

  /** Sends one frame of any opcode and payload. */
  sendFrame(opcode: number, payload: Uint8Array, options?: SendFrameOptions): Promise<void> {
    return writeAll(this.#conn, encodeFrame(opcode, payload, options));
  }

  /** Sends a text frame; bytes are sent as they are, even when they are not UTF-8. */
  sendText(payload: string | Uint8Array): Promise<void> {
    return this.sendFrame(
      OPCODE.TEXT,
      typeof payload === "string" ? encoder.encode(payload) : payload,
    );
  }

  /** Sends a text frame holding `value` as JSON. */
  sendJson(value: unknown): Promise<void> {
    return this.sendText(JSON.stringify(value));
  }

  /** Sends a binary frame. */
  sendBinary(payload: Uint8Array): Promise<void> {
    return this.sendFrame(OPCODE.BINARY, payload);
  }

  /** Sends a close frame with `code` (and `reason`), or an empty one without a code. */
  sendClose(code?: number, reason = ""): Promise<void> {
    if (code === undefined) return this.sendFrame(OPCODE.CLOSE, new Uint8Array());
    const text = encoder.encode(reason);
    const payload = new Uint8Array(2 + text.byteLength);
    new DataView(payload.buffer).setUint16(0, code);
    payload.set(text, 2);
    return this.sendFrame(OPCODE.CLOSE, payload);
  }

  /** Writes bytes as they are, framed or not. */
  sendRaw(bytes: Uint8Array): Promise<void> {
    return writeAll(this.#conn, bytes);
  }

  /** Ends the sending side (TCP half-close); the server sees end of stream. */
  async closeWrite(): Promise<void> {
    await this.#conn.closeWrite();
  }

  // --- receiving ---

  /**
   * The next frame off the wire, or `null` at end of stream. Pings are answered with pongs and
   * returned like any frame. Fails after `timeoutMs`.
   */
  nextFrame(timeoutMs = RAW_WAIT_MS): Promise<RawFrame | null> {
    if (this.#frameRead === null) {
      const read = this.#readFrame().finally(() => {
        if (this.#frameRead === read) this.#frameRead = null;
      });
      // Handled here too, so a read failing after its caller timed out is not unhandled.
      read.catch(() => {});
      this.#frameRead = read;
    }
    return withTimeout(this.#frameRead, "a frame from the server", timeoutMs);
  }

  /**
   * The next text message as a string, its fragments joined; skips pings and pongs (answering
   * pings). `null` when a close frame (see `closeCode`) or the end of the stream comes first.
   */
  async nextText(timeoutMs = RAW_WAIT_MS): Promise<string | null> {
    const deadline = performance.now() + timeoutMs;
    let message: Uint8Array | null = null;
    for (;;) {
      const frame = await this.nextFrame(Math.max(1, deadline - performance.now()));
      if (frame === null || frame.opcode === OPCODE.CLOSE) return null;
      if (frame.opcode === OPCODE.PING || frame.opcode === OPCODE.PONG) continue;
      const starts = message === null && frame.opcode === OPCODE.TEXT;
      const continues = message !== null && frame.opcode === OPCODE.CONTINUATION;
      if (!starts && !continues) {
        throw new Error(`Expected a text frame, got opcode ${frame.opcode}`);
      }
      message = concat(message ?? new Uint8Array(), frame.payload);
      if (frame.fin) return new TextDecoder().decode(message);
    }
  }

  /** The next text frame parsed as JSON; fails when the socket closes first. */
  async nextJson(timeoutMs = RAW_WAIT_MS): Promise<JsonFrame> {
    const text = await this.nextText(timeoutMs);
    if (text === null) {
      throw new Error(`The socket closed (${this.closeCode ?? "no close frame"}) before a frame`);
    }
    return JSON.parse(text);
  }

  /**
   * Reads every frame still coming until a close frame or the end of the stream, whichever is
   * first. For a reader that stopped reading and now takes what was left in flight.
   */
  async readUntilClosed(timeoutMs = RAW_WAIT_MS): Promise<RawFrame[]> {
    const frames: RawFrame[] = [];
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const frame = await this.nextFrame(Math.max(1, deadline - performance.now()));
      if (frame === null) return frames;
      frames.push(frame);
      if (frame.opcode === OPCODE.CLOSE) return frames;
    }
  }

  /**
   * The closing handshake: sends a close frame (echoing the server's code when it closed
   * first), reads until the server's close frame or the end of the stream, then closes.
   */
  async closeGracefully(code = 1000, timeoutMs = RAW_WAIT_MS): Promise<void> {
    if (this.#closed) return;
    try {
      const echo = this.closeCode ?? code;
      // 1005 means "no code": echoed as a close frame without one.
      if (!this.eof) await this.sendClose(echo === 1005 ? undefined : echo).catch(() => {});
      if (this.closeCode === null && !this.eof) await this.readUntilClosed(timeoutMs);
    } finally {
      await this.close();
    }
  }

  /** Closes the TCP connection (no closing handshake); safe to call twice. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#conn.close();
    } catch {
      // Already closed by the other side's reset.
    }
    // A read cut short by the close settles now; its error is expected.
    await this.#frameRead?.catch(() => null);
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  async #readFrame(): Promise<RawFrame | null> {
    if (!(await this.#fill(2))) return null;
    const first = this.#buffer[0];
    const second = this.#buffer[1];
    let length = second & 0x7f;
    let offset = 2;
    if (length === 126) {
      if (!(await this.#fill(4))) return null;
      length = new DataView(this.#buffer.buffer, this.#buffer.byteOffset).getUint16(2);
      offset = 4;
    } else if (length === 127) {
      if (!(await this.#fill(10))) return null;
      length = Number(new DataView(this.#buffer.buffer, this.#buffer.byteOffset).getBigUint64(2));
      offset = 10;
    }
    const masked = (second & 0x80) !== 0;
    const keyOffset = offset;
    if (masked) offset += 4;
    if (!(await this.#fill(offset + length))) return null;
    const payload = this.#buffer.slice(offset, offset + length);
    if (masked) {
      const key = this.#buffer.slice(keyOffset, keyOffset + 4);
      for (let i = 0; i < payload.byteLength; i++) payload[i] ^= key[i & 3];
    }
    this.#buffer = this.#buffer.subarray(offset + length);
    const frame = { fin: (first & 0x80) !== 0, opcode: first & 0x0f, payload };
    if (frame.opcode === OPCODE.CLOSE) {
      this.closeCode = payload.byteLength >= 2
        ? new DataView(payload.buffer, payload.byteOffset).getUint16(0)
        : 1005;
    } else if (frame.opcode === OPCODE.PING && !this.#closed) {
      await this.sendFrame(OPCODE.PONG, payload).catch(() => {});
    }
    return frame;
  }

  /** Reads until `count` bytes are buffered; `false` at end of stream. */
  async #fill(count: number): Promise<boolean> {
    while (this.#buffer.byteLength < count) {
      if (this.eof) return false;
      const chunk = await readChunk(this.#conn);
      if (chunk === null) {
        this.eof = true;
        return false;
      }
      this.#buffer = concat(this.#buffer, chunk);
    }
    return true;
  }
}

/** Opens a chat socket `/v1/chat/<peer>?token=<token>`, with `&ack=1` when `receipts` is set. */
export function connectChat(
  wsUrl: string,
  peer: string,
  token: string,
  options: { receipts?: boolean } & RawConnectOptions = {},
): Promise<RawWebSocket> {
  const query = new URLSearchParams({ token });
  if (options.receipts) query.set("ack", "1");
  return RawWebSocket.connect(`${wsUrl}/v1/chat/${encodeURIComponent(peer)}?${query}`, options);
}

async function readChunk(conn: Deno.TcpConn): Promise<Uint8Array | null> {
  const chunk = new Uint8Array(64 * 1024);
  let count: number | null;
  try {
    count = await conn.read(chunk);
  } catch (error) {
    // A reset from the server ends the stream like a close does.
    if (
      error instanceof Deno.errors.ConnectionReset || error instanceof Deno.errors.ConnectionAborted
    ) return null;
    throw error;
  }
  return count === null ? null : chunk.subarray(0, count);
}

async function writeAll(conn: Deno.TcpConn, bytes: Uint8Array): Promise<void> {
  let written = 0;
  while (written < bytes.byteLength) written += await conn.write(bytes.subarray(written));
}
