/**
 * The settings that plug the service into an app: sign-in with the app's JWTs (`JWT_*`) and
 * webhooks to its backend (`WEBHOOK_*`). Their defaults are in `DEFAULTS` (`config.ts`), which
 * parses them through a `SettingReader`.
 */
import { ConfigError } from "./config_error.ts";
import {
  isWebhookEventType,
  WEBHOOK_EVENT_TYPES,
  type WebhookEventType,
} from "./webhooks/event_types.ts";

/** The settings this module reads. */
export type IntegrationKey =
  | "JWT_SECRET"
  | "JWT_PUBLIC_KEY"
  | "JWT_JWKS_URL"
  | "JWT_ISSUER"
  | "JWT_AUDIENCE"
  | "JWT_LEEWAY"
  | "WEBHOOK_URL"
  | "WEBHOOK_SECRET"
  | "WEBHOOK_EVENTS"
  | "WEBHOOK_MAX_AGE"
  | "WEBHOOK_TIMEOUT";

/** Reads one setting, its default applied (from `config.ts`). */
export interface SettingReader {
  /** The trimmed text, or the default. */
  text(key: IntegrationKey): string;
  /** A duration in ms within the bounds; throws a `ConfigError` otherwise. */
  duration(key: IntegrationKey, minMs: number, maxMs: number): number;
  /** An http(s) URL with a host, or `null` when empty; throws a `ConfigError` otherwise. */
  webUrl(key: IntegrationKey): string | null;
}

const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;

/** Where the keys that verify the app's JWTs come from. */
export type JwtKeySource =
  /** `JWT_SECRET`: HS256 with this shared secret. */
  | { readonly kind: "secret"; readonly secret: string }
  /** `JWT_PUBLIC_KEY`: RS256 or ES256 with the PEM public key in this file. */
  | { readonly kind: "public_key"; readonly path: string }
  /** `JWT_JWKS_URL`: RS256 or ES256 with the keys of the app's JWKS endpoint. */
  | { readonly kind: "jwks"; readonly url: string };

/** Sign-in with the app's JWTs. */
export interface JwtSettings {
  readonly key: JwtKeySource;
  /** The `iss` a token must carry (`JWT_ISSUER`); `null` checks none. */
  readonly issuer: string | null;
  /** The `aud` a token must carry (`JWT_AUDIENCE`); `null` checks none. */
  readonly audience: string | null;
  /** Clock skew allowed on `exp`, `nbf` and `iat`, in ms (`JWT_LEEWAY`, default 30 s). */
  readonly leewayMs: number;
}

/** Webhooks to the app's backend. */
export interface WebhookSettings {
  /** Where events are POSTed (`WEBHOOK_URL`). */
  readonly url: string;
  /** The HMAC-SHA256 key of `Chat-Signature` (`WEBHOOK_SECRET`). */
  readonly secret: string;
  /** The event types sent (`WEBHOOK_EVENTS`, default all). */
  readonly events: ReadonlySet<WebhookEventType>;
  /** How long an event is retried before it is recorded as failed (`WEBHOOK_MAX_AGE`, 24 h). */
  readonly maxAgeMs: number;
  /** How long one delivery may take (`WEBHOOK_TIMEOUT`, default 5 s). */
  readonly timeoutMs: number;
}

// Shorter HS256 secrets can be guessed offline from one token (RFC 7518 section 3.2).
const MIN_JWT_SECRET_BYTES = 32;
const MIN_WEBHOOK_SECRET_CHARS = 16;

/** The JWT settings, or `null` when no key source is set. */
export function jwtSettings(settings: SettingReader): JwtSettings | null {
  const sources: JwtKeySource[] = [];
  const secret = settings.text("JWT_SECRET");
  if (secret !== "") {
    if (new TextEncoder().encode(secret).length < MIN_JWT_SECRET_BYTES) {
      throw new ConfigError("JWT_SECRET", `must be at least ${MIN_JWT_SECRET_BYTES} bytes`);
    }
    sources.push({ kind: "secret", secret });
  }
  const path = settings.text("JWT_PUBLIC_KEY");
  if (path !== "") sources.push({ kind: "public_key", path });
  const url = settings.webUrl("JWT_JWKS_URL");
  if (url !== null) sources.push({ kind: "jwks", url });
  if (sources.length > 1) {
    throw new ConfigError("JWT_SECRET", "set only one of JWT_SECRET, JWT_PUBLIC_KEY, JWT_JWKS_URL");
  }
  const leewayMs = settings.duration("JWT_LEEWAY", 0, 10 * MINUTE_MS);
  if (sources.length === 0) return null;
  const optional = (key: IntegrationKey) => settings.text(key) === "" ? null : settings.text(key);
  return {
    key: sources[0],
    issuer: optional("JWT_ISSUER"),
    audience: optional("JWT_AUDIENCE"),
    leewayMs,
  };
}

/** The webhook settings, or `null` when `WEBHOOK_URL` is unset. */
export function webhookSettings(settings: SettingReader): WebhookSettings | null {
  const url = settings.webUrl("WEBHOOK_URL");
  const events = webhookEvents(settings);
  const maxAgeMs = settings.duration("WEBHOOK_MAX_AGE", 1000, 30 * DAY_MS);
  const timeoutMs = settings.duration("WEBHOOK_TIMEOUT", 100, 10 * MINUTE_MS);
  if (url === null) return null;
  const secret = settings.text("WEBHOOK_SECRET");
  if (secret.length < MIN_WEBHOOK_SECRET_CHARS) {
    throw new ConfigError(
      "WEBHOOK_SECRET",
      `needed with WEBHOOK_URL, at least ${MIN_WEBHOOK_SECRET_CHARS} characters`,
    );
  }
  return { url, secret, events, maxAgeMs, timeoutMs };
}

/** `*` for every type, or a comma-separated list like `message.waiting,user.online`. */
function webhookEvents(settings: SettingReader): ReadonlySet<WebhookEventType> {
  const text = settings.text("WEBHOOK_EVENTS");
  if (text === "*") return new Set(WEBHOOK_EVENT_TYPES);
  const list = text.split(",").map((entry) => entry.trim()).filter((entry) => entry !== "");
  const unknown = list.find((entry) => !isWebhookEventType(entry));
  if (unknown !== undefined || list.length === 0) {
    throw new ConfigError(
      "WEBHOOK_EVENTS",
      `expected * or a list of ${WEBHOOK_EVENT_TYPES.join(", ")}, got "${unknown ?? text}"`,
    );
  }
  return new Set(list as WebhookEventType[]);
}
