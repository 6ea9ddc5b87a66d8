/**
 * A `chat.v2` socket's `{"recall": N}` (the session's `RecallHandler`): paced per socket like
 * messages (`MSG_RATE`/`MSG_BURST`, each recall is a write), then handed to the `Recaller` for the
 * socket's pair. A recall that goes through reaches the socket as the pair's 30015, like every v2
 * socket of the pair; one recalled before gets its 30015 again, to this socket only; a refused one
 * gets 30004 naming the recall, and the socket stays open.
 */
import { refusedControlFrame } from "../protocol/server_frame.ts";
import { recalledFrame } from "../protocol/v2_server_frame.ts";
import { TokenBucket } from "../limits/token_bucket.ts";
import type { Clock } from "../time.ts";
import { errorMessage, type Logger } from "../log.ts";
import type { Endpoint } from "../hub/hub.ts";
import type { RecallHandler } from "./chat_session.ts";
import { type Recaller, refusalReason } from "./recaller.ts";

/** What the sockets' recalls need. */
export interface SocketRecallsOptions {
  readonly recaller: Recaller;
  readonly clock: Clock;
  readonly rate: number;
  readonly burst: number;
  readonly log: Logger;
}

/** Handles the recall frames of every socket of the service. */
export class SocketRecalls implements RecallHandler {
  readonly #options: SocketRecallsOptions;
  // One bucket per socket, gone with it.
  readonly #buckets = new WeakMap<Endpoint, TokenBucket>();

  constructor(options: SocketRecallsOptions) {
    this.#options = options;
  }

  /** Recalls `messageId` for the socket (the frame's client `id`, if any, is named in a refusal). */
  async recall(endpoint: Endpoint, messageId: number, id: string | null): Promise<void> {
    const { recaller, log } = this.#options;
    const refuse = (reason: string) =>
      endpoint.send(refusedControlFrame("recall", messageId, reason, id));
    const waitMs = this.#bucket(endpoint).take();
    if (waitMs > 0) return refuse(`rate limit exceeded; retry after ${waitMs} ms`);
    let outcome;
    try {
      outcome = await recaller.recall(endpoint.user, messageId, endpoint.peer.id);
    } catch (error) {
      // Not the socket's fault: it stays open, and the client may ask again.
      log.error("chat.recall_failed", { user: endpoint.user.username, error: errorMessage(error) });
      return refuse("not recalled now; try again");
    }
    if (outcome.kind === "refused") {
      refuse(refusalReason(outcome.reason, recaller.windowMs, endpoint.peer.username));
    } else if (outcome.already) endpoint.send(recalledFrame(messageId, outcome.message.fromUser));
  }

  #bucket(endpoint: Endpoint): TokenBucket {
    let bucket = this.#buckets.get(endpoint);
    if (bucket === undefined) {
      const { rate, burst, clock } = this.#options;
      bucket = new TokenBucket(rate, burst, clock);
      this.#buckets.set(endpoint, bucket);
    }
    return bucket;
  }
}
