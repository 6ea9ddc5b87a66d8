/**
 * One inbox socket (`/v1/inbox?token=`, chat.v2 only), from open to close: an endpoint of the
 * user on (user -> INBOX_PEER) in the hub, so it counts as online for presence and closes on
 * logout and erasure like any socket; it gets the owner's 30021 and 30022 pushes and sends
 * nothing that is read (frames from the client are ignored; one over `MAX_FRAME_BYTES` ends it).
 */
import { DISCONNECT, type Disconnect } from "../protocol/disconnect.ts";
import { utf8LengthUpTo } from "../protocol/text.ts";
import { errorMessage, type Logger } from "../log.ts";
import { type Endpoint, type Hub, HubUnavailableError, INBOX_PEER } from "../hub/hub.ts";
import type { Authenticator } from "../auth/authenticator.ts";
import { StorageUnavailableError } from "../storage/errors.ts";
import type { UserRef } from "../storage/repository.ts";
import { callAt, type Clock } from "../time.ts";
import type { Admission } from "./admission.ts";
import type { ChatSocket, ChatSocketHandlers } from "./socket.ts";

/** What an inbox session needs. */
export interface InboxContext {
  readonly hub: Hub;
  readonly authenticator: Authenticator;
  readonly clock: Clock;
  readonly log: Logger;
  readonly maxFrameBytes: number;
  readonly limits: { readonly maxBufferedBytes: number };
}

/** The server side of one inbox socket. */
export class InboxSession implements Endpoint, ChatSocketHandlers {
  readonly user: UserRef;
  readonly peer: UserRef = INBOX_PEER;
  readonly tokenHash: string;
  readonly v2 = true;
  readonly #socket: ChatSocket;
  readonly #admission: Admission;
  readonly #context: InboxContext;
  #closed = false;
  #joined = false;
  #started: Promise<void> = Promise.resolve();
  #expiryTimer: ReturnType<typeof setTimeout> | undefined;
  readonly #whenClosed = Promise.withResolvers<void>();
  readonly #socketClosed = Promise.withResolvers<void>();
  readonly #onClosed: (() => void) | undefined;

  /** `onClosed` is called once, when the session closes. */
  constructor(
    socket: ChatSocket,
    admission: Admission,
    context: InboxContext,
    onClosed?: () => void,
  ) {
    this.#onClosed = onClosed;
    this.#socket = socket;
    this.#admission = admission;
    this.#context = context;
    this.user = admission.admitted ? admission.session.user : INBOX_PEER;
    this.tokenHash = admission.admitted ? admission.session.tokenHash : "";
  }

  opened(): void {
    if (this.#closed) return;
    const admission = this.#admission;
    if (!admission.admitted) {
      this.terminate(admission.disconnect);
      return;
    }
    this.#context.log.info("inbox.open", { user: this.user.username });
    this.#armExpiry(admission.session.expiresAt);
    this.#started = this.#start().catch((error) => this.#fail(error));
  }

  received(data: string | ArrayBuffer): void {
    const size = typeof data === "string"
      ? utf8LengthUpTo(data, this.#context.maxFrameBytes)
      : data.byteLength;
    if (size > this.#context.maxFrameBytes) this.terminate(DISCONNECT.FRAME_TOO_BIG);
  }

  closed(code: number): void {
    this.#socketClosed.resolve();
    this.#shutDown(code);
  }

  /** Resolves when the socket itself closed: the handshake ended, or the socket was dropped. */
  get whenSocketClosed(): Promise<void> {
    return this.#socketClosed.promise;
  }

  send(frame: string): void {
    if (this.#closed) return;
    if (this.#socket.bufferedAmount > this.#context.limits.maxBufferedBytes) {
      this.terminate(DISCONNECT.TOO_SLOW);
      return;
    }
    this.#socket.send(frame);
  }

  deliver(): void {
    // No pair: no messages.
  }

  catchUp(): void {
    // No pair: nothing waits.
  }

  terminate(disconnect: Disconnect): void {
    if (this.#closed) return;
    if (disconnect.frame !== null) this.#socket.send(disconnect.frame);
    this.#socket.close(disconnect.code, disconnect.reason);
    this.#shutDown(disconnect.code);
  }

  /** Resolves once the session has closed. */
  get whenClosed(): Promise<void> {
    return this.#whenClosed.promise;
  }

  /** Resolves once the join (or its failure) is done. */
  async settled(): Promise<void> {
    await this.#started;
  }

  async #start(): Promise<void> {
    const { hub, authenticator } = this.#context;
    this.#joined = true;
    await hub.join(this);
    if (this.#closed) {
      await hub.leave(this);
      return;
    }
    // A logout or erasure between admission and the join found no socket to close.
    if (this.#admission.admitted && !(await authenticator.stillValid(this.#admission.session))) {
      this.terminate(DISCONNECT.TOKEN_FAILED);
    }
  }

  #armExpiry(expiresAt: number): void {
    callAt(
      this.#context.clock,
      expiresAt,
      () => this.terminate(DISCONNECT.TOKEN_EXPIRED),
      (timer) => this.#expiryTimer = timer,
    );
  }

  #fail(error: unknown): void {
    this.#context.log.error("inbox.start_failed", { error: errorMessage(error) });
    const transient = error instanceof HubUnavailableError ||
      error instanceof StorageUnavailableError;
    this.terminate(transient ? DISCONNECT.TRY_AGAIN_LATER : DISCONNECT.INTERNAL_ERROR);
  }

  #shutDown(code: number): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#expiryTimer);
    this.#whenClosed.resolve();
    this.#onClosed?.();
    if (this.#admission.admitted) {
      this.#context.log.info("inbox.close", { user: this.user.username, code });
    }
    if (this.#joined) {
      this.#started.then(() => this.#context.hub.leave(this)).catch((error) =>
        this.#context.log.error("inbox.leave_failed", { error: errorMessage(error) })
      );
    }
  }
}
