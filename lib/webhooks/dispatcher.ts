/**
 * Sends the webhook outbox to the app: claims the due events (each the oldest pending one of its
 * user, so one user's events go in order of creation; different users' side by side), POSTs
 * each signed, and settles it: 2xx removes it, anything else schedules a retry with exponential
 * backoff and jitter, until `WEBHOOK_MAX_AGE`, then it is recorded as failed (a metric and a
 * log line). It runs beside chat and never blocks it: a slow or absent receiver only holds its
 * own requests, each bounded by `WEBHOOK_TIMEOUT`. In a cluster every node runs one; a claim is
 * exclusive (see `Repository.claimWebhookEvents`), so each event is sent by one node.
 */
import type { WebhookSettings } from "../config.ts";
import { errorMessage, type Logger } from "../log.ts";
import type { Counter, Metrics } from "../metrics.ts";
import type { ClaimedEvent, EventOutcome, Repository } from "../storage/repository.ts";
import type { Clock } from "../time.ts";
import { eventBody } from "./event_body.ts";
import { signatureHeader, signingKey } from "./signature.ts";

/** What the dispatcher needs. */
export interface DispatcherOptions {
  readonly repository: Repository;
  readonly settings: WebhookSettings;
  readonly clock: Clock;
  readonly log: Logger;
  readonly metrics: Metrics;
  /** Replaceable in tests. */
  readonly fetch?: typeof fetch;
  /** 0 <= random() < 1, for the jitter. */
  readonly random?: () => number;
  /** How long to sleep when nothing is due (events from other nodes are found then). */
  readonly idleMs?: number;
}

/** Events claimed per round. */
const BATCH = 32;
/** A claim outlives the request's time-out by this much before another node may take it. */
const LEASE_MARGIN_MS = 5_000;
/** The first retry comes after about this long; each next one doubles it, up to the cap. */
const BACKOFF_BASE_MS = 1_000;
const BACKOFF_CAP_MS = 15 * 60_000;
const IDLE_MS = 500;
/** How often the backlog gauges are read from storage. */
const BACKLOG_EVERY_MS = 5_000;

/** The delay before attempt `attempts + 1`: 2^attempts s, capped, and 50 to 100 % of that. */
export function backoffMs(attempts: number, random: () => number): number {
  const full = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** Math.min(attempts, 30));
  return Math.round(full * (0.5 + random() / 2));
}

/** The counters the dispatcher keeps. */
interface WebhookCounters {
  readonly sent: Counter;
  readonly retried: Counter;
  readonly failed: Counter;
}

/** One node's sender of the webhook outbox. */
export class WebhookDispatcher {
  /** This sender's claims are made under this name. */
  readonly owner = `sender-${crypto.randomUUID()}`;
  readonly #options: DispatcherOptions;
  readonly #fetch: typeof fetch;
  readonly #random: () => number;
  readonly #counters: WebhookCounters;
  readonly #key: Promise<CryptoKey>;
  readonly #inFlight = new Set<AbortController>();
  #running = false;
  #loop: Promise<void> = Promise.resolve();
  #wake: (() => void) | null = null;
  #woken = false;
  #backlog = { pending: 0, oldestCreatedAt: null as number | null, readAt: 0 };

