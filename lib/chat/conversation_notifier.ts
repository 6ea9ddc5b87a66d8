/**
 * What the v2 sockets and inbox sockets are told about conversations, and the one place that
 * decides it: a stored message (30013 to the sender's other v2 sockets on the pair, 30021 to both
 * inboxes), a read marker (30012 to the peer's v2 sockets, 30021 to the reader's inboxes),
 * deliveries (30016 to the sender's v2 sockets, cumulative), presence (30022 to the inboxes of
 * everyone with a conversation with the user), and what a v2 socket learns as it opens. Every
 * frame goes through the hub's pushes, so it reaches sockets on every node; seed sockets get
 * none of it.
 *
 * A frame nobody would receive is not built: before each push the hub is asked whether a v2
 * socket (or an inbox) may be there to get it (`Hub.mayHaveV2OnPair`). The in-process hub
 * answers at once, so a pair of seed sockets costs no frame, no promise and no query; when the
 * answer has to come from elsewhere (another node), the push waits for it in line behind the
 * earlier ones of the same pair or owner, so frames keep their order.
 */
import { type Endpoint, type Hub, INBOX_PEER } from "../hub/hub.ts";
import { errorMessage, type Logger } from "../log.ts";
import {
  conversationUpdatedFrame,
  deliveredFrame,
  presenceFrame,
  readFrame,
  sentFrame,
} from "../protocol/server_frame.ts";
import type { ReadMark, Repository, StoredMessage, UserRef } from "../storage/repository.ts";
import { formatLocalTime } from "../time.ts";
import type { DeliveredPair } from "./delivery_marker.ts";

/** What the notifier needs. */
export interface NotifierContext {
  readonly repository: Repository;
  readonly hub: Hub;
  readonly log: Logger;
}

/** Tells v2 and inbox sockets what changed in their conversations. */
export class ConversationNotifier {
  readonly #context: NotifierContext;
  // Inbox updates of one owner run one after another, so their frames leave in order.
  readonly #inboxQueues = new Map<number, Promise<void>>();
  // 30013s of one pair waiting for the hub's answer, so a later one never overtakes them.
  readonly #sentQueues = new Map<string, Promise<void>>();
  readonly #pending = new Set<Promise<void>>();

  constructor(context: NotifierContext) {
    this.#context = context;
  }

  /**
   * A message was stored (not a resend): the sender's other v2 sockets on the pair get 30013,
   * both inboxes a 30021. Not awaited by the writer, so a slow or frozen Redis never holds the
   * sender's queue. When the hub tells at once that the sender may have a v2 socket there (the
   * in-process hub always tells at once), the push is issued at once (local sockets get it now,
   * Redis gets the command now), so it keeps its place right after the message's publish among
   * the pair's frames; when it has to ask Redis, the push follows the answer, still after the
   * publish and in line with the pair's earlier 30013s.
   */
  messageStored(message: StoredMessage, from: UserRef, to: UserRef, origin?: Endpoint): void {
    if (from.id !== to.id) this.#sendSent(message, from, to, origin);
    this.updateInbox(from.id, to.id);
    if (from.id !== to.id) this.updateInbox(to.id, from.id);
  }

  /**
   * Moves the reader's marker (only forward, only to a message from the peer: else `null`);
   * when it moved, the peer's v2 sockets on (peer -> reader) get 30012 and the reader's inboxes
   * a 30021.
   */
  async markRead(reader: UserRef, peer: UserRef, messageId: number): Promise<ReadMark | null> {
    const mark = await this.#context.repository.markRead(reader.id, peer.id, messageId);
    if (mark === null || !mark.moved) return mark;
    if (reader.id !== peer.id) {
      await this.#context.hub.pushToPair(peer.id, reader.id, readFrame(reader.username, messageId));
    }
    this.updateInbox(reader.id, peer.id);
    return mark;
  }

