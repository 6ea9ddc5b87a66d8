/**
 * The clustered hub: local delivery as in `MemoryHub`, plus Redis for what spans nodes.
 * Loaded by `main.ts` with a dynamic `import()` only when `REDIS_URL` is set.
 *
 * - Presence is counted in Redis per pair and per node, by Lua scripts (`redis_scripts.ts`),
 *   so "first endpoint of a user on a pair" and "last one" mean in the whole cluster, and
 *   30098/30099 fire exactly as on one node.
 * - A stored message is offered to the local endpoints at once and published, in the same
 *   script that reads where the peer's endpoints are, to the channel of each other node that
 *   holds one. A node ignores its own echoes.
 * - Every node refreshes a heartbeat key every PRESENCE_TTL / 3 and reaps the entries of
 *   nodes whose heartbeat expired, telling the peers of their users 30099. So a node killed
 *   with -9 leaves its users online for at most PRESENCE_TTL + PRESENCE_TTL / 3.
 * - Presence events carry a sequence number from Redis; each endpoint applies only events
 *   newer than the state it joined with, and only changes (online <-> offline), so an event
 *   overtaken on the way (a local one and one through another node's channel) never leaves
 *   it with a wrong picture.
 * - When Redis cannot be reached the node closes its chat sockets with 1013 (try again
 *   later) and refuses new ones until Redis is back; then it clears its stale entries.
 */
import { createClient } from "@redis/client";
import { peerLoginFrame, peerLogoutFrame } from "../protocol/server_frame.ts";
import { DISCONNECT, type Disconnect } from "../protocol/disconnect.ts";
import { errorMessage, type Logger } from "../log.ts";
import type { StoredMessage } from "../storage/repository.ts";
import { type Endpoint, type Hub, HubUnavailableError, type JoinResult } from "./hub.ts";
import { LocalEndpoints } from "./local_endpoints.ts";
import * as scripts from "./redis_scripts.ts";

/** Options of the Redis hub; `main.ts` passes them from `Config`. */
export interface RedisHubOptions {
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

type RedisClient = ReturnType<typeof createClient>;
type ScriptName = keyof typeof scripts;

/** What a node hears on its channels. */
type Event =
  | { o: string; k: "p"; s: number; u: number; p: number; on: 0 | 1 }
  | { o: string; k: "m"; f: number; t: number; m: StoredMessage }
  | { o: string; k: "r"; h: string }
  | { o: string; k: "x"; n: string };

type PresenceEvent = Extract<Event, { k: "p" }>;

/** What the hub tracks of a local endpoint. */
interface Local {
  /** The event sequence number its presence picture is from; `null` while joining. */
  seq: number | null;
  /** Whether, as far as this endpoint was told, its peer is online. */
  peerOnline: boolean;
  /** Presence events that arrived while joining, applied once `seq` is known. */
  early: PresenceEvent[];
  /** Settles when the join is done. */
  joined: Promise<unknown>;
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Redis did not answer ${what} in ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** A `Hub` for one node of a cluster that shares a Redis server. */
export class RedisHub implements Hub {
  /** This node's id, unique in the cluster. */
  readonly nodeId: string;
  readonly #prefix: string;
  readonly #ttlMs: number;
  readonly #timeoutMs: number;
  readonly #log: Logger;
  readonly #client: RedisClient;
  readonly #subscriber: RedisClient;
  readonly #local = new LocalEndpoints();
  readonly #state = new Map<Endpoint, Local>();
  readonly #shas = new Map<ScriptName, string>();
  // "ready": joins accepted. "down": Redis unreachable, sockets closed. "closed": stopped.
  #mode: "ready" | "down" | "recovering" | "closed" = "ready";
  #timer: ReturnType<typeof setInterval> | undefined;
  #tick: Promise<void> = Promise.resolve();
  #ticking = false;
  // Probes sent to this node's own channel, to see that the subscription is live again.
  readonly #probes = new Map<string, () => void>();

