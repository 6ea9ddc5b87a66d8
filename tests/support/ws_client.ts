/** A real WebSocket client for tests: frames arrive in a queue that tests await with a timeout. */

/** A frame as the server sends it. */
export interface Frame {
  status: number;
  msg: string;
  body: Record<string, unknown>;
}

/** How a test client opens its socket. */
export interface ConnectOptions {
  readonly receipts?: boolean;
  readonly headers?: Record<string, string>;
  /** Offer the `chat.v2` subprotocol. */
  readonly v2?: boolean;
  /** Offer exactly these subprotocols (overrides `v2`). */
  readonly protocols?: string[];
}

/** Default time a test waits for an expected event. */
export const WAIT_MS = 5000;

/** A connected chat client. */
export class ChatClient {
  readonly socket: WebSocket;
  readonly frames: Frame[] = [];
  readonly raw: string[] = [];
  #cursor = 0;
  #waiters: (() => void)[] = [];
  #closed = Promise.withResolvers<CloseEvent>();
  #closeEvent: CloseEvent | null = null;

  private constructor(socket: WebSocket) {
    this.socket = socket;
    socket.onmessage = (event) => {
      this.raw.push(event.data as string);
      this.frames.push(JSON.parse(event.data as string));
      this.#wake();
    };
    socket.onclose = (event) => {
      this.#closeEvent = event;
      this.#closed.resolve(event);
      this.#wake();
    };
  }

  /** Why the connection failed, e.g. `... Invalid status code: 403`; null when it opened. */
  error: string | null = null;

  /**
   * Opens `/v1/chat/<peer>?token=<token>` (plus `&ack=1` in receipt mode) and resolves once open,
   * closed by the server, or refused. `v2: true` offers the `chat.v2` subprotocol.
   */
  static connect(
    wsUrl: string,
    peer: string,
    token: string | null,
    options: ConnectOptions = {},
  ): Promise<ChatClient> {
    const query = new URLSearchParams();
    if (token !== null) query.set("token", token);
    if (options.receipts) query.set("ack", "1");
    const search = query.size === 0 ? "" : `?${query}`;
    return ChatClient.#open(`${wsUrl}/v1/chat/${encodeURIComponent(peer)}${search}`, options);
  }

  /** Opens the inbox socket `/v1/inbox?token=<token>`, offering `chat.v2` unless told not to. */
  static connectInbox(
    wsUrl: string,
    token: string | null,
    options: ConnectOptions = { v2: true },
  ): Promise<ChatClient> {
    const search = token === null ? "" : `?${new URLSearchParams({ token })}`;
    return ChatClient.#open(`${wsUrl}/v1/inbox${search}`, options);
  }

  static async #open(url: string, options: ConnectOptions): Promise<ChatClient> {
    const protocols = options.protocols ?? (options.v2 ? ["chat.v2"] : undefined);
    // Deno's WebSocket takes extra headers (e.g. Origin) with the protocols as a second argument.
    const socket = options.headers === undefined
      ? new WebSocket(url, protocols)
      : new WebSocket(url, { headers: options.headers, protocols } as unknown as string[]);
    const client = new ChatClient(socket);
    const opened = Promise.withResolvers<void>();
    socket.onopen = () => opened.resolve();
    socket.onerror = (event) => {
      client.error = (event as ErrorEvent).message ?? "error";
      opened.resolve();
    };
    await withTimeout(opened.promise, `connect to ${url.replace(/token=[^&]*/, "token=…")}`);
    return client;
  }

  /** Sends a frame as JSON (v2 control frames, or anything a test needs). */
  sendJson(value: unknown): void {
    this.socket.send(JSON.stringify(value));
  }

  /** Sends a receipt for every message up to `messageId`. */
  ack(messageId: number): void {
    this.socket.send(JSON.stringify({ ack: messageId }));
  }

  /** Sends `{"msg": msg}` plus `id` when given. */
  sendMessage(msg: string, id?: string): void {
    this.socket.send(JSON.stringify(id === undefined ? { msg } : { msg, id }));
  }

  /** Resolves with the next frame not yet taken; fails after a timeout or on close. */
  async next(label = "next frame", ms = WAIT_MS): Promise<Frame> {
    while (this.#cursor >= this.frames.length) {
      if (this.#closeEvent !== null) {
        throw new Error(`${label}: socket closed (${this.#closeEvent.code}) before a frame came`);
      }
      await withTimeout(new Promise<void>((resolve) => this.#waiters.push(resolve)), label, ms);
    }
    return this.frames[this.#cursor++];
  }

  /** Takes frames until one matches; returns it. Frames skipped on the way are returned too. */
  async nextMatching(predicate: (frame: Frame) => boolean, label: string): Promise<Frame> {
    for (;;) {
      const frame = await this.next(label);
      if (predicate(frame)) return frame;
    }
  }

  /** Takes the next frame and checks its status. */
  async expect(status: number, label = `status ${status}`): Promise<Frame> {
    const frame = await this.next(label);
    if (frame.status !== status) {
      throw new Error(`${label}: expected status ${status}, got ${JSON.stringify(frame)}`);
    }
    return frame;
  }

  /** Frames received but not yet taken. */
  get pending(): Frame[] {
    return this.frames.slice(this.#cursor);
  }

  /** Resolves with the close event (the server closed, or the client did). */
  closed(label = "close"): Promise<CloseEvent> {
    return withTimeout(this.#closed.promise, label);
  }

  /** Closes from the client side and waits for the close to finish. */
  async close(): Promise<void> {
    if (this.#closeEvent === null) {
      this.socket.close(1000);
      await this.closed();
    }
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  }
}

/** Rejects when `promise` does not settle within `ms`. */
export function withTimeout<T>(promise: Promise<T>, label: string, ms = WAIT_MS): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`Timed out after ${ms} ms waiting for ${label}`)),
      ms,
    );
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
