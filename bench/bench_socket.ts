/**
 * The load generator's client sockets. Two implementations of one small contract:
 *
 * - `raw` (default): a minimal RFC 6455 client on `Deno.connect`. It reads whatever bytes are
 *   there and parses every frame in them at once, and writes all frames queued in one turn of
 *   the event loop with one `write`, so one generator core can drive a server core that does the
 *   same work per message.
 * - `websocket`: Deno's own `WebSocket`, one event per frame; simpler, and a cross-check that
 *   the raw client measures the same thing, but it costs the generator about as much CPU per
 *   frame as the server spends, so it cannot saturate a fast server from one core.
 */

/** Which client implementation to use. */
export type ClientKind = "raw" | "websocket";

/** What a socket reports. */
export interface BenchSocketHandlers {
  onopen(): void;
  onmessage(text: string): void;
  /** Called once, however the socket ends; `code` 1006 when there was no close frame. */
  onclose(code: number, reason: string): void;
}

/** A client socket of the generator. */
export interface BenchSocket {
  /** Whether frames can be sent now. */
  readonly isOpen: boolean;
  send(text: string): void;
  close(code: number, reason: string): void;
}

/** Opens `url` (`ws://host:port/path?query`) with the chosen implementation. */
export function openBenchSocket(
  kind: ClientKind,
  url: string,
  handlers: BenchSocketHandlers,
): BenchSocket {
  return kind === "raw" ? new RawSocket(new URL(url), handlers) : webSocket(url, handlers);
}

function webSocket(url: string, handlers: BenchSocketHandlers): BenchSocket {
  const ws = new WebSocket(url);
  ws.onopen = () => handlers.onopen();
  ws.onmessage = (event: MessageEvent<string>) => handlers.onmessage(event.data);
  ws.onerror = () => {}; // Always followed by close.
  ws.onclose = (event) => handlers.onclose(event.code, event.reason);
  return {
    get isOpen() {
      return ws.readyState === WebSocket.OPEN;
    },
    send: (text) => ws.send(text),
    close: (code, reason) => {
      if (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING) {
        ws.close(code, reason);
      }
    },
  };
}

import { RFC_CLOSE_CODE } from "../lib/protocol/status.ts";

const OPCODE = { CONTINUATION: 0, TEXT: 1, BINARY: 2, CLOSE: 8, PING: 9, PONG: 10 } as const;
const HEADER_END = [13, 10, 13, 10];
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * A WebSocket client over TCP. Frames are masked with an all-zero key: valid framing that the
 * server unmasks with the same work as any other key, without a per-byte XOR here. Only for
 * loopback benchmarks; a real client must use random keys.
 */
class RawSocket implements BenchSocket {
  readonly #handlers: BenchSocketHandlers;
  #conn: Deno.TcpConn | null = null;
  #state: "connecting" | "open" | "closing" | "closed" = "connecting";
  // Incoming bytes not parsed yet: #in[#start, #end).
  #in = new Uint8Array(64 * 1024);
  #start = 0;
  #end = 0;
  #fragments: Uint8Array[] = [];
  // Outgoing frames of this turn: #out[0, #outLength).
  #out = new Uint8Array(16 * 1024);
  #outLength = 0;
  #flushQueued = false;
  #writing = false;
  #closeSent = false;
  #closeCode: number = RFC_CLOSE_CODE.ABNORMAL;
  #closeReason = "";

  constructor(url: URL, handlers: BenchSocketHandlers) {
    this.#handlers = handlers;
    this.#run(url).catch(() => {}).finally(() => this.#finish());
  }

  get isOpen(): boolean {
    return this.#state === "open";
  }

