/**
 * A `chat.v2` socket's `{"recall": N}`: paced like messages (`MSG_RATE`/`MSG_BURST`, each recall
 * is a write), then handed to the `Recaller` for this socket's pair. A recall that goes through
 * reaches this socket as the pair's 30015, like every v2 socket of the pair; one recalled before
 * gets its 30015 again here only; a refused one gets 30004 naming the recall.
 */
import { refusedControlFrame } from "../protocol/server_frame.ts";
import { recalledFrame } from "../protocol/v2_server_frame.ts";
import { TokenBucket } from "../limits/token_bucket.ts";
import type { Clock } from "../time.ts";
import { errorMessage, type Logger } from "../log.ts";
import type { UserRef } from "../storage/repository.ts";
import { type Recaller, refusalReason } from "./recaller.ts";

/** What the control needs: who recalls on which pair, how, and where answers go. */
export interface RecallControlOptions {
  readonly user: UserRef;
  readonly peer: UserRef;
  /** Absent: recall is not available here; every recall is refused. */
  readonly recaller: Recaller | undefined;
  readonly clock: Clock;
  readonly rate: number;
  readonly burst: number;
  readonly log: Logger;
  /** An answer to this socket, in turn with everything else it is sent. */
  readonly reply: (frame: string) => void;
}

/** Handles one socket's recall frames. */
export class RecallControl {
  readonly #options: RecallControlOptions;
  readonly #bucket: TokenBucket;

  constructor(options: RecallControlOptions) {
    this.#options = options;
    this.#bucket = new TokenBucket(options.rate, options.burst, options.clock);
  }

  /** Recalls `messageId` (the frame's client `id`, if any, is named in a refusal). */
  async recall(messageId: number, id: string | null): Promise<void> {
    const { user, peer, recaller, reply } = this.#options;
    const refuse = (reason: string) => reply(refusedControlFrame("recall", messageId, reason, id));
    if (recaller === undefined) return refuse("recall is not available");
    const waitMs = this.#bucket.take();
    if (waitMs > 0) return refuse(`rate limit exceeded; retry after ${waitMs} ms`);
    let outcome;
    try {
      outcome = await recaller.recall(user, messageId, peer.id);
    } catch (error) {
      // Not the socket's fault: it stays open, and the client may ask again.
      this.#options.log.error("chat.recall_failed", {
        user: user.username,
        error: errorMessage(error),
      });
      return refuse("not recalled now; try again");
    }
    if (outcome.kind === "refused") {
      refuse(refusalReason(outcome.reason, recaller.windowMs, peer.username));
    } else if (outcome.already) reply(recalledFrame(messageId, outcome.message.fromUser));
  }
}
