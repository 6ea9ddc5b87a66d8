/**
 * Typing on one v2 socket: `{"typing": true/false}` frames become 30014 for the peer's v2 sockets,
 * only when the state changes (a repeated `true` just keeps it alive); a `true` ends by itself
 * `TYPING_EXPIRES_MS` after the last repeat, and when the socket closes. Frames over the socket's
 * typing rate are ignored without an answer: a client maps a 30004/30005 without id to its
 * message in flight, so no answer may come for a typing frame. Nothing is stored.
 */
import { TYPING_EXPIRES_MS } from "../protocol/client_frame.ts";
import { TokenBucket } from "../limits/token_bucket.ts";
import type { Clock } from "../time.ts";

/** What a socket's typing state needs. */
export interface TypingOptions {
  readonly rate: number;
  readonly burst: number;
  readonly clock: Clock;
  /** Tells the peer (30014); called on every change of state. */
  readonly tell: (typing: boolean) => void;
}

/** The typing state of one socket. */
export class Typing {
  readonly #options: TypingOptions;
  readonly #bucket: TokenBucket;
  #typing = false;
  #expiry: ReturnType<typeof setTimeout> | undefined;

  constructor(options: TypingOptions) {
    this.#options = options;
    this.#bucket = new TokenBucket(options.rate, options.burst, options.clock);
  }

  /** A typing frame arrived; ignored over the rate. */
  received(typing: boolean): void {
    if (this.#bucket.take() > 0) return;
    if (typing) {
      clearTimeout(this.#expiry);
      this.#expiry = setTimeout(() => this.#set(false), TYPING_EXPIRES_MS);
    }
    this.#set(typing);
  }

  /** The socket closed (or the user sent a message): typing, if on, ends now. */
  stop(): void {
    this.#set(false);
  }

  #set(typing: boolean): void {
    if (!typing) {
      clearTimeout(this.#expiry);
      this.#expiry = undefined;
    }
    if (typing === this.#typing) return;
    this.#typing = typing;
    this.#options.tell(typing);
  }
}