  private constructor(options: RedisHubOptions, client: RedisClient, subscriber: RedisClient) {
    this.nodeId = crypto.randomUUID().replaceAll("-", "").slice(0, 16);
    this.#prefix = options.prefix;
    this.#ttlMs = options.presenceTtlMs;
    this.#timeoutMs = Math.max(1000, Math.floor(this.#ttlMs / 3));
    this.#log = options.log;
    this.#client = client;
    this.#subscriber = subscriber;
  }

  /** Connects, subscribes, registers the node and starts its heartbeat. */
  static async open(options: RedisHubOptions): Promise<RedisHub> {
    let hub: RedisHub | null = null;
    let started = false;
    const make = () =>
      createClient({
        url: options.url,
        // Fail fast while disconnected: a queued command would run after the sockets it was
        // for are gone.
        disableOfflineQueue: true,
        socket: {
          connectTimeout: 5000,
          // At start-up one failure is fatal; later the client keeps trying, and the hub
          // counts Redis as down until it is back.
          reconnectStrategy: (retries: number, cause: Error) =>
            started ? Math.min(50 * 2 ** Math.min(retries, 5), 1000) : cause,
        },
      });
    const client = make();
    const subscriber = make();
    for (const [name, each] of [["commands", client], ["subscriber", subscriber]] as const) {
      each.on("error", (error: Error) => {
        if (hub !== null) hub.#connectionLost(name, error);
      });
      each.on("ready", () => {
        if (hub !== null) hub.#connectionBack();
      });
    }
    try {
      await client.connect();
      await subscriber.connect();
      hub = new RedisHub(options, client, subscriber);
      await hub.#start();
      started = true;
      return hub;
    } catch (error) {
      if (hub !== null) clearInterval(hub.#timer);
      for (const each of [client, subscriber]) {
        if (each.isOpen) await each.disconnect().catch(() => {});
      }
      throw error;
    }
  }

  get size(): number {
    return this.#local.size;
  }

  async join(endpoint: Endpoint): Promise<JoinResult> {
    if (this.#mode !== "ready") throw new HubUnavailableError(`Redis hub is ${this.#mode}`);
    const { user, peer } = endpoint;
    const local: Local = { seq: null, peerOnline: false, early: [], joined: Promise.resolve() };
    // Known locally before Redis counts it, so no message or event for it can slip past.
    this.#state.set(endpoint, local);
    this.#local.add(endpoint);
    const joining = this.#script("JOIN", [String(user.id), String(peer.id)]) as Promise<number[]>;
    local.joined = joining.catch(() => {});
    const forget = () => {
      if (this.#state.get(endpoint) !== local) return;
      this.#state.delete(endpoint);
      this.#local.remove(endpoint);
    };
    let reply: number[];
    try {
      reply = await joining;
    } catch (error) {
      forget();
      throw new HubUnavailableError(`Redis hub cannot join: ${errorMessage(error)}`);
    }
    if (reply[0] === -1) {
      forget();
      this.#lostRegistration();
      throw new HubUnavailableError("This node was taken for dead and registers again");
    }
    const [seq, first, peerOnline] = reply;
    local.seq = seq;
    local.peerOnline = peerOnline === 1;
    const early = local.early;
    local.early = [];
    for (const event of early) this.#applyTo(endpoint, local, event);
    if (first === 1 && peerOnline === 1) {
      this.#applyPresence({ o: this.nodeId, k: "p", s: seq, u: user.id, p: peer.id, on: 1 });
    }
    return { peerOnline: user.id !== peer.id && peerOnline === 1 };
  }

  async leave(endpoint: Endpoint): Promise<void> {
    const local = this.#state.get(endpoint);
    if (local === undefined) return;
    await local.joined;
    // Left meanwhile, or dropped with every other endpoint when Redis went away.
    if (this.#state.get(endpoint) !== local) return;
    this.#state.delete(endpoint);
    this.#local.remove(endpoint);
    if (this.#mode !== "ready") return; // Its entry goes when the node's entries are reaped.
    const { user, peer } = endpoint;
    const [seq, last] = await this.#script("LEAVE", [String(user.id), String(peer.id)]) as number[];
    if (last === 1) {
      this.#applyPresence({ o: this.nodeId, k: "p", s: seq, u: user.id, p: peer.id, on: 0 });
    }
  }

  async publish(message: StoredMessage, fromUserId: number, toUserId: number): Promise<void> {
    this.#local.deliver(message, fromUserId, toUserId);
    if (this.#mode === "closed") return; // Stopping: the peers elsewhere read it from storage.
    const event: Event = { o: this.nodeId, k: "m", f: fromUserId, t: toUserId, m: message };
    await this.#script("PUBLISH", [String(fromUserId), String(toUserId), JSON.stringify(event)]);
  }

  async revokeToken(tokenHash: string): Promise<void> {
    this.#local.revoke(tokenHash);
    if (this.#mode === "closed") return;
    const event: Event = { o: this.nodeId, k: "r", h: tokenHash };
    await this.#command(this.#client.publish(`${this.#prefix}revoke`, JSON.stringify(event)));
  }

  async ping(): Promise<void> {
    if (this.#mode !== "ready") throw new HubUnavailableError(`Redis hub is ${this.#mode}`);
    await this.#command(this.#client.ping());
  }

  async close(disconnect: Disconnect): Promise<void> {
    if (this.#mode === "closed") return;
    const wasReady = this.#mode === "ready";
    this.#mode = "closed";
    clearInterval(this.#timer);
    await this.#tick;
    for (const endpoint of this.#dropAll()) endpoint.terminate(disconnect);
    try {
      // Say goodbye: the peers of this node's users hear 30099 now, not after the TTL.
      if (wasReady) await this.#script("REAP_SELF", []);
    } catch (error) {
      this.#log.warn("hub.goodbye_failed", { node: this.nodeId, error: errorMessage(error) });
    }
    for (const each of [this.#subscriber, this.#client]) {
      if (each.isReady) await each.quit().catch(() => each.disconnect().catch(() => {}));
      else if (each.isOpen) await each.disconnect().catch(() => {});
    }
  }

  // --- internals ---

  async #start(): Promise<void> {
    for (const name of Object.keys(scripts) as ScriptName[]) {
      this.#shas.set(name, await this.#client.scriptLoad(scripts[name]));
    }
    await this.#subscriber.subscribe(
      [`${this.#prefix}ch:${this.nodeId}`, `${this.#prefix}revoke`],
      (raw: string) => this.#heard(raw),
    );
    await this.#script("REGISTER", [String(this.#ttlMs)]);
    this.#log.info("hub.registered", { node: this.nodeId, presence_ttl_ms: this.#ttlMs });
    this.#timer = setInterval(() => this.#beat(), Math.max(100, Math.floor(this.#ttlMs / 3)));
  }

  /** Heartbeat, then reap the nodes whose heartbeat expired. Never two at once. */
  #beat(): void {
    if (this.#ticking || this.#mode === "closed") return;
    this.#ticking = true;
    this.#tick = (async () => {
      try {
        if (this.#mode === "down") {
          // The clients reconnect by themselves and their 'ready' starts the recovery; this
          // retries one that failed while the connections stayed up (a slow Redis).
          this.#connectionBack();
          return;
        }
        if (this.#mode !== "ready") return;
        const alive = await this.#script("HEARTBEAT", [String(this.#ttlMs)]);
        if (alive === 0) {
          this.#lostRegistration();
          return;
        }
        const gone = await this.#script("REAP_EXPIRED", []) as number;
        if (gone > 0) this.#log.info("hub.reaped", { node: this.nodeId, offline: gone });
      } catch (error) {
        this.#connectionLost("heartbeat", error);
      } finally {
        this.#ticking = false;
      }
    })();
  }

  #heard(raw: string): void {
    let event: Event;
    try {
      event = JSON.parse(raw);
    } catch {
      this.#log.warn("hub.bad_event", { node: this.nodeId });
      return;
    }
    if (event.o === this.nodeId || this.#mode === "closed") return; // Our own echo.
    switch (event.k) {
      case "p":
        this.#applyPresence(event);
        break;
      case "m":
        this.#local.deliver(event.m, event.f, event.t);
        break;
      case "r":
        this.#local.revoke(event.h);
        break;
      case "x":
        this.#probes.get(event.n)?.();
        break;
    }
  }

  /** Tells the endpoints on (event.p -> event.u) that event.u came online or went offline. */
  #applyPresence(event: PresenceEvent): void {
    const endpoints = this.#local.onPair(event.p, event.u);
    if (endpoints === undefined) return;
    for (const endpoint of endpoints) {
      const local = this.#state.get(endpoint);
      if (local !== undefined) this.#applyTo(endpoint, local, event);
    }
  }

  #applyTo(endpoint: Endpoint, local: Local, event: PresenceEvent): void {
    if (local.seq === null) {
      local.early.push(event);
      return;
    }
    // Older than the picture the endpoint has, or no change to it: nothing to tell.
    if (event.s <= local.seq) return;
    local.seq = event.s;
    const online = event.on === 1;
    if (online === local.peerOnline) return;
    local.peerOnline = online;
    const name = endpoint.peer.username;
    endpoint.send(online ? peerLoginFrame(name) : peerLogoutFrame(name));
  }

  /** Forgets every local endpoint (their later `leave` calls do nothing) and returns them. */
  #dropAll(): Endpoint[] {
    this.#state.clear();
    return this.#local.clear();
  }

  #closeEverySocket(reason: string): void {
    const endpoints = this.#dropAll();
    if (endpoints.length > 0) {
      this.#log.warn("hub.sockets_closed", { node: this.nodeId, count: endpoints.length, reason });
    }
    for (const endpoint of endpoints) endpoint.terminate(DISCONNECT.TRY_AGAIN_LATER);
  }

  /** Redis could not be reached: close every socket, refuse joins until it is back. */
  #connectionLost(what: string, error: unknown): void {
    if (this.#mode === "closed" || this.#mode === "down") return;
    this.#log.error("hub.redis_down", { node: this.nodeId, via: what, error: errorMessage(error) });
    this.#mode = "down";
    this.#closeEverySocket("redis unreachable");
    // A heartbeat that timed out leaves the clients up: start over as on a reconnect.
    if (this.#client.isReady && this.#subscriber.isReady) this.#connectionBack();
  }

  /** Both connections are up again: clear this node's stale entries, then accept joins. */
  #connectionBack(): void {
    if (this.#mode !== "down" || !this.#client.isReady || !this.#subscriber.isReady) return;
    this.#mode = "recovering";
    (async () => {
      try {
        await this.#script("REAP_SELF", []);
        await this.#subscriptionWorks();
        await this.#script("REGISTER", [String(this.#ttlMs)]);
        if (this.#mode !== "recovering") return;
        this.#mode = "ready";
        this.#log.info("hub.redis_back", { node: this.nodeId });
      } catch (error) {
        if (this.#mode === "recovering") this.#mode = "down";
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
      const probe: Event = { o: "probe", k: "x", n: nonce };
      await this.#command(
        this.#client.publish(`${this.#prefix}ch:${this.nodeId}`, JSON.stringify(probe)),
      );
      await withTimeout(heard.promise, this.#timeoutMs, "the subscription probe");
    } finally {
      this.#probes.delete(nonce);
    }
  }

  /** Others reaped this node (it missed heartbeats): drop its sockets and register anew. */
  #lostRegistration(): void {
    if (this.#mode !== "ready") return;
    this.#log.error("hub.taken_for_dead", { node: this.nodeId });
    this.#mode = "down";
    this.#closeEverySocket("node was taken for dead");
    this.#connectionBack();
  }

  /** Runs a script by its SHA, loading it again if Redis forgot it (a restart). */
  async #script(name: ScriptName, args: readonly string[]): Promise<unknown> {
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

  #command<T>(promise: Promise<T>): Promise<T> {
    return withTimeout(promise, this.#timeoutMs, "a command");
  }
}
