/**
 * One chat socket on the pair (user -> peer), from open to close: the admission verdict, the
 * join to the hub (presence), the waiting messages, and the one `terminate(disconnect)` path by
 * which the server ends a socket. What the client sends is handled by `Inbound`; what the server
 * writes, with flow control and delivery confirmation, by `Outbound`. It sees a `ChatSocket`,
 * never Deno's WebSocket.
 */
import { peerLoginFrame, refusedControlFrame, typingFrame } from "../protocol/server_frame.ts";
import { DISCONNECT, type Disconnect } from "../protocol/disconnect.ts";
import { errorMessage } from "../log.ts";
import type { Limits } from "../config.ts";
import { type Endpoint, HubUnavailableError } from "../hub/hub.ts";
import type { StoredMessage, UserRef } from "../storage/repository.ts";
import type { Admission } from "./admission.ts";
import type { Authenticator } from "../auth/authenticator.ts";
import { StorageUnavailableError } from "../storage/errors.ts";
import type { ChatSocket, ChatSocketHandlers } from "./socket.ts";
import type { V2ControlFrame } from "../protocol/client_frame.ts";
import type { DeliveryMarker } from "./delivery_marker.ts";
import { Inbound, type InboundContext, type InboundSink } from "./inbound.ts";
import { Outbound } from "./outbound.ts";
import { WaitingReader } from "./waiting_reader.ts";
import type { ConversationNotifier } from "./conversation_notifier.ts";
import { Typing } from "./typing.ts";
import { callAt } from "../time.ts";

/** What a chat session needs from the rest of the service. */
export interface ChatContext extends InboundContext {
  readonly deliveries: DeliveryMarker;
  readonly limits: Pick<
    Limits,
    | "messageRate"
    | "messageBurst"
    | "messageQueue"
    | "messageQueueBytes"
    | "maxBufferedBytes"
    | "maxUnacked"
    | "typingRate"
    | "typingBurst"
  >;
  /** Read markers, 30013/30016/30021 and what a v2 socket learns as it opens. */
  readonly notifier: ConversationNotifier;
  /** Handles a v2 `{"recall": N}`; absent: every recall is refused with 30004. */
  readonly recalls?: RecallHandler;
  /** Numbers connections for the logs, per service. */
  readonly nextConnectionId: () => number;
  /** Checks again, at join, that the session still holds. */
  readonly authenticator: Authenticator;
}

/** Recalls a message for a v2 socket (issue 12): answers the socket itself when refused. */
export interface RecallHandler {
  recall(endpoint: Endpoint, messageId: number, id: string | null): Promise<void>;
}

const NOBODY: UserRef = { id: 0, username: "" };

// What `whenClosed` and `whenSocketClosed` answer once the close has happened.
const SETTLED: Promise<void> = Promise.resolve();

/** The server side of one chat socket. */
export class ChatSession implements Endpoint, ChatSocketHandlers, InboundSink {
  readonly user: UserRef;
  readonly peer: UserRef;
  readonly tokenHash: string;
  /** Whether the socket negotiated `chat.v2`; a seed socket sees exactly the seed's frames. */
  readonly v2: boolean;
  readonly #id: number;
  readonly #socket: ChatSocket;
  readonly #admission: Admission;
  readonly #context: ChatContext;
  readonly #inbound: Inbound;
  readonly #outbound: Outbound;
  readonly #waiting: WaitingReader;
  readonly #typing: Typing | null;
  readonly #onClosed: (() => void) | undefined;
  #closed = false;
  #socketIsClosed = false;
  #joined = false;
  // The start after the open, until it is done.
  #started: Promise<void> | null = null;
  #expiryTimer: ReturnType<typeof setTimeout> | undefined;
  // Made only when someone waits, before the close (issue 14: idle sockets hold no promises).
  #whenClosed: PromiseWithResolvers<void> | null = null;
  #socketClosed: PromiseWithResolvers<void> | null = null;

