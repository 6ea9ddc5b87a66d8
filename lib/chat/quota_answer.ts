/**
 * How a sender learns that a message of its was over a storage quota (`QUOTA_*`): 30007 (a
 * daily quota, with when the next day begins) or 30008 (too many waiting for the receiver),
 * naming the message's `id`; a client that did not opt into extensions gets the frame, then the
 * close (the seed-client rule, `refusal.ts`).
 */
import {
  dailyQuotaFrame,
  type DailyQuotaKind,
  waitingQuotaFrame,
} from "../protocol/server_frame.ts";
import { DISCONNECT } from "../protocol/disconnect.ts";
import type { QuotaRefusal } from "../storage/repository.ts";
import { type Refusal, refusal } from "./refusal.ts";

/** The daily quota's name on the wire. */
export function dailyKind(refused: QuotaRefusal): DailyQuotaKind {
  return refused.quota === "daily_bytes" ? "bytes" : "messages";
}

/** The answer to a socket whose message `id` (or none) was over a quota, or its close. */
export function quotaRefusal(optedIn: boolean, refused: QuotaRefusal, id: string | null): Refusal {
  if (refused.quota === "waiting") {
    return refusal(
      optedIn,
      waitingQuotaFrame(refused.limit, id),
      DISCONNECT.waitingQuota(refused.limit),
    );
  }
  const retryAfterMs = refused.retryAfterMs ?? 0;
  return refusal(
    optedIn,
    dailyQuotaFrame(dailyKind(refused), refused.limit, retryAfterMs, id),
    DISCONNECT.dailyQuota(dailyKind(refused), refused.limit, retryAfterMs),
  );
}