  constructor(options: DispatcherOptions) {
    this.#options = options;
    this.#fetch = options.fetch ?? fetch;
    this.#random = options.random ?? Math.random;
    this.#key = signingKey(options.settings.secret);
    const { metrics, clock } = options;
    this.#counters = {
      sent: metrics.counter("chat_webhook_events_sent_total", "Webhook events answered 2xx."),
      retried: metrics.counter(
        "chat_webhook_events_retried_total",
        "Webhook attempts that failed and were scheduled again.",
      ),
      failed: metrics.counter(
        "chat_webhook_events_failed_total",
        "Webhook events given up after WEBHOOK_MAX_AGE.",
      ),
    };
    metrics.gauge(
      "chat_webhook_events_queued",
      "Webhook events waiting to be sent (read every 5 s).",
      () => this.#backlog.pending,
    );
    metrics.gauge(
      "chat_webhook_oldest_event_age_seconds",
      "Age of the oldest webhook event waiting to be sent.",
      () => {
        const oldest = this.#backlog.oldestCreatedAt;
        return oldest === null ? 0 : Math.max(0, (clock() - oldest) / 1000);
      },
    );
  }

  /** Starts sending. */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#loop = this.#run();
  }

  /** New events were stored: look now rather than after the idle sleep. */
  wake(): void {
    this.#woken = true;
    this.#wake?.();
  }

  /**
   * Stops: requests in flight are aborted and their events scheduled again at once, so a
   * restart (of this node or another) sends them.
   */
  async stop(): Promise<void> {
    if (!this.#running) return;
    this.#running = false;
    for (const controller of this.#inFlight) controller.abort();
    this.wake();
    await this.#loop;
  }

  async #run(): Promise<void> {
    while (this.#running) {
      let claimed: ClaimedEvent[] = [];
      try {
        await this.#readBacklog();
        const now = this.#options.clock();
        claimed = await this.#options.repository.claimWebhookEvents({
          now,
          leaseUntil: now + this.#options.settings.timeoutMs + LEASE_MARGIN_MS,
          owner: this.owner,
          limit: BATCH,
        });
      } catch (error) {
        this.#options.log.error("webhook.claim_failed", { error: errorMessage(error) });
      }
      if (claimed.length > 0) await Promise.all(claimed.map((event) => this.#attempt(event)));
      else await this.#idle();
    }
  }

  async #idle(): Promise<void> {
    if (this.#woken) {
      this.#woken = false;
      return;
    }
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, this.#options.idleMs ?? IDLE_MS);
      this.#wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    this.#wake = null;
    this.#woken = false;
  }

  async #readBacklog(): Promise<void> {
    const now = this.#options.clock();
    if (now - this.#backlog.readAt < BACKLOG_EVERY_MS) return;
    const backlog = await this.#options.repository.webhookBacklog();
    this.#backlog = { ...backlog, readAt: now };
  }

  /** One attempt at one event, and its settlement. */
  async #attempt(event: ClaimedEvent): Promise<void> {
    const body = eventBody(event);
    const error = body === null ? null : await this.#post(event, body);
    const outcome = this.#outcome(event, error);
    try {
      await this.#options.repository.settleWebhookEvent(event.seq, this.owner, outcome);
    } catch (settleError) {
      // The claim runs out and the event is sent again: at least once.
      this.#options.log.error("webhook.settle_failed", { error: errorMessage(settleError) });
      return;
    }
    this.#count(event, outcome);
  }

  /** POSTs the event; `null` on a 2xx, else what went wrong. */
  async #post(event: ClaimedEvent, body: string): Promise<string | null> {
    const { settings, clock } = this.#options;
    const controller = new AbortController();
    this.#inFlight.add(controller);
    const timer = setTimeout(() => controller.abort(), settings.timeoutMs);
    try {
      const t = Math.floor(clock() / 1000);
      const response = await this.#fetch(settings.url, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "chat-signature": await signatureHeader(await this.#key, t, body),
          "chat-event-id": event.eventId,
          "user-agent": "chat-webhooks/1",
        },
        body,
        redirect: "manual",
        signal: controller.signal,
      });
      await response.body?.cancel();
      return response.ok ? null : `HTTP ${response.status}`;
    } catch (error) {
      if (!this.#running) return "stopped";
      return controller.signal.aborted ? "timed out" : errorMessage(error);
    } finally {
      clearTimeout(timer);
      this.#inFlight.delete(controller);
    }
  }

  #outcome(event: ClaimedEvent, error: string | null): EventOutcome {
    if (error === null) return { kind: "sent" };
    const now = this.#options.clock();
    if (!this.#running) return { kind: "retry", nextAttemptAt: now, error };
    const deadline = event.createdAt + this.#options.settings.maxAgeMs;
    if (now >= deadline) return { kind: "failed", error };
    // The last retry is at the deadline, not past it.
    const nextAttemptAt = Math.min(deadline, now + backoffMs(event.attempts, this.#random));
    return { kind: "retry", nextAttemptAt, error };
  }

  #count(event: ClaimedEvent, outcome: EventOutcome): void {
    const fields = { event_id: event.eventId, type: event.type, attempts: event.attempts + 1 };
    if (outcome.kind === "sent") {
      this.#counters.sent.inc();
    } else if (outcome.kind === "retry") {
      this.#counters.retried.inc();
      this.#options.log.warn("webhook.retry", { ...fields, error: outcome.error });
    } else {
      this.#counters.failed.inc();
      this.#options.log.error("webhook.failed", { ...fields, error: outcome.error });
    }
  }
}
