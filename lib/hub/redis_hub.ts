/**
 * The clustered hub: local delivery as in `MemoryHub`, plus Redis for what spans nodes. Loaded
 * by `main.ts` with a dynamic `import()` only when `REDIS_URL` is set. This module holds the
 * hub's rules; `RedisLink` holds the connections, the heartbeat and the recovery after an
 * outage, and `redis_events.ts` the events the nodes exchange.
 *
 * - Presence is counted in Redis per pair and per node, by Lua scripts (`redis_scripts.ts`),
 *   so "first endpoint of a user on a pair" and "last one" mean in the whole cluster, and
 *   30098/30099 fire exactly as on one node.
 * - A stored message is offered to the local endpoints at once and published, in the same
 *   script that reads where the peer's endpoints are, to the channel of each other node that
 *   holds one. A node ignores its own echoes.
 * - Presence events carry a sequence number from Redis; each endpoint applies only events
 *   newer than the state it joined with, and only changes (online <-> offline), so an event
 *   overtaken on the way (a local one and one through another node's channel) never leaves
 *   it with a wrong picture.
 * - When Redis cannot be reached the node closes its chat sockets with 1013 (try again
 *   later) and refuses new ones until the link is ready again.
 * - A node reaped as dead (or cut off from Redis) may have stored messages it never published:
 *   the reaping script tells the nodes holding the peers' endpoints of each of its pairs to have
 *   them catch up from storage (`Endpoint.catchUp`), before it tells them of the 30099.
 */
import { peerLoginFrame, peerLogoutFrame } from "../protocol/server_frame.ts";
import { DISCONNECT, type Disconnect } from "../protocol/disconnect.ts";
import { errorMessage, type Logger } from "../log.ts";
import type { StoredMessage } from "../storage/repository.ts";
import {
  type Endpoint,
  type Hub,
  HubUnavailableError,
  INBOX_PEER,
  type JoinResult,
  type UserPresenceListener,
} from "./hub.ts";
import { LocalEndpoints } from "./local_endpoints.ts";
import {
  encodeEvent,
  type EndpointEvent,
  HUB_EVENT,
  type MessageEvent,
  type PresenceEvent,
  type PushEvent,
} from "./redis_events.ts";
import { RedisLink, type RedisLinkOptions } from "./redis_link.ts";

/** Options of the Redis hub; `main.ts` passes them from `Config`. */
export interface RedisHubOptions extends RedisLinkOptions {
  /** Hears when a user gets their first endpoint in the cluster or loses their last. */
  readonly onUserPresence?: UserPresenceListener;
}

/** What the hub tracks of a local endpoint's presence picture. */
interface Tracked {
  /** The event sequence number its presence picture is from; `null` while joining. */
  seq: number | null;
  /** Whether, as far as this endpoint was told, its peer is online. */
  peerOnline: boolean;
  /** Presence events that arrived while joining, applied once `seq` is known. */
  early: PresenceEvent[];
  /** Settles when the join is done. */
  joined: Promise<unknown>;
}

/** A `Hub` for one node of a cluster that shares a Redis server. */
export class RedisHub implements Hub {
  readonly #link: RedisLink;
  readonly #log: Logger;
  readonly #local = new LocalEndpoints();
  readonly #tracked = new Map<Endpoint, Tracked>();
  readonly #onUserPresence: UserPresenceListener | undefined;

  private constructor(link: RedisLink, log: Logger, onUserPresence?: UserPresenceListener) {
    this.#link = link;
    this.#log = log;
    this.#onUserPresence = onUserPresence;
  }

  /** Connects, subscribes, registers the node and starts its heartbeat. */
  static async open(options: RedisHubOptions): Promise<RedisHub> {
    const link = new RedisLink(options);
    const hub = new RedisHub(link, options.log, options.onUserPresence);
    await link.start({
      heard: (event) => hub.#heard(event),
      lost: (reason) => hub.#closeEverySocket(reason),
      usersOffline: (userIds) => {
        for (const userId of userIds) hub.#onUserPresence?.(userId, false);
      },
    });
    return hub;
  }

  /** This node's id, unique in the cluster. */
  get nodeId(): string {
    return this.#link.nodeId;
  }

  get size(): number {
    return this.#local.size;
  }

