/** The embedded hub: every connection of the service lives in this process. */
import { peerLoginFrame, peerLogoutFrame } from "../protocol/server_frame.ts";
import type { StoredMessage } from "../storage/repository.ts";
import type { Disconnect } from "../protocol/disconnect.ts";
import {
  type Endpoint,
  type Hub,
  INBOX_PEER,
  type JoinResult,
  type UserPresenceListener,
} from "./hub.ts";
import { LocalEndpoints } from "./local_endpoints.ts";

/** A `Hub` in memory: presence is whatever this process holds. */
export class MemoryHub implements Hub {
  readonly #local = new LocalEndpoints();
  readonly #onUserPresence: UserPresenceListener | undefined;

  /** `onUserPresence` hears when a user gets their first endpoint or loses their last. */
  constructor(options: { readonly onUserPresence?: UserPresenceListener } = {}) {
    this.#onUserPresence = options.onUserPresence;
  }

  get size(): number {
    return this.#local.size;
  }

  join(endpoint: Endpoint): Promise<JoinResult> {
    const { user, peer } = endpoint;
    const own = this.#local.add(endpoint);
    if (this.#local.userCount(user.id) === 1) this.#onUserPresence?.(user.id, true);
    // A note-to-self pair has no second party to tell.
    if (user.id === peer.id) return Promise.resolve({ peerOnline: false });
    const peerOnline = this.#local.onPair(peer.id, user.id) !== undefined;
    if (peerOnline && own === 1) {
      this.#local.sendToPair(peer.id, user.id, peerLoginFrame(user.username));
    }
    return Promise.resolve({ peerOnline });
  }

  leave(endpoint: Endpoint): Promise<void> {
    const { user, peer } = endpoint;
    const remaining = this.#local.remove(endpoint);
    if (remaining >= 0 && this.#local.userCount(user.id) === 0) {
      this.#onUserPresence?.(user.id, false);
    }
    if (remaining === 0 && user.id !== peer.id) {
      this.#local.sendToPair(peer.id, user.id, peerLogoutFrame(user.username));
    }
    return Promise.resolve();
  }

  publish(message: StoredMessage, fromUserId: number, toUserId: number): void {
    this.#local.deliver(message, fromUserId, toUserId);
  }

  pushToPair(userId: number, peerId: number, frame: string, except?: Endpoint): Promise<void> {
    this.#local.push(userId, peerId, frame, except);
    return Promise.resolve();
  }

  pushToInbox(userId: number, frame: string): Promise<void> {
    return this.pushToPair(userId, INBOX_PEER.id, frame);
  }

  revokeToken(tokenHash: string): Promise<void> {
    this.#local.revoke(tokenHash);
    return Promise.resolve();
  }

  isOnPair(userId: number, peerId: number): Promise<boolean> {
    return Promise.resolve(this.#local.onPair(userId, peerId) !== undefined);
  }

  mayHaveV2OnPair(userId: number, peerId: number, except?: Endpoint): boolean {
    // Every endpoint is here: the answer is exact.
    return this.#local.hasV2OnPair(userId, peerId, except);
  }

  isOnline(userId: number): Promise<boolean> {
    return Promise.resolve(this.#local.userCount(userId) > 0);
  }

  disconnectUser(userId: number): Promise<void> {
    this.#local.disconnectUser(userId);
    return Promise.resolve();
  }

  ping(): Promise<void> {
    return Promise.resolve();
  }

  close(disconnect: Disconnect): Promise<void> {
    for (const endpoint of this.#local.all()) endpoint.terminate(disconnect);
    return Promise.resolve();
  }
}
