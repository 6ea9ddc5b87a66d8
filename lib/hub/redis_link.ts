/**
 * One node's link to Redis, apart from what the hub does with it: two connections (commands,
 * and the subscription to this node's channel and the every-node channel), the node's
 * registration and heartbeat, reaping the nodes whose heartbeat expired, recovery after an
 * outage, the probe that shows the subscription delivers again, the Lua script runner, and
 * command time-outs. It knows nothing of endpoints: it hands the events it hears to its
 * listener, and tells it when the node's presence in Redis is gone.
 *
 * - Every node refreshes a heartbeat key every PRESENCE_TTL / 3 and reaps the entries of
 *   nodes whose heartbeat expired, telling the peers of their users 30099 (and, first, to catch
 *   up from storage on what the dead node may have stored without publishing). So a node killed
 *   with -9 leaves its users online for at most PRESENCE_TTL + PRESENCE_TTL / 3.
 * - A command that Redis does not answer within a beat (at least 1 s) counts as no answer.
 * - When Redis cannot be reached, or other nodes took this one for dead, the link is "down"
 *   and its listener must drop every endpoint; once both connections are up it clears the
 *   node's stale entries, checks that its subscription delivers, registers again and is
 *   "ready".
 */
import { createClient } from "npm:@redis/client@1.6.1";
import { errorMessage, type Logger } from "../log.ts";
import {
  decodeEvent,
  encodeEvent,
  type EndpointEvent,
  type EraseEvent,
  HUB_EVENT,
  type ProbeEvent,
  type RevokeEvent,
} from "./redis_events.ts";
import * as scripts from "./redis_scripts.ts";

/** Options of the link; the Redis hub's, passed from `Config` by `main.ts`. */
export interface RedisLinkOptions {
  /** `redis://[user:password@]host:port[/db]`. */
  readonly url: string;
  /** Prefix of every key and channel; nodes of one cluster share it. */
  readonly prefix: string;
  /**
   * How long a node's presence outlives its last heartbeat, in ms. The node beats every third
   * of it, and a Redis command that takes as long as a beat (at least 1 s) counts as no answer.
   */
  readonly presenceTtlMs: number;
  readonly log: Logger;
}

/** What the link tells the hub. */
export interface LinkListener {
  /** An event another node published to this node's channel or to every node. */
  heard(event: EndpointEvent): void;
  /**
   * This node's presence in Redis is gone (Redis unreachable, or the node taken for dead):
   * every local endpoint must go. The link is not `ready` until it has registered again.
   */
  lost(reason: string): void;
  /** Reaping (a dead node's entries, or this node's own) left these users with no endpoint. */
  usersOffline(userIds: readonly number[]): void;
}

/**
 * `ready`: registered, joins may go ahead. `down`: Redis unreachable or the registration lost.
 * `recovering`: connected again, registering anew. `closed`: stopped.
 */
export type LinkState = "ready" | "down" | "recovering" | "closed";

/** The name of one of the hub's Lua scripts. */
export type ScriptName = keyof typeof scripts;

type RedisClient = ReturnType<typeof createClient>;

// How long connecting to Redis may take.
const CONNECT_TIMEOUT_MS = 5000;

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Redis did not answer ${what} in ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** A node's two connections to Redis, its registration and its heartbeat. */
export class RedisLink {
  /** This node's id, unique in the cluster. */
  readonly nodeId = crypto.randomUUID().replaceAll("-", "").slice(0, 16);
  readonly #prefix: string;
  readonly #ttlMs: number;
  readonly #timeoutMs: number;
  readonly #log: Logger;
  readonly #client: RedisClient;
  readonly #subscriber: RedisClient;
  readonly #shas = new Map<ScriptName, string>();
  // Probes sent to this node's own channel, to see that the subscription is live again.
  readonly #probes = new Map<string, () => void>();
  #listener: LinkListener | null = null;
  #started = false;
  #state: LinkState = "ready";
  #timer: ReturnType<typeof setInterval> | undefined;
  #tick: Promise<void> = Promise.resolve();
  #ticking = false;

  /** Makes the connections; `start` opens them. */
  constructor(options: RedisLinkOptions) {
    this.#prefix = options.prefix;
    this.#ttlMs = options.presenceTtlMs;
    this.#timeoutMs = Math.max(1000, Math.floor(this.#ttlMs / 3));
    this.#log = options.log;
    this.#client = this.#connection(options.url, "commands");
    this.#subscriber = this.#connection(options.url, "subscriber");
  }

