import assert from "node:assert/strict";
import { TokenBucket } from "../../lib/limits/token_bucket.ts";
import { AttemptLimiter } from "../../lib/limits/attempt_limiter.ts";
import { ConnectionCounter } from "../../lib/limits/connection_counter.ts";
import { AuthThrottle } from "../../lib/limits/auth_throttle.ts";

Deno.test("a token bucket allows a burst, then one token per 1/rate seconds", () => {
  let now = 0;
  const bucket = new TokenBucket(2, 3, () => now);
  assert.deepEqual([bucket.take(), bucket.take(), bucket.take()], [0, 0, 0]);
  assert.equal(bucket.take(), 500);
  now += 499;
  assert.ok(bucket.take() > 0);
  now += 1;
  assert.equal(bucket.take(), 0);
  now += 60_000;
  // Refill stops at the burst size.
  assert.deepEqual([bucket.take(), bucket.take(), bucket.take()], [0, 0, 0]);
  assert.ok(bucket.take() > 0);
});

Deno.test("an attempt limiter counts per key per window and forgets on reset", () => {
  let now = 1000;
  const limiter = new AttemptLimiter(2, 60_000, () => now);
  limiter.record("a");
  limiter.record("a");
  assert.equal(limiter.retryAfter("a"), 60_000);
  assert.equal(limiter.retryAfter("b"), 0);
  now += 30_000;
  assert.equal(limiter.retryAfter("a"), 30_000);
  now += 30_000;
  assert.equal(limiter.retryAfter("a"), 0);
  limiter.record("a");
  limiter.record("a");
  limiter.reset("a");
  assert.equal(limiter.retryAfter("a"), 0);
});

Deno.test("an attempt limiter keeps at most maxKeys windows", () => {
  const now = 0;
  const limiter = new AttemptLimiter(1, 60_000, () => now, 100);
  for (let i = 0; i < 1000; i++) limiter.record(`key${i}`);
  // The newest are kept, the oldest dropped.
  assert.ok(limiter.retryAfter("key999") > 0);
  assert.equal(limiter.retryAfter("key0"), 0);
});

Deno.test("the auth throttle limits by address and by failed logins per user", () => {
  const now = 0;
  const throttle = new AuthThrottle(
    { authWindowMs: 60_000, authMaxPerIp: 3, authMaxPerUser: 2 },
    () => now,
  );
  assert.equal(throttle.admit("1.1.1.1", "tom"), 0);
  throttle.failed("tom");
  assert.equal(throttle.admit("2.2.2.2", "tom"), 0);
  throttle.failed("tom");
  // Two failures for tom: refused from any address, and the refusal is not counted.
  assert.ok(throttle.admit("3.3.3.3", "tom") > 0);
  assert.equal(throttle.admit("3.3.3.3", "jack"), 0);
  throttle.succeeded("tom");
  assert.equal(throttle.admit("3.3.3.3", "tom"), 0);
  assert.equal(throttle.admit("1.1.1.1", null), 0);
  assert.equal(throttle.admit("1.1.1.1", null), 0);
  // 1.1.1.1 has made three attempts now.
  assert.ok(throttle.admit("1.1.1.1", null) > 0);
});

Deno.test("the connection counter enforces total, per-address and per-user caps", () => {
  const counter = new ConnectionCounter({
    maxConnections: 3,
    maxConnectionsPerIp: 2,
    maxConnectionsPerUser: 1,
  });
  const a = counter.open("ip1", "u1");
  assert.equal(counter.userAtCap("u1"), true);
  assert.equal(counter.checkAddress("ip1"), null);
  const b = counter.open("ip1", "u2");
  assert.equal(counter.checkAddress("ip1"), "ip");
  counter.open("ip2", null);
  assert.equal(counter.checkAddress("ip3"), "total");
  assert.equal(counter.users, 2);
  a();
  a(); // twice is harmless
  assert.equal(counter.total, 2);
  assert.equal(counter.userAtCap("u1"), false);
  b();
  assert.equal(counter.checkAddress("ip1"), null);
});