  /** `onClosed` is called once, when the session closes. */
  constructor(
    socket: ChatSocket,
    admission: Admission,
    context: ChatContext,
    onClosed?: () => void,
  ) {
    this.#id = context.nextConnectionId();
    this.#socket = socket;
    this.#admission = admission;
    this.#context = context;
    this.#onClosed = onClosed;
    this.user = admission.admitted ? admission.session.user : NOBODY;
    this.peer = admission.admitted ? admission.peer : NOBODY;
    this.tokenHash = admission.admitted ? admission.session.tokenHash : "";
    const receipts = this.#receipts;
    this.v2 = admission.admitted && admission.v2;
    this.#outbound = new Outbound({
      socket,
      receipts,
      limits: context.limits,
      deliveries: context.deliveries,
      pair: { receiverId: this.user.id, senderId: this.peer.id },
      metrics: context.metrics,
      onTooSlow: (cause) => this.#tooSlow(cause),
    });
    this.#typing = this.v2 && this.user.id !== this.peer.id
      ? new Typing({
        rate: context.limits.typingRate,
        burst: context.limits.typingBurst,
        clock: context.clock,
        tell: (typing) => this.#tellTyping(typing),
      })
      : null;
    this.#waiting = new WaitingReader({
      repository: context.repository,
      receiver: this.user.id,
      sender: this.peer.id,
      outbound: this.#outbound,
    });
    this.#inbound = new Inbound(this.user, this.peer, this.#id, context, this, this.v2, this);
  }

  // Receipt mode (`ack=1`).
  get #receipts(): boolean {
    return this.#admission.admitted && this.#admission.receipts;
  }

  // --- ChatSocketHandlers ---

  opened(): void {
    if (this.#closed) return;
    const admission = this.#admission;
    if (!admission.admitted) {
      const { disconnect } = admission;
      this.#context.log.info("chat.rejected", { conn: this.#id, reason: disconnect.reason });
      this.terminate(disconnect);
      return;
    }
    this.#context.log.info("chat.open", {
      conn: this.#id,
      user: this.user.username,
      peer: this.peer.username,
      receipts: admission.receipts || undefined,
    });
    this.#armExpiry(admission.session.expiresAt);
    this.#started = this.#startOrFail();
  }

  received(data: string | ArrayBuffer): void {
    if (this.#closed || !this.#admission.admitted) return;
    this.#inbound.received(data);
  }

  closed(code: number): void {
    this.#socketIsClosed = true;
    this.#socketClosed?.resolve();
    // Closed by the client: its close came after every frame queued before it.
    this.#shutDown(code, this.#socket.bufferedAmount === 0);
  }

  /** Resolves when the socket itself closed: the handshake ended, or the socket was dropped. */
  get whenSocketClosed(): Promise<void> {
    if (this.#socketIsClosed) return SETTLED;
    return (this.#socketClosed ??= Promise.withResolvers<void>()).promise;
  }

  // --- Endpoint ---

  send(frame: string): void {
    if (!this.#closed) this.#outbound.send(frame);
  }

  deliver(message: StoredMessage, frame: string): void {
    if (!this.#closed) this.#outbound.deliver(message, frame);
  }

  catchUp(): void {
    if (this.#closed || !this.#admission.admitted) return;
    this.#waiting.catchUp().catch((error) => this.fail("chat.catch_up_failed", error));
  }

  /** The one way the server ends this socket: the disconnect's frame, then its close. */
  terminate(disconnect: Disconnect): void {
    if (this.#closed) return;
    const { frame, code, reason } = disconnect;
    // Answers held while waiting messages load (storage reads wait for the disk) come first.
    this.#outbound.flushHeldFrames();
    if (frame !== null) this.#socket.send(frame);
    // Read before closing: a closing socket reports 0 bytes buffered though the frames queued
    // before the close are not yet sent; those must stay waiting.
    const handedOver = this.#socket.bufferedAmount === 0;
    this.#socket.close(code, reason);
    this.#shutDown(code, handedOver);
  }

  /** Resolves once the session has closed. */
  get whenClosed(): Promise<void> {
    if (this.#closed) return SETTLED;
    return (this.#whenClosed ??= Promise.withResolvers<void>()).promise;
  }

  /** Resolves when every frame received so far has been handled. */
  async settled(): Promise<void> {
    if (this.#started !== null) await this.#started;
    await this.#inbound.settled();
  }

  // --- InboundSink ---

  /** An answer to the client's frame, in turn with everything else the socket sends. */
  reply(frame: string): void {
    this.#outbound.send(frame);
  }

  /** A receipt `{"ack": upTo}`: counts in receipt mode only. */
  acknowledged(upTo: number): void {
    if (this.#receipts) this.#outbound.confirmUpTo(upTo);
  }

  /** A v2 control frame: read marker, typing, recall. */
  control(frame: V2ControlFrame): void {
    switch (frame.kind) {
      case "typing":
        this.#typing?.received(frame.typing);
        return;
      case "read":
        this.#markRead(frame.messageId, frame.id).catch((error) =>
          this.#context.log.error("chat.read_failed", {
            conn: this.#id,
            error: errorMessage(error),
          })
        );
        return;
      case "recall":
        this.#recall(frame.messageId, frame.id);
    }
  }

  /** Handling failed unexpectedly: logged, and the socket ends (1013 when it is transient). */
  fail(event: string, error: unknown): void {
    this.#context.log.error(event, { conn: this.#id, error: errorMessage(error) });
    const transient = error instanceof HubUnavailableError ||
      error instanceof StorageUnavailableError;
    this.terminate(transient ? DISCONNECT.TRY_AGAIN_LATER : DISCONNECT.INTERNAL_ERROR);
  }

  // --- internals ---

  async #startOrFail(): Promise<void> {
    try {
      await this.#start();
    } catch (error) {
      this.fail("chat.start_failed", error);
    } finally {
      this.#started = null;
    }
  }

  async #start(): Promise<void> {
    const { hub } = this.#context;
    this.#joined = true;
    const { peerOnline } = await hub.join(this);
    if (this.#closed) {
      // Closed while joining: the leave in #shutDown may have run before the join landed.
      await hub.leave(this);
      return;
    }
    // A logout or erasure between admission and the join found no socket to close: check again.
    if (!this.#admission.admitted) return;
    if (!(await this.#context.authenticator.stillValid(this.#admission.session))) {
      this.terminate(DISCONNECT.TOKEN_FAILED);
      return;
    }
    if (peerOnline) this.#outbound.sendNow(peerLoginFrame(this.peer.username));
    // Deliveries this process has written but not yet marked must not count as waiting.
    await this.#context.deliveries.flush();
    // Waiting messages first, oldest first, a page at a time so memory stays bounded.
    await this.#waiting.readOnOpen();
    // A v2 socket learns how far its messages were delivered and read while it was away.
    if (this.v2 && !this.#closed) await this.#context.notifier.greet(this);
  }

  /** `{"recall": N}`: handed to the recall handler, or refused with 30004 when there is none. */
  #recall(messageId: number, id: string | null): void {
    const recalls = this.#context.recalls;
    if (recalls === undefined) {
      const reason = "recall is not available";
      this.#outbound.send(refusedControlFrame("recall", messageId, reason, id));
      return;
    }
    recalls.recall(this, messageId, id).catch((error) =>
      this.#context.log.error("chat.recall_failed", {
        conn: this.#id,
        error: errorMessage(error),
      })
    );
  }

  /** `{"read": N}`: moves my marker; an id that is no message from the peer to me gets 30004. */
  async #markRead(messageId: number, id: string | null): Promise<void> {
    const mark = await this.#context.notifier.markRead(this.user, this.peer, messageId);
    if (mark !== null || this.#closed) return;
    const reason = `not a message from ${this.peer.username} to you`;
    this.#outbound.send(refusedControlFrame("read", messageId, reason, id));
  }

  #tellTyping(typing: boolean): void {
    const frame = typingFrame(this.user.username, typing);
    this.#context.hub.pushToPair(this.peer.id, this.user.id, frame).catch((error) =>
      this.#context.log.error("chat.typing_failed", { conn: this.#id, error: errorMessage(error) })
    );
  }

  #tooSlow(cause: string): void {
    this.#context.metrics.connectionsRefused.inc({ reason: "slow_receiver" });
    this.#context.log.warn("chat.too_slow", {
      conn: this.#id,
      user: this.user.username,
      cause,
      unconfirmed: this.#outbound.unconfirmedCount,
    });
    this.terminate(DISCONNECT.TOO_SLOW);
  }

  #armExpiry(expiresAt: number): void {
    callAt(
      this.#context.clock,
      expiresAt,
      () => this.terminate(DISCONNECT.TOKEN_EXPIRED),
      (timer) => this.#expiryTimer = timer,
    );
  }

  #shutDown(code: number, handedOver: boolean): void {
    if (this.#closed) return;
    this.#closed = true;
    // One line per admitted connection, whichever side closed it.
    if (this.#admission.admitted) {
      this.#context.log.info("chat.close", {
        conn: this.#id,
        user: this.user.username,
        peer: this.peer.username,
        code,
      });
    }
    // Handed to the network in full: delivered. Otherwise they stay waiting for the next socket.
    this.#outbound.close(handedOver);
    // What the client sent before the end and still waits for the rate is stored now.
    this.#inbound.close();
    clearTimeout(this.#expiryTimer);
    this.#typing?.stop();
    this.#whenClosed?.resolve();
    this.#onClosed?.();
    if (this.#joined) {
      // Once what the client sent is stored and published: should this node die before, the
      // pair is still its own in the hub, and the peers catch up when it is reaped.
      this.#inbound.settled().then(() => this.#context.hub.leave(this)).catch((error) =>
        this.#context.log.error("chat.leave_failed", { conn: this.#id, error: errorMessage(error) })
      );
    }
  }
}