  send(text: string): void {
    if (this.#state !== "open") return;
    this.#queueFrame(0x80 | OPCODE.TEXT, text);
  }

  close(code: number, reason: string): void {
    if (this.#state === "connecting") {
      this.#state = "closing";
      this.#closeConn();
      return;
    }
    if (this.#state !== "open") return;
    this.#state = "closing";
    this.#sendClose(code, reason);
  }

  async #run(url: URL): Promise<void> {
    const conn = await Deno.connect({ hostname: url.hostname, port: Number(url.port || 80) });
    this.#conn = conn;
    conn.setNoDelay(true);
    if (this.#state !== "connecting") return;
    const key = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(16))));
    await writeAll(
      conn,
      encoder.encode(
        `GET ${url.pathname}${url.search} HTTP/1.1\r\nHost: ${url.host}\r\n` +
          `Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\n` +
          `Sec-WebSocket-Version: 13\r\n\r\n`,
      ),
    );
    for (;;) {
      if (this.#end === this.#in.length) this.#makeRoom();
      const n = await conn.read(this.#in.subarray(this.#end));
      if (n === null) return;
      this.#end += n;
      if (this.#state === "connecting" && !this.#handshake()) {
        if (this.#ended()) return;
        continue;
      }
      this.#parseFrames();
      if (this.#ended()) return;
    }
  }

  // A method, so that TypeScript does not narrow #state across the calls that change it.
  #ended(): boolean {
    return this.#state === "closed";
  }

  /** Consumes the HTTP answer once complete; `false` while more bytes are needed. */
  #handshake(): boolean {
    const at = indexOf(this.#in, HEADER_END, this.#start, this.#end);
    if (at < 0) return false;
    const head = decoder.decode(this.#in.subarray(this.#start, at));
    this.#start = at + 4;
    if (!/^HTTP\/1\.1 101 /.test(head)) {
      this.#closeReason = head.split("\r\n")[0];
      this.#state = "closed";
      this.#closeConn();
      return false;
    }
    this.#state = "open";
    this.#handlers.onopen();
    return true;
  }

  #parseFrames(): void {
    const buf = this.#in;
    while (this.#state !== "closed") {
      const available = this.#end - this.#start;
      if (available < 2) break;
      const b0 = buf[this.#start];
      const b1 = buf[this.#start + 1];
      let length = b1 & 0x7f;
      let offset = 2;
      if (length === 126) {
        if (available < 4) break;
        length = (buf[this.#start + 2] << 8) | buf[this.#start + 3];
        offset = 4;
      } else if (length === 127) {
        if (available < 10) break;
        length = Number(
          new DataView(buf.buffer, buf.byteOffset + this.#start + 2, 8).getBigUint64(0),
        );
        offset = 10;
      }
      if (available < offset + length) {
        if (offset + length > buf.length) this.#makeRoom(offset + length);
        break;
      }
      const payload = buf.subarray(this.#start + offset, this.#start + offset + length);
      this.#start += offset + length;
      this.#frame(b0 & 0x80, b0 & 0x0f, payload);
    }
    if (this.#start === this.#end) this.#start = this.#end = 0;
  }

  #frame(fin: number, opcode: number, payload: Uint8Array): void {
    switch (opcode) {
      case OPCODE.TEXT:
      case OPCODE.CONTINUATION:
        if (fin && this.#fragments.length === 0) {
          if (this.#state === "open") this.#handlers.onmessage(decoder.decode(payload));
          return;
        }
        this.#fragments.push(payload.slice());
        if (fin) {
          const whole = new Uint8Array(this.#fragments.reduce((sum, f) => sum + f.length, 0));
          let at = 0;
          for (const fragment of this.#fragments) {
            whole.set(fragment, at);
            at += fragment.length;
          }
          this.#fragments = [];
          if (this.#state === "open") this.#handlers.onmessage(decoder.decode(whole));
        }
        return;
      case OPCODE.PING:
        this.#queueFrame(0x80 | OPCODE.PONG, payload.slice());
        return;
      case OPCODE.CLOSE: {
        this.#closeCode = payload.length >= 2
          ? (payload[0] << 8) | payload[1]
          : RFC_CLOSE_CODE.NO_STATUS;
        this.#closeReason = decoder.decode(payload.subarray(2));
        if (!this.#closeSent) this.#sendClose(this.#closeCode, "");
        this.#state = "closing";
        return;
      }
      default:
        return; // Pong and binary frames are not used by the chat protocol's server side.
    }
  }

  #sendClose(code: number, reason: string): void {
    this.#closeSent = true;
    const body = encoder.encode(`..${reason}`);
    body[0] = code >> 8;
    body[1] = code & 0xff;
    this.#queueFrame(0x80 | OPCODE.CLOSE, body);
  }

  #queueFrame(first: number, payload: string | Uint8Array): void {
    // Header: 2 bytes, a 2-byte extended length up to 65535, then the 4-byte (zero) mask key.
    const most = typeof payload === "string" ? payload.length * 3 : payload.length;
    this.#reserve(most + 14);
    const out = this.#out;
    const at = this.#outLength;
    let length: number;
    if (typeof payload === "string" && most <= 0xffff) {
      length = encoder.encodeInto(payload, out.subarray(at + 8)).written;
    } else {
      const bytes = typeof payload === "string" ? encoder.encode(payload) : payload;
      length = bytes.length;
      out.set(bytes, at + 14);
      if (length > 0xffff) {
        out[at] = first;
        out[at + 1] = 0x80 | 127;
        new DataView(out.buffer, out.byteOffset + at + 2, 8).setBigUint64(0, BigInt(length));
        out.fill(0, at + 10, at + 14);
        this.#outLength = at + 14 + length;
        this.#scheduleFlush();
        return;
      }
      out.copyWithin(at + 8, at + 14, at + 14 + length);
    }
    if (length < 126) {
      // Short frame: a 6-byte header, so the payload moves two bytes back.
      out.copyWithin(at + 6, at + 8, at + 8 + length);
      out[at] = first;
      out[at + 1] = 0x80 | length;
      out.fill(0, at + 2, at + 6);
      this.#outLength = at + 6 + length;
    } else {
      out[at] = first;
      out[at + 1] = 0x80 | 126;
      out[at + 2] = length >> 8;
      out[at + 3] = length & 0xff;
      out.fill(0, at + 4, at + 8);
      this.#outLength = at + 8 + length;
    }
    this.#scheduleFlush();
  }

  #reserve(bytes: number): void {
    if (this.#outLength + bytes <= this.#out.length) return;
    const bigger = new Uint8Array(Math.max(this.#out.length * 2, this.#outLength + bytes));
    bigger.set(this.#out.subarray(0, this.#outLength));
    this.#out = bigger;
  }

  #scheduleFlush(): void {
    if (this.#flushQueued) return;
    this.#flushQueued = true;
    queueMicrotask(() => {
      this.#flushQueued = false;
      this.#flush();
    });
  }

  async #flush(): Promise<void> {
    // One write at a time; frames queued meanwhile go out with the next one.
    if (this.#writing || this.#conn === null) return;
    this.#writing = true;
    try {
      while (this.#outLength > 0) {
        const chunk = this.#out.slice(0, this.#outLength);
        this.#outLength = 0;
        await writeAll(this.#conn, chunk);
      }
      if (
        this.#closeSent && this.#state === "closing" && this.#closeCode !== RFC_CLOSE_CODE.ABNORMAL
      ) {
        // Both close frames exchanged: the TCP connection can go.
        this.#closeConn();
      }
    } catch {
      this.#closeConn();
    } finally {
      this.#writing = false;
    }
  }

  #makeRoom(needed = this.#in.length): void {
    const live = this.#end - this.#start;
    const size = Math.max(this.#in.length, needed, live * 2);
    const target = size > this.#in.length ? new Uint8Array(size) : this.#in;
    target.set(this.#in.subarray(this.#start, this.#end), 0);
    this.#in = target;
    this.#start = 0;
    this.#end = live;
  }

  // Runs once, when the read loop has ended for whatever reason.
  #finish(): void {
    this.#state = "closed";
    this.#closeConn();
    this.#handlers.onclose(this.#closeCode, this.#closeReason);
  }

  #closeConn(): void {
    try {
      this.#conn?.close();
    } catch { /* already closed */ }
  }
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let offset = 0;
  while (offset < bytes.length) offset += await conn.write(bytes.subarray(offset));
}

function indexOf(buf: Uint8Array, needle: readonly number[], from: number, to: number): number {
  outer: for (let i = from; i <= to - needle.length; i++) {
    for (let j = 0; j < needle.length; j++) if (buf[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}
