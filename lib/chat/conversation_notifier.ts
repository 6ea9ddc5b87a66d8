/**
 * What the v2 sockets and inbox sockets are told about conversations, and the one place that
 * decides it: a stored message (30013 to the sender's other v2 sockets on the pair, 30021 to both
 * inboxes), a read marker (30012 to the peer's v2 sockets, 30021 to the reader's inboxes),
 * deliveries (30016 to the sender's v2 sockets, cumulative), presence (30022 to the inboxes of
 * everyone with a conversation with the user), and what a v2 socket learns as it opens. Every
 * frame goes through the hub's pushes, so it reaches sockets on every node; seed sockets get
 * none of it.
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
  readonly #pending = new Set<Promise<void>>();

  constructor(context: NotifierContext) {
    this.#context = context;
  }

  /**
   * A message was stored (not a resend): the sender's other v2 sockets on the pair get 30013,
   * both inboxes a 30021. Not awaited by the writer, so a slow or frozen Redis never holds the
   * sender's queue; the push is issued at once (local sockets get it now, Redis gets the command
   * now), so it keeps its place after the message's publish among the pair's frames.
   */
  messageStored(message: StoredMessage, from: UserRef, to: UserRef, origin?: Endpoint): void {
    if (from.id !== to.id) {
      const frame = sentFrame({
        msg: message.msg,
        toUser: to.username,
        sendTime: message.sendTime,
        messageId: message.messageId,
      });
      this.#track(
        this.#context.hub.pushToPair(from.id, to.id, frame, origin),
        "notify.sent_failed",
      );
    }
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

  /** Deliveries were written: each sender's v2 sockets on the pair get their 30016. */
  delivered(pairs: readonly DeliveredPair[]): void {
    for (const { receiverId, senderId } of pairs) {
      if (receiverId === senderId) continue;
      this.#track(this.#sendDelivered(receiverId, senderId), "notify.delivered_failed");
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
   * now (30021); in order with the owner's other updates from this node.
   */
  updateInbox(ownerId: number, peerId: number): Promise<void> {
    const previous = this.#inboxQueues.get(ownerId) ?? Promise.resolve();
    const next = previous.then(() => this.#sendInboxUpdate(ownerId, peerId)).catch((error) =>
      this.#context.log.error("notify.inbox_failed", { error: errorMessage(error) })
    );
    this.#inboxQueues.set(ownerId, next);
    this.#track(next, "notify.inbox_failed");
    next.finally(() => {
      if (this.#inboxQueues.get(ownerId) === next) this.#inboxQueues.delete(ownerId);
    });
    return next;
  }

  /** Resolves once every notification started so far is sent (or failed and logged). */
  async settled(): Promise<void> {
    while (this.#pending.size > 0) await Promise.all(this.#pending);
  }

  async #sendInboxUpdate(ownerId: number, peerId: number): Promise<void> {
    const { hub, repository } = this.#context;
    if (!(await hub.isOnPair(ownerId, INBOX_PEER.id))) return;
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

  async #sendDelivered(receiverId: number, senderId: number): Promise<void> {
    const { hub, repository } = this.#context;
    if (!(await hub.isOnPair(senderId, receiverId))) return;
    const upTo = await repository.deliveredUpto(receiverId, senderId);
    if (upTo > 0) await hub.pushToPair(senderId, receiverId, deliveredFrame(upTo));
  }

  #track(work: Promise<void>, event: string): void {
    const tracked = work.catch((error) =>
      this.#context.log.error(event, { error: errorMessage(error) })
    ).finally(() => this.#pending.delete(tracked));
    this.#pending.add(tracked);
  }
}
