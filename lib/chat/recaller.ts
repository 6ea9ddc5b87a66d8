/**
 * The one path by which a message is recalled (撤回), from a `chat.v2` socket's `{"recall": N}`
 * or `DELETE /v1/messages/<id>` alike: the repository erases the text if the sender asks within
 * `RECALL_WINDOW`, then the v2 sockets of both users on the pair, on every node, get 30015. Seed
 * sockets get nothing new; a recalled message that still waited is never delivered to them.
 */
import { recalledFrame } from "../protocol/v2_server_frame.ts";
import type { Clock } from "../time.ts";
import type { Hub } from "../hub/hub.ts";
import type { RecallOutcome, Repository, UserRef } from "../storage/repository.ts";

/** A recall that went through: the message as it is now. */
export type Recalled = Extract<RecallOutcome, { kind: "recalled" }>;

/** What the recaller needs from the service. */
export interface RecallerContext {
  readonly repository: Pick<Repository, "recallMessage">;
  readonly hub: Pick<Hub, "pushToPair">;
  readonly clock: Clock;
  /** `RECALL_WINDOW`: how long after sending a message may be recalled; 0 turns recall off. */
  readonly windowMs: number;
  /** Told after each new recall was pushed (the conversation list's updates hang here). */
  readonly onRecalled?: (recalled: Recalled) => Promise<void>;
}

/** Recalls messages and tells the pair's v2 sockets. */
export class Recaller {
  readonly #context: RecallerContext;

  constructor(context: RecallerContext) {
    this.#context = context;
  }

  /** The window in ms, for answers that name it. */
  get windowMs(): number {
    return this.#context.windowMs;
  }

  /**
   * Recalls `messageId` for `sender`; with `peerId`, only a message to that peer (a recall on a
   * pair's socket). A recall that was new is pushed as 30015 before this resolves.
   */
  async recall(sender: UserRef, messageId: number, peerId?: number): Promise<RecallOutcome> {
    const { repository, hub, clock, windowMs } = this.#context;
    const now = clock();
    const outcome = await repository.recallMessage({
      messageId,
      senderId: sender.id,
      toUserId: peerId,
      // A window of 0: no message is recent enough.
      notBefore: windowMs === 0 ? Number.MAX_SAFE_INTEGER : now - windowMs,
      at: now,
    });
    if (outcome.kind === "refused" || outcome.already) return outcome;
    const frame = recalledFrame(messageId, outcome.message.fromUser);
    const { fromUserId, toUserId } = outcome;
    // The sender's other devices, and the receiver's; a note to oneself is one pair.
    await hub.pushToPair(fromUserId, toUserId, frame);
    if (toUserId !== fromUserId) await hub.pushToPair(toUserId, fromUserId, frame);
    await this.#context.onRecalled?.(outcome);
    return outcome;
  }
}

/** Why a recall was refused, in words for the client; `peer` when it was asked on a pair. */
export function refusalReason(
  reason: "not_yours" | "too_late",
  windowMs: number,
  peer?: string,
): string {
  if (reason === "not_yours") {
    return peer === undefined ? "not a message you sent" : `not a message you sent to ${peer}`;
  }
  return windowMs === 0
    ? "recall is turned off"
    : `sent more than ${Math.round(windowMs / 1000)} s ago (RECALL_WINDOW)`;
}