  async join(endpoint: Endpoint): Promise<JoinResult> {
    this.#assertReady();
    const { user, peer } = endpoint;
    const tracked: Tracked = { seq: null, peerOnline: false, early: [], joined: Promise.resolve() };
    // Known locally before Redis counts it, so no message or event for it can slip past.
    this.#tracked.set(endpoint, tracked);
    this.#local.add(endpoint);
    const joining = this.#link.script("JOIN", [String(user.id), String(peer.id)]);
    tracked.joined = joining.catch(() => {});
    const forget = () => {
      if (this.#tracked.get(endpoint) !== tracked) return;
      this.#tracked.delete(endpoint);
      this.#local.remove(endpoint);
    };
    let reply: number[];
    try {
      reply = await joining as number[];
    } catch (error) {
      forget();
      throw new HubUnavailableError(`Redis hub cannot join: ${errorMessage(error)}`);
    }
    if (reply[0] === -1) {
      forget();
      this.#link.registrationLost();
      throw new HubUnavailableError("This node was taken for dead and registers again");
    }
    const [seq, first, peerOnline, userFirst] = reply;
    if (userFirst === 1) this.#onUserPresence?.(user.id, true);
    tracked.seq = seq;
    tracked.peerOnline = peerOnline === 1;
    const early = tracked.early;
    tracked.early = [];
    for (const event of early) this.#applyTo(endpoint, tracked, event);
    if (first === 1 && peerOnline === 1) this.#applyPresence(this.#presence(endpoint, seq, true));
    return { peerOnline: user.id !== peer.id && peerOnline === 1 };
  }

  async leave(endpoint: Endpoint): Promise<void> {
    const tracked = this.#tracked.get(endpoint);
    if (tracked === undefined) return;
    await tracked.joined;
    // Left meanwhile, or dropped with every other endpoint when Redis went away.
    if (this.#tracked.get(endpoint) !== tracked) return;
    this.#tracked.delete(endpoint);
    this.#local.remove(endpoint);
    // Not ready: its entry goes when the node's entries are reaped.
    if (this.#link.state !== "ready") return;
    const { user, peer } = endpoint;
    const reply = await this.#link.script("LEAVE", [String(user.id), String(peer.id)]);
    const [seq, last, userLast] = reply as number[];
    if (userLast === 1) this.#onUserPresence?.(user.id, false);
    if (last === 1) this.#applyPresence(this.#presence(endpoint, seq, false));
  }

  async publish(message: StoredMessage, fromUserId: number, toUserId: number): Promise<void> {
    this.#local.deliver(message, fromUserId, toUserId);
    // Stopping: the peers elsewhere read it from storage.
    if (this.#link.state === "closed") return;
    const event: MessageEvent = {
      kind: HUB_EVENT.MESSAGE,
      origin: this.nodeId,
      from: fromUserId,
      to: toUserId,
      message,
    };
    await this.#link.script("PUBLISH", [String(fromUserId), String(toUserId), encodeEvent(event)]);
  }

  async pushToPair(
    userId: number,
    peerId: number,
    frame: string,
    except?: Endpoint,
  ): Promise<void> {
    this.#local.push(userId, peerId, frame, except);
    if (this.#link.state === "closed") return;
    const event: PushEvent = {
      kind: HUB_EVENT.PUSH,
      origin: this.nodeId,
      user: userId,
      peer: peerId,
      frame,
    };
    await this.#link.script("PUSH", [String(userId), String(peerId), encodeEvent(event)]);
  }

  pushToInbox(userId: number, frame: string): Promise<void> {
    return this.pushToPair(userId, INBOX_PEER.id, frame);
  }

  async revokeToken(tokenHash: string): Promise<void> {
    this.#local.revoke(tokenHash);
    if (this.#link.state === "closed") return;
    await this.#link.publishToEveryNode({ kind: HUB_EVENT.REVOKE, origin: this.nodeId, tokenHash });
  }

  async isOnPair(userId: number, peerId: number): Promise<boolean> {
    if (this.#local.onPair(userId, peerId) !== undefined) return true;
    this.#assertReady();
    return await this.#link.script("ON_PAIR", [String(userId), String(peerId)]) === 1;
  }

  /**
   * Exact for this node's endpoints. Which endpoints on other nodes are v2 the registry does not
   * say (it counts endpoints per pair and node; telling v2 apart would change the join, leave
   * and reaping scripts), so the answer is `true` as soon as another node holds any endpoint of
   * the user on the pair; when none does, this node's answer is the whole answer. One small
   * script (`ON_PAIR_ELSEWHERE`) when no local v2 endpoint settles it. Not ready (Redis out of
   * reach, or registering again): `true`, so pushes are tried as always; closed: pushes reach
   * this node's endpoints only, and the local answer is exact.
   */
  mayHaveV2OnPair(
    userId: number,
    peerId: number,
    except?: Endpoint,
  ): boolean | Promise<boolean> {
    if (this.#local.hasV2OnPair(userId, peerId, except)) return true;
    const state = this.#link.state;
    if (state === "closed") return false;
    if (state !== "ready") return true;
    return this.#link.script("ON_PAIR_ELSEWHERE", [String(userId), String(peerId)])
      .then((reply) => reply === 1);
  }

  async isOnline(userId: number): Promise<boolean> {
    if (this.#local.userCount(userId) > 0) return true;
    this.#assertReady();
    return await this.#link.script("ONLINE", [String(userId)]) === 1;
  }

  async disconnectUser(userId: number): Promise<void> {
    this.#local.disconnectUser(userId);
    if (this.#link.state === "closed") return;
    await this.#link.publishToEveryNode({
      kind: HUB_EVENT.ERASE,
      origin: this.nodeId,
      user: userId,
    });
  }

  async ping(): Promise<void> {
    this.#assertReady();
    await this.#link.ping();
  }

  async close(disconnect: Disconnect): Promise<void> {
    if (this.#link.state === "closed") return;
    // The link is closed at once, so nothing it hears from now on reaches the hub.
    const closing = this.#link.close();
    for (const endpoint of this.#dropAll()) endpoint.terminate(disconnect);
    await closing;
  }

  // --- internals ---

  #assertReady(): void {
    const state = this.#link.state;
    if (state !== "ready") throw new HubUnavailableError(`Redis hub is ${state}`);
  }

  #heard(event: EndpointEvent): void {
    switch (event.kind) {
      case HUB_EVENT.PRESENCE:
        this.#applyPresence(event);
        break;
      case HUB_EVENT.MESSAGE:
        this.#local.deliver(event.message, event.from, event.to);
        break;
      case HUB_EVENT.PUSH:
        this.#local.push(event.user, event.peer, event.frame);
        break;
      case HUB_EVENT.REVOKE:
        this.#local.revoke(event.tokenHash);
        break;
      case HUB_EVENT.ERASE:
        this.#local.disconnectUser(event.user);
        break;
      case HUB_EVENT.CATCH_UP:
        this.#local.catchUp(event.from, event.to);
        break;
    }
  }

  /** The presence event this node tells its own endpoints when `endpoint`'s user comes or goes. */
  #presence(endpoint: Endpoint, seq: number, online: boolean): PresenceEvent {
    const { user, peer } = endpoint;
    return {
      kind: HUB_EVENT.PRESENCE,
      origin: this.nodeId,
      seq,
      user: user.id,
      peer: peer.id,
      online,
    };
  }

  /** Tells the endpoints on (event.peer -> event.user) that event.user came or went. */
  #applyPresence(event: PresenceEvent): void {
    const endpoints = this.#local.onPair(event.peer, event.user);
    if (endpoints === undefined) return;
    for (const endpoint of endpoints) {
      const tracked = this.#tracked.get(endpoint);
      if (tracked !== undefined) this.#applyTo(endpoint, tracked, event);
    }
  }

  #applyTo(endpoint: Endpoint, tracked: Tracked, event: PresenceEvent): void {
    if (tracked.seq === null) {
      tracked.early.push(event);
      return;
    }
    // Older than the picture the endpoint has, or no change to it: nothing to tell.
    if (event.seq <= tracked.seq) return;
    tracked.seq = event.seq;
    if (event.online === tracked.peerOnline) return;
    tracked.peerOnline = event.online;
    const name = endpoint.peer.username;
    endpoint.send(event.online ? peerLoginFrame(name) : peerLogoutFrame(name));
  }

  /** Forgets every local endpoint (their later `leave` calls do nothing) and returns them. */
  #dropAll(): Endpoint[] {
    this.#tracked.clear();
    return this.#local.clear();
  }

  /** The link lost this node's presence in Redis: close every socket with 1013. */
  #closeEverySocket(reason: string): void {
    const endpoints = this.#dropAll();
    if (endpoints.length > 0) {
      this.#log.warn("hub.sockets_closed", { node: this.nodeId, count: endpoints.length, reason });
    }
    for (const endpoint of endpoints) endpoint.terminate(DISCONNECT.TRY_AGAIN_LATER);
  }
}
