/** The JWT and webhook settings: one key source, strong secrets, known event types. */
import assert from "node:assert/strict";
import { ConfigError, parseConfig } from "../lib/config.ts";
import { WEBHOOK_EVENT_TYPES } from "../lib/webhooks/event_types.ts";

const SECRET = "s".repeat(32);

function refused(env: Record<string, string>, key: string): void {
  assert.throws(() => parseConfig(env), (error) => {
    assert.ok(error instanceof ConfigError);
    assert.equal(error.key, key);
    return true;
  });
}

Deno.test("no JWT key source means no JWT sign-in; each source is read", () => {
  assert.equal(parseConfig({ JWT_ISSUER: "app" }).jwt, null);
  assert.deepEqual(parseConfig({ JWT_SECRET: SECRET }).jwt, {
    key: { kind: "secret", secret: SECRET },
    issuer: null,
    audience: null,
    leewayMs: 30_000,
  });
  assert.deepEqual(parseConfig({ JWT_PUBLIC_KEY: "/etc/chat/app.pem" }).jwt?.key, {
    kind: "public_key",
    path: "/etc/chat/app.pem",
  });
  assert.deepEqual(parseConfig({ JWT_JWKS_URL: "http://127.0.0.1:8000/jwks" }).jwt?.key, {
    kind: "jwks",
    url: "http://127.0.0.1:8000/jwks",
  });
});

Deno.test("a short JWT_SECRET, two key sources, a bad JWKS URL or leeway are refused", () => {
  refused({ JWT_SECRET: "s".repeat(31) }, "JWT_SECRET");
  refused({ JWT_SECRET: SECRET, JWT_PUBLIC_KEY: "/k.pem" }, "JWT_SECRET");
  refused({ JWT_JWKS_URL: "ftp://app.example/jwks" }, "JWT_JWKS_URL");
  refused({ JWT_JWKS_URL: "not a url" }, "JWT_JWKS_URL");
  refused({ JWT_SECRET: SECRET, JWT_LEEWAY: "1h" }, "JWT_LEEWAY");
});

Deno.test("webhooks: every event type by default, a list, and the durations", () => {
  const webhook = parseConfig({
    WEBHOOK_URL: "http://127.0.0.1:9000/hook",
    WEBHOOK_SECRET: "0123456789abcdef",
  }).webhook;
  assert.deepEqual(webhook, {
    url: "http://127.0.0.1:9000/hook",
    secret: "0123456789abcdef",
    events: new Set(WEBHOOK_EVENT_TYPES),
    maxAgeMs: 24 * 3_600_000,
    timeoutMs: 5000,
  });
  assert.equal(parseConfig({ WEBHOOK_SECRET: "0123456789abcdef" }).webhook, null);
});

Deno.test("webhooks: a missing or short secret, unknown events, bad durations are refused", () => {
  const base = { WEBHOOK_URL: "https://app.example/hook", WEBHOOK_SECRET: "0123456789abcdef" };
  refused({ WEBHOOK_URL: base.WEBHOOK_URL }, "WEBHOOK_SECRET");
  refused({ ...base, WEBHOOK_SECRET: "short" }, "WEBHOOK_SECRET");
  refused({ ...base, WEBHOOK_EVENTS: "message.waiting,message.read" }, "WEBHOOK_EVENTS");
  refused({ ...base, WEBHOOK_EVENTS: "," }, "WEBHOOK_EVENTS");
  refused({ ...base, WEBHOOK_MAX_AGE: "0" }, "WEBHOOK_MAX_AGE");
  refused({ ...base, WEBHOOK_TIMEOUT: "forever" }, "WEBHOOK_TIMEOUT");
  refused({ ...base, WEBHOOK_URL: "redis://app.example" }, "WEBHOOK_URL");
});
