/**
 * Records each user presence change the hub reports (first socket anywhere, last one closed):
 * the user's `last_seen` and, when webhooks want it, the `user.online` / `user.offline` event,
 * in one transaction. The hub tells exactly one node of each change, so each is recorded once;
 * once recorded, `onChanged` hears it (the inboxes' 30022).
 */
import type { UserPresenceListener } from "../hub/hub.ts";
import { errorMessage, type Logger } from "../log.ts";
import type { Repository } from "../storage/repository.ts";
import type { Clock } from "../time.ts";
import type { WebhookEventType } from "./event_types.ts";

/** Hears a recorded presence change: the user, online or not, and when (`last_seen`). */
export type UserPresenceChanged = (userId: number, online: boolean, at: number) => void;

/** What the recorder needs. */
export interface PresenceRecorderOptions {
  readonly repository: Repository;
  readonly clock: Clock;
  readonly log: Logger;
  /** The webhook event types to record; absent when webhooks are off. */
  readonly webhookEvents?: ReadonlySet<WebhookEventType>;
}

/** Turns hub presence changes into stored ones. */
export class PresenceRecorder {
  readonly #options: PresenceRecorderOptions;
  readonly #pending = new Set<Promise<void>>();
  #onRecorded: () => void = () => {};
  #onChanged: UserPresenceChanged = () => {};

  constructor(options: PresenceRecorderOptions) {
    this.#options = options;
  }

  /** The listener to give the hub. */
  readonly listener: UserPresenceListener = (userId, online) => {
    const { repository, clock, log, webhookEvents } = this.#options;
    const event = webhookEvents?.has(online ? "user.online" : "user.offline") ?? false;
    const at = clock();
    const write = repository.recordPresence({ userId, online, at, event })
      .then(() => {
        if (event) this.#onRecorded();
        this.#onChanged(userId, online, at);
      })
      .catch((error) =>
        log.error("presence.record_failed", { user_id: userId, online, error: errorMessage(error) })
      )
      .finally(() => this.#pending.delete(write));
    this.#pending.add(write);
  };

  /** Called after an event was recorded (to wake the webhook sender). */
  set onRecorded(callback: () => void) {
    this.#onRecorded = callback;
  }

  /** Called after each change was recorded, with its time (to tell the inboxes, 30022). */
  set onChanged(callback: UserPresenceChanged) {
    this.#onChanged = callback;
  }

  /** Resolves once every change reported so far is written (or failed and logged). */
  async settled(): Promise<void> {
    while (this.#pending.size > 0) await Promise.all(this.#pending);
  }
}
