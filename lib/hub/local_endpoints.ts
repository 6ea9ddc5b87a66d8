/**
 * The endpoints open in this process, indexed by pair and by token, and the local side of
 * every hub operation: offering a message to a pair, revoking a token, closing everything.
 * `MemoryHub` is this plus in-process presence; `RedisHub` is this plus Redis presence and
 * publish/subscribe between nodes.
 */
import { chatMessageFrame } from "../protocol/server_frame.ts";
import { DISCONNECT } from "../protocol/disconnect.ts";
import type { StoredMessage } from "../storage/repository.ts";
import type { Endpoint } from "./hub.ts";

/** The key of the pair (fromUserId -> toUserId). */
export function pairKey(fromUserId: number, toUserId: number): string {
  return `${fromUserId}>${toUserId}`;
}

function addTo<K, V>(map: Map<K, Set<V>>, key: K, value: V): Set<V> {
  let set = map.get(key);
  if (set === undefined) {
    set = new Set();
    map.set(key, set);
  }
  set.add(value);
  return set;
}

function removeFrom<K, V>(map: Map<K, Set<V>>, key: K, value: V): boolean {
  const set = map.get(key);
  if (set === undefined || !set.delete(value)) return false;
  if (set.size === 0) map.delete(key);
  return true;
}

/** Endpoints of this process, so that no operation scans every connection. */
export class LocalEndpoints {
  readonly #byPair = new Map<string, Set<Endpoint>>();
  readonly #byToken = new Map<string, Set<Endpoint>>();
  readonly #perUser = new Map<number, number>();
  #size = 0;

  /** How many endpoints are held. */
  get size(): number {
    return this.#size;
  }

  /** Adds an endpoint; returns how many the user now holds on its pair here. */
  add(endpoint: Endpoint): number {
    const own = addTo(this.#byPair, pairKey(endpoint.user.id, endpoint.peer.id), endpoint);
    addTo(this.#byToken, endpoint.tokenHash, endpoint);
    this.#perUser.set(endpoint.user.id, (this.#perUser.get(endpoint.user.id) ?? 0) + 1);
    this.#size++;
    return own.size;
  }

  /** How many endpoints the user holds here, on every pair. */
  userCount(userId: number): number {
    return this.#perUser.get(userId) ?? 0;
  }

  /** Removes an endpoint; returns how many the user still holds on its pair, or -1 if unknown. */
  remove(endpoint: Endpoint): number {
    const key = pairKey(endpoint.user.id, endpoint.peer.id);
    if (!removeFrom(this.#byPair, key, endpoint)) return -1;
    removeFrom(this.#byToken, endpoint.tokenHash, endpoint);
    const left = (this.#perUser.get(endpoint.user.id) ?? 1) - 1;
    if (left === 0) this.#perUser.delete(endpoint.user.id);
    else this.#perUser.set(endpoint.user.id, left);
    this.#size--;
    return this.#byPair.get(key)?.size ?? 0;
  }

  /** The endpoints on the pair (fromUserId -> toUserId), if any. */
  onPair(fromUserId: number, toUserId: number): ReadonlySet<Endpoint> | undefined {
    return this.#byPair.get(pairKey(fromUserId, toUserId));
  }

  /**
   * Whether any endpoint on the pair (userId -> peerId) but `except` is `v2`; looks at that
   * pair's only.
   */
  hasV2OnPair(userId: number, peerId: number, except?: Endpoint): boolean {
    const endpoints = this.onPair(userId, peerId);
    if (endpoints === undefined) return false;
    for (const endpoint of endpoints) if (endpoint.v2 && endpoint !== except) return true;
    return false;
  }

  /** Sends a control frame to every endpoint on the pair (fromUserId -> toUserId). */
  sendToPair(fromUserId: number, toUserId: number, frame: string): void {
    const endpoints = this.onPair(fromUserId, toUserId);
    if (endpoints !== undefined) { for (const endpoint of endpoints) endpoint.send(frame); }
  }

  /** Sends `frame` to every v2 endpoint on the pair (userId -> peerId) but `except`. */
  push(userId: number, peerId: number, frame: string, except?: Endpoint): void {
    const endpoints = this.onPair(userId, peerId);
    if (endpoints === undefined) return;
    for (const endpoint of endpoints) {
      if (endpoint.v2 && endpoint !== except) endpoint.send(frame);
    }
  }

  /** Offers a message from `fromUserId` to every endpoint on (toUserId -> fromUserId). */
  deliver(message: StoredMessage, fromUserId: number, toUserId: number): void {
    const receivers = this.onPair(toUserId, fromUserId);
    if (receivers === undefined) return;
    const frame = chatMessageFrame(message); // Encoded once for every receiver.
    for (const receiver of receivers) receiver.deliver(message, frame);
  }

  /** Has every endpoint on (toUserId -> fromUserId) catch up on `fromUserId`'s messages. */
  catchUp(fromUserId: number, toUserId: number): void {
    const receivers = this.onPair(toUserId, fromUserId);
    if (receivers !== undefined) { for (const receiver of receivers) receiver.catchUp(); }
  }

  /** Terminates, with 30002, every endpoint that authenticated with `tokenHash`. */
  revoke(tokenHash: string): void {
    const endpoints = this.#byToken.get(tokenHash);
    if (endpoints === undefined) return;
    for (const endpoint of [...endpoints]) endpoint.terminate(DISCONNECT.TOKEN_FAILED);
  }

  /**
   * Terminates every endpoint of an erased user with 30002, and every endpoint chatting with
   * them with 30003 (naming them as the endpoint's peer).
   */
  disconnectUser(userId: number): void {
    for (const endpoint of this.all()) {
      if (endpoint.user.id === userId) endpoint.terminate(DISCONNECT.TOKEN_FAILED);
      else if (endpoint.peer.id === userId) {
        endpoint.terminate(DISCONNECT.targetNotFound(endpoint.peer.username));
      }
    }
  }

  /** Forgets every endpoint and returns them, e.g. to terminate them. */
  clear(): Endpoint[] {
    const all = [...this.#byToken.values()].flatMap((set) => [...set]);
    this.#byPair.clear();
    this.#byToken.clear();
    this.#perUser.clear();
    this.#size = 0;
    return all;
  }

  /** Every endpoint held. */
  all(): Endpoint[] {
    return [...this.#byToken.values()].flatMap((set) => [...set]);
  }
}