  /** Where the link stands. */
  get state(): LinkState {
    return this.#state;
  }

  /** Connects, subscribes, registers the node and starts its heartbeat; fails if any fails. */
  async start(listener: LinkListener): Promise<void> {
    try {
      await this.#client.connect();
      await this.#subscriber.connect();
      this.#listener = listener;
      for (const name of Object.keys(scripts) as ScriptName[]) {
        this.#shas.set(name, await this.#client.scriptLoad(scripts[name]));
      }
      await this.#subscriber.subscribe(
        [this.#ownChannel(), this.#everyNodeChannel()],
        (raw: string) => this.#heard(raw),
      );
      await this.script("REGISTER", [String(this.#ttlMs)]);
      this.#log.info("hub.registered", { node: this.nodeId, presence_ttl_ms: this.#ttlMs });
      this.#timer = setInterval(() => this.#beat(), Math.max(100, Math.floor(this.#ttlMs / 3)));
      this.#started = true;
    } catch (error) {
      clearInterval(this.#timer);
      for (const each of [this.#client, this.#subscriber]) {
        if (each.isOpen) await each.disconnect().catch(() => {});
      }
      throw error;
    }
  }

  /** Runs a script by its SHA, loading it again if Redis forgot it (a restart). */
  async script(name: ScriptName, args: readonly string[]): Promise<unknown> {
    const argv = [this.#prefix, this.nodeId, ...args];
    const sha = this.#shas.get(name);
    try {
      if (sha === undefined) throw new Error("NOSCRIPT not loaded");
      return await this.#command(this.#client.sendCommand(["EVALSHA", sha, "0", ...argv]));
    } catch (error) {
      if (!/NOSCRIPT/.test(errorMessage(error))) throw error;
      this.#shas.set(name, await this.#command(this.#client.scriptLoad(scripts[name])));
      return await this.#command(this.#client.sendCommand(["EVAL", scripts[name], "0", ...argv]));
    }
  }

  /** Publishes `event` to every node, this one included. */
  async publishToEveryNode(event: RevokeEvent | EraseEvent): Promise<void> {
    await this.#command(this.#client.publish(this.#everyNodeChannel(), encodeEvent(event)));
  }

  /** Resolves when Redis answers a PING in time. */
  async ping(): Promise<void> {
    await this.#command(this.#client.ping());
  }

  /** Others reaped this node (it missed heartbeats): tell the listener, and register anew. */
  registrationLost(): void {
    if (this.#state !== "ready") return;
    this.#log.error("hub.taken_for_dead", { node: this.nodeId });
    this.#state = "down";
    this.#listener?.lost("node was taken for dead");
    this.#connectionBack();
  }

  /**
   * Stops the heartbeat, says goodbye (removing this node's entries, so the peers of its users
   * hear 30099 now rather than after the TTL) and closes both connections.
   */
  async close(): Promise<void> {
    if (this.#state === "closed") return;
    const wasReady = this.#state === "ready";
    this.#state = "closed";
    clearInterval(this.#timer);
    await this.#tick;
    try {
      // Everything stored here was published: the peers need not catch up.
      if (wasReady) this.#reaped(await this.script("REAP_SELF", ["0"]));
    } catch (error) {
      this.#log.warn("hub.goodbye_failed", { node: this.nodeId, error: errorMessage(error) });
    }
    for (const each of [this.#subscriber, this.#client]) {
      if (each.isReady) await each.quit().catch(() => each.disconnect().catch(() => {}));
      else if (each.isOpen) await each.disconnect().catch(() => {});
    }
  }

  // --- internals ---

  #connection(url: string, name: "commands" | "subscriber"): RedisClient {
    const client = createClient({
      url,
      // Fail fast while disconnected: a queued command would run after the sockets it was for
      // are gone.
      disableOfflineQueue: true,
      socket: {
        connectTimeout: CONNECT_TIMEOUT_MS,
        // At start-up one failure is fatal; later the client keeps trying, and the link counts
        // Redis as down until it is back.
        reconnectStrategy: (retries: number, cause: Error) =>
          this.#started ? Math.min(50 * 2 ** Math.min(retries, 5), 1000) : cause,
      },
    });
    // Until both are connected, `start` reports failures itself.
    client.on("error", (error: Error) => {
      if (this.#listener !== null) this.#connectionLost(name, error);
    });
    client.on("ready", () => {
      if (this.#listener !== null) this.#connectionBack();
    });
    return client;
  }

  #ownChannel(): string {
    return `${this.#prefix}ch:${this.nodeId}`;
  }

  #everyNodeChannel(): string {
    return `${this.#prefix}revoke`;
  }

  #heard(raw: string): void {
    const event = decodeEvent(raw);
    if (event === null) {
      this.#log.warn("hub.bad_event", { node: this.nodeId });
      return;
    }
    if (this.#state === "closed") return;
    if (event.kind === HUB_EVENT.PROBE) {
      this.#probes.get(event.nonce)?.();
      return;
    }
    if (event.origin === this.nodeId) return; // Our own echo.
    this.#listener?.heard(event);
  }

  /** Heartbeat, then reap the nodes whose heartbeat expired. Never two at once. */
  #beat(): void {
    if (this.#ticking || this.#state === "closed") return;
    this.#ticking = true;
    this.#tick = (async () => {
      try {
        if (this.#state === "down") {
          // The clients reconnect by themselves and their 'ready' starts the recovery; this
          // retries one that failed while the connections stayed up (a slow Redis).
          this.#connectionBack();
          return;
        }
        if (this.#state !== "ready") return;
        const alive = await this.script("HEARTBEAT", [String(this.#ttlMs)]);
        if (alive === 0) {
          this.registrationLost();
          return;
        }
        const gone = this.#reaped(await this.script("REAP_EXPIRED", []));
        if (gone > 0) this.#log.info("hub.reaped", { node: this.nodeId, offline: gone });
      } catch (error) {
        this.#connectionLost("heartbeat", error);
      } finally {
        this.#ticking = false;
      }
    })();
  }

  /** Passes on who went offline everywhere; returns how many went offline on a pair. */
  #reaped(reply: unknown): number {
    const [gone, offline] = reply as [number, number[]];
    if (offline.length > 0) this.#listener?.usersOffline(offline);
    return gone;
  }

  /** Redis could not be reached: tell the listener, and refuse joins until it is back. */
  #connectionLost(what: string, error: unknown): void {
    if (this.#state === "closed" || this.#state === "down") return;
    this.#log.error("hub.redis_down", { node: this.nodeId, via: what, error: errorMessage(error) });
    this.#state = "down";
    this.#listener?.lost("redis unreachable");
    // A heartbeat that timed out leaves the clients up: start over as on a reconnect.
    if (this.#client.isReady && this.#subscriber.isReady) this.#connectionBack();
  }

  /** Both connections are up again: clear this node's stale entries, then register anew. */
  #connectionBack(): void {
    if (this.#state !== "down" || !this.#client.isReady || !this.#subscriber.isReady) return;
    this.#state = "recovering";
    (async () => {
      try {
        // Messages stored while Redis was away may not have been published: peers catch up.
        this.#reaped(await this.script("REAP_SELF", ["1"]));
        await this.#subscriptionWorks();
        await this.script("REGISTER", [String(this.#ttlMs)]);
        if (this.#state !== "recovering") return;
        this.#state = "ready";
        this.#log.info("hub.redis_back", { node: this.nodeId });
      } catch (error) {
        if (this.#state === "recovering") this.#state = "down";
        this.#log.error("hub.recover_failed", { node: this.nodeId, error: errorMessage(error) });
      }
    })();
  }

  /** Resolves once a probe published to this node's channel comes back on the subscription. */
  async #subscriptionWorks(): Promise<void> {
    const nonce = crypto.randomUUID();
    const heard = Promise.withResolvers<void>();
    this.#probes.set(nonce, heard.resolve);
    try {
      const probe: ProbeEvent = { kind: HUB_EVENT.PROBE, origin: this.nodeId, nonce };
      await this.#command(this.#client.publish(this.#ownChannel(), encodeEvent(probe)));
      await withTimeout(heard.promise, this.#timeoutMs, "the subscription probe");
    } finally {
      this.#probes.delete(nonce);
    }
  }

  #command<T>(promise: Promise<T>): Promise<T> {
    return withTimeout(promise, this.#timeoutMs, "a command");
  }
}