  /**
   * Deliveries were written: each sender's v2 sockets on the pair get their 30016; the cursor
   * is not read when the sender has none.
   */
  delivered(pairs: readonly DeliveredPair[]): void {
    for (const { receiverId, senderId } of pairs) {
      if (receiverId === senderId) continue;
      const listening = this.#context.hub.mayHaveV2OnPair(senderId, receiverId);
      if (listening === false) continue;
      this.#track(
        this.#sendDelivered(receiverId, senderId, listening),
        "notify.delivered_failed",
      );
    }
  }

  /**
   * A v2 socket on (user -> peer) opened: it gets the delivered cursor of the user's messages
   * (30016) and the peer's read marker (30012), as they stand, when there is one.
   */
  async greet(endpoint: Endpoint): Promise<void> {
    const { user, peer } = endpoint;
    if (!endpoint.v2 || user.id === peer.id) return;
    const { repository } = this.#context;
    const upTo = await repository.deliveredUpto(peer.id, user.id);
    if (upTo > 0) endpoint.send(deliveredFrame(upTo));
    const conversation = await repository.conversation(user.id, peer.id);
    if (conversation !== null && conversation.peerReadUpto > 0) {
      endpoint.send(readFrame(peer.username, conversation.peerReadUpto));
    }
  }

  /**
   * A user got their first socket or closed their last (`at`: when, as recorded): the inboxes
   * of everyone with a conversation with them get 30022.
   */
  presenceChanged(userId: number, online: boolean, at: number): void {
    const { repository, hub } = this.#context;
    const push = async () => {
      const peers = await repository.conversationPeers(userId);
      if (peers.length === 0) return;
      // The user's name as their peers' lists show it.
      const user = (await repository.conversation(peers[0], userId))?.peer.username;
      if (user === undefined) return;
      const frame = presenceFrame({ user, online, lastSeen: formatLocalTime(at) });
      for (const peerId of peers) await hub.pushToInbox(peerId, frame);
    };
    this.#track(push(), "notify.presence_failed");
  }

  /**
   * Sends the owner's inboxes, if the owner has any, the conversation with `peerId` as it is
   * now (30021); in order with the owner's other updates from this node. The hub is asked at
   * once (a cluster's questions go out back to back, in order), and nothing is queued when it
   * knows there is no inbox.
   */
  updateInbox(ownerId: number, peerId: number): Promise<void> {
    const listening = this.#context.hub.mayHaveV2OnPair(ownerId, INBOX_PEER.id);
    if (listening === false) return Promise.resolve();
    return this.#enqueue(
      this.#inboxQueues,
      ownerId,
      () => this.#sendInboxUpdate(ownerId, peerId, listening),
      "notify.inbox_failed",
    );
  }

  /** Resolves once every notification started so far is sent (or failed and logged). */
  async settled(): Promise<void> {
    while (this.#pending.size > 0) await Promise.all(this.#pending);
  }

  /**
   * The 30013 of a stored message to the sender's v2 sockets on the pair but `origin`: not built
   * when the hub tells at once that there is none; pushed at once when it tells at once that
   * there may be one and no earlier 30013 of the pair waits; else pushed (or not) on the hub's
   * answer, after the pair's earlier 30013s. The hub is asked now either way, so a cluster's
   * questions go out back to back and their round trips overlap.
   */
  #sendSent(message: StoredMessage, from: UserRef, to: UserRef, origin?: Endpoint): void {
    const { hub } = this.#context;
    const key = `${from.id}>${to.id}`;
    const listening = hub.mayHaveV2OnPair(from.id, to.id, origin);
    if (listening === false) return;
    const push = () => {
      const frame = sentFrame({
        msg: message.msg,
        toUser: to.username,
        sendTime: message.sendTime,
        messageId: message.messageId,
      });
      this.#track(hub.pushToPair(from.id, to.id, frame, origin), "notify.sent_failed");
    };
    if (listening === true && !this.#sentQueues.has(key)) {
      push();
      return;
    }
    // In the queue, so the pushes keep the order the messages were stored in.
    this.#enqueue(this.#sentQueues, key, async () => {
      if (await listening) push();
    }, "notify.sent_failed");
  }

  /** `listening`: the hub's answer to whether the owner may hold an inbox, asked as it was due. */
  async #sendInboxUpdate(
    ownerId: number,
    peerId: number,
    listening: true | Promise<boolean>,
  ): Promise<void> {
    const { hub, repository } = this.#context;
    if (!(await listening)) return;
    const conversation = await repository.conversation(ownerId, peerId);
    if (conversation === null) return;
    await hub.pushToInbox(
      ownerId,
      conversationUpdatedFrame({
        peer: conversation.peer.username,
        unread: conversation.unread,
        lastMessage: conversation.lastMessage,
      }),
    );
  }

  async #sendDelivered(
    receiverId: number,
    senderId: number,
    listening: true | Promise<boolean>,
  ): Promise<void> {
    const { hub, repository } = this.#context;
    if (!(await listening)) return;
    const upTo = await repository.deliveredUpto(receiverId, senderId);
    if (upTo > 0) await hub.pushToPair(senderId, receiverId, deliveredFrame(upTo));
  }

  /** Runs `step` after the steps queued before it under `key`; a failure is logged. */
  #enqueue<K>(
    queues: Map<K, Promise<void>>,
    key: K,
    step: () => Promise<void>,
    event: string,
  ): Promise<void> {
    const previous = queues.get(key) ?? Promise.resolve();
    const next = previous.then(step).catch((error) =>
      this.#context.log.error(event, { error: errorMessage(error) })
    );
    queues.set(key, next);
    this.#track(next, event);
    next.finally(() => {
      if (queues.get(key) === next) queues.delete(key);
    });
    return next;
  }

  #track(work: Promise<void>, event: string): void {
    const tracked = work.catch((error) =>
      this.#context.log.error(event, { error: errorMessage(error) })
    ).finally(() => this.#pending.delete(tracked));
    this.#pending.add(tracked);
  }
}
