/** The webhook event types, as `WEBHOOK_EVENTS` names them and the `type` field carries them. */

/** Every event type, in the order the README lists them. */
export const WEBHOOK_EVENT_TYPES = [
  "message.waiting",
  "message.created",
  "user.online",
  "user.offline",
] as const;

/** A webhook event type. */
export type WebhookEventType = typeof WEBHOOK_EVENT_TYPES[number];

const TYPES: ReadonlySet<string> = new Set(WEBHOOK_EVENT_TYPES);

/** Whether `value` is a webhook event type. */
export function isWebhookEventType(value: unknown): value is WebhookEventType {
  return typeof value === "string" && TYPES.has(value);
}
