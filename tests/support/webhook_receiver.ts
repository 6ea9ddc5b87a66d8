/**
 * The test app backend's webhook endpoint: a real HTTP server that verifies each request as the
 * README tells an app to (`Chat-Signature` over the raw body with the shared secret, timestamps
 * older than 5 minutes refused) and keeps the events it accepted, once per `Chat-Event-Id`. It
 * can answer 500, hang, or be stopped and started again on the same port (downtime).
 */
import { signingKey, verifySignature } from "../../lib/webhooks/signature.ts";
import { DEFAULT_TIMEOUT_MS, withTimeout } from "./wait.ts";

/** An event as the receiver accepted it. */
export interface ReceivedEvent {
  readonly id: string;
  readonly type: string;
  readonly created_at: string;
  readonly data: Record<string, unknown>;
}

/** How the receiver answers. */
export type ReceiverMode = "ok" | "fail" | "hang";

/** A webhook endpoint of the test app. */
export class WebhookReceiver {
  /** Accepted events in arrival order, each id once. */
  readonly events: ReceivedEvent[] = [];
  /** Every request, with the status it got. */
  readonly requests: { eventId: string | null; status: number }[] = [];
  /** How many times an already accepted event came again. */
  duplicates = 0;
  mode: ReceiverMode = "ok";
  readonly #secret: string;
  #key: CryptoKey | null = null;
  #server: Deno.HttpServer<Deno.NetAddr> | null = null;
  #port = 0;
  #waiters: (() => void)[] = [];
  #hanging: (() => void)[] = [];

  constructor(secret: string) {
    this.#secret = secret;
  }

  /** The URL to give `WEBHOOK_URL`; fixed from the first start on. */
  get url(): string {
    return `http://127.0.0.1:${this.#port}/chat/webhooks`;
  }

  /** Reserves a free port without listening: the app is down until `start()`. */
  async reservePort(): Promise<void> {
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    this.#port = (listener.addr as Deno.NetAddr).port;
    listener.close();
    this.#key ??= await signingKey(this.#secret);
  }

  /** Listens (again) on its port. */
  async start(): Promise<void> {
    this.#key ??= await signingKey(this.#secret);
    const listening = Promise.withResolvers<void>();
    this.#server = Deno.serve({
      port: this.#port,
      hostname: "127.0.0.1",
      onListen: (addr) => {
        this.#port = addr.port;
        listening.resolve();
      },
    }, (request) => this.#handle(request));
    await listening.promise;
  }

  /** Stops listening (the app is down). */
  async stop(): Promise<void> {
    for (const release of this.#hanging.splice(0)) release();
    await this.#server?.shutdown();
    this.#server = null;
  }

  /** Resolves once `predicate` holds for the events accepted so far. */
  async waitFor(
    predicate: (events: readonly ReceivedEvent[]) => boolean,
    what: string,
    ms = DEFAULT_TIMEOUT_MS * 15,
  ): Promise<void> {
    const check = async () => {
      while (!predicate(this.events)) {
        await new Promise<void>((resolve) => this.#waiters.push(resolve));
      }
    };
    await withTimeout(
      check(),
      `${what} (got ${JSON.stringify(this.events.map((e) => e.type))})`,
      ms,
    );
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }

  async #handle(request: Request): Promise<Response> {
    const eventId = request.headers.get("chat-event-id");
    const status = await this.#answer(request, eventId);
    this.requests.push({ eventId, status });
    for (const wake of this.#waiters.splice(0)) wake();
    return new Response(null, { status });
  }

  async #answer(request: Request, eventId: string | null): Promise<number> {
    if (request.method !== "POST") return 405;
    // The raw body, exactly as signed: parse only after verifying.
    const raw = await request.text();
    const now = Math.floor(Date.now() / 1000);
    const signature = request.headers.get("chat-signature");
    if (!(await verifySignature(this.#key!, signature, raw, now, 300))) return 401;
    if (this.mode === "fail") return 500;
    if (this.mode === "hang") {
      await new Promise<void>((resolve) => this.#hanging.push(resolve));
      return 503;
    }
    const event = JSON.parse(raw) as ReceivedEvent;
    if (event.id !== eventId) return 400;
    if (this.events.some((seen) => seen.id === event.id)) this.duplicates++;
    else this.events.push(event);
    return 204;
  }
}
