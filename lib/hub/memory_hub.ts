/** The embedded hub: every connection of the service lives in this process. */
import {
  chatMessageFrame,
  peerLoginFrame,
  peerLogoutFrame,
  TOKEN_FAILED_FRAME,
} from "../protocol/frames.ts";
import { CLOSE_CODE } from "../protocol/status.ts";
import type { StoredMessage } from "../storage/repository.ts";
import type { Endpoint, Hub, JoinResult } from "./hub.ts";

function pairKey(fromUserId: number, toUserId: number): string {
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

/** A `Hub` in memory, indexed by pair and by token, so no operation scans every connection. */
export class MemoryHub implements Hub {
  readonly #byPair = new Map<string, Set<Endpoint>>();
  readonly #byToken = new Map<string, Set<Endpoint>>();
  #size = 0;

  get size(): number {
    return this.#size;
  }

  join(endpoint: Endpoint): Promise<JoinResult> {
    const { user, peer } = endpoint;
    const own = addTo(this.#byPair, pairKey(user.id, peer.id), endpoint);
    addTo(this.#byToken, endpoint.tokenHash, endpoint);
    this.#size++;
    // A note-to-self pair has no second party to tell.
    if (user.id === peer.id) return Promise.resolve({ peerOnline: false });
    const reverse = this.#byPair.get(pairKey(peer.id, user.id));
    const peerOnline = reverse !== undefined;
    if (peerOnline && own.size === 1) {
      const frame = peerLoginFrame(user.username);
      for (const other of reverse) other.send(frame);
    }
    return Promise.resolve({ peerOnline });
  }

  leave(endpoint: Endpoint): Promise<void> {
    const { user, peer } = endpoint;
    const key = pairKey(user.id, peer.id);
    if (!removeFrom(this.#byPair, key, endpoint)) return Promise.resolve();
    removeFrom(this.#byToken, endpoint.tokenHash, endpoint);
    this.#size--;
    if (user.id !== peer.id && !this.#byPair.has(key)) {
      const reverse = this.#byPair.get(pairKey(peer.id, user.id));
      if (reverse !== undefined) {
        const frame = peerLogoutFrame(user.username);
        for (const other of reverse) other.send(frame);
      }
    }
    return Promise.resolve();
  }

  publish(message: StoredMessage, fromUserId: number, toUserId: number): Promise<void> {
    const receivers = this.#byPair.get(pairKey(toUserId, fromUserId));
    if (receivers !== undefined) {
      const frame = chatMessageFrame(message);
      for (const receiver of receivers) receiver.deliver(message, frame);
    }
    return Promise.resolve();
  }

  revokeToken(tokenHash: string): Promise<void> {
    const endpoints = this.#byToken.get(tokenHash);
    if (endpoints !== undefined) {
      for (const endpoint of [...endpoints]) {
        endpoint.terminate(
          TOKEN_FAILED_FRAME,
          CLOSE_CODE.POLICY_VIOLATION,
          "Token authentication failed",
        );
      }
    }
    return Promise.resolve();
  }

  close(code: number, reason: string): Promise<void> {
    const all = [...this.#byToken.values()].flatMap((set) => [...set]);
    for (const endpoint of all) endpoint.terminate(null, code, reason);
    return Promise.resolve();
  }
}
