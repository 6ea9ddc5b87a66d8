import assert from "node:assert/strict";
import {
  health,
  metricsPage,
  readiness,
  STORE_FAILURE_WINDOW_MS,
} from "../../lib/http/health_routes.ts";
import { Metrics } from "../../lib/metrics.ts";
import type { Hub } from "../../lib/hub/hub.ts";
import type { Repository } from "../../lib/storage/repository.ts";

function pinging(result: Promise<void>) {
  return { ping: () => result, probeWrite: () => result };
}
const clock = () => 0;

Deno.test("healthz is 200 OK", async () => {
  const response = await health();
  assert.equal(response.status, 200);
  assert.deepEqual(await response.json(), { status: 10001, msg: "OK", body: {} });
});

Deno.test("readyz is 200 when both answer and 503 naming each that does not", async () => {
  const up = pinging(Promise.resolve());
  const ready = await readiness(up as unknown as Repository, up as unknown as Hub, clock);
  assert.equal(ready.status, 200);
  assert.deepEqual((await ready.json()).body, { database: "up", hub: "up" });

  const down = { ping: () => Promise.reject(new Error("gone")) };
  const notReady = await readiness(down as unknown as Repository, down as unknown as Hub, clock);
  assert.equal(notReady.status, 503);
  const json = await notReady.json();
  assert.equal(json.status, 10011);
  assert.equal(json.msg, "Not ready: database and hub down");
  assert.deepEqual(json.body, { database: "down", hub: "down" });
});

Deno.test("readyz reports the database down when it reads but cannot write (disk full)", async () => {
  const readOnly = {
    ping: () => Promise.resolve(),
    probeWrite: () => Promise.reject(new Error("full")),
  };
  const hub = pinging(Promise.resolve());
  const response = await readiness(readOnly as unknown as Repository, hub as unknown as Hub, clock);
  assert.equal(response.status, 503);
  assert.deepEqual((await response.json()).body, { database: "down", hub: "up" });
});

Deno.test("readyz reports the database down while message stores fail, though the probe's row fits", async () => {
  const up = pinging(Promise.resolve());
  const windows: number[] = [];
  const failing = (withinMs: number) => {
    windows.push(withinMs);
    return true;
  };
  const response = await readiness(
    up as unknown as Repository,
    up as unknown as Hub,
    clock,
    failing,
  );
  assert.equal(response.status, 503);
  assert.deepEqual((await response.json()).body, { database: "down", hub: "up" });
  assert.deepEqual(windows, [STORE_FAILURE_WINDOW_MS]);
});

Deno.test("metrics are the Prometheus text format, never cached", async () => {
  const metrics = new Metrics();
  metrics.messagesStored.inc();
  const response = await metricsPage(metrics, new Request("http://x/metrics"), null);
  assert.match(response.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
  assert.equal(response.headers.get("cache-control"), "no-store");
  assert.match(await response.text(), /^chat_messages_stored_total 1$/m);
});

Deno.test("with METRICS_TOKEN, /metrics answers only its bearer: 401 (10004) without it", async () => {
  const metrics = new Metrics();
  const ask = (headers: HeadersInit) =>
    metricsPage(metrics, new Request("http://x/metrics", { headers }), "s3cret-metrics");
  const wrong: Record<string, string>[] = [
    {},
    { authorization: "Bearer wrong" },
    { authorization: "Bearer s3cret" },
  ];
  for (const headers of wrong) {
    const refused = await ask(headers);
    assert.equal(refused.status, 401);
    assert.equal((await refused.json()).status, 10004);
    assert.equal(refused.headers.get("www-authenticate"), 'Bearer realm="metrics"');
  }
  const allowed = await ask({ authorization: "Bearer s3cret-metrics" });
  assert.equal(allowed.status, 200);
  assert.match(await allowed.text(), /^chat_messages_stored_total 0$/m);
});
