/** `DeliveryMarker`: one repository call per turn, later marks coalesced behind one in flight. */
import assert from "node:assert/strict";
import { DeliveryMarker } from "../../lib/chat/delivery_marker.ts";
import type { Repository } from "../../lib/storage/repository.ts";
import type { Logger } from "../../lib/log.ts";

/**
 * A repository that records `markDelivered` calls. With `hold`, each call waits until the test
 * calls `release()`; `called(n)` resolves once n calls were made.
 */
function recording(hold = false) {
  const calls: number[][] = [];
  const held: (() => void)[] = [];
  const waiters: { count: number; resolve: () => void }[] = [];
  let failNext = false;
  const repository = {
    async markDelivered(ids: readonly number[]) {
      calls.push([...ids]);
      for (const waiter of waiters.filter((w) => calls.length >= w.count)) waiter.resolve();
      if (hold) await new Promise<void>((resolve) => held.push(resolve));
      if (failNext) {
        failNext = false;
        throw new Error("disk I/O error");
      }
    },
  } as unknown as Repository;
  return {
    repository,
    calls,
    release: () => held.splice(0).forEach((resolve) => resolve()),
    called(count: number): Promise<void> {
      if (calls.length >= count) return Promise.resolve();
      const { promise, resolve } = Promise.withResolvers<void>();
      waiters.push({ count, resolve });
      return promise;
    },
    failNext() {
      failNext = true;
    },
  };
}

function recordingLog() {
  const errors: string[] = [];
  const log: Logger = { info() {}, warn() {}, error: (event) => errors.push(event) };
  return { log, errors };
}

Deno.test("marks of one turn become one call", async () => {
  const store = recording();
  const marker = new DeliveryMarker(store.repository, recordingLog().log);
  marker.mark([1, 2]);
  marker.mark([3]);
  marker.mark([]);
  await marker.flush();
  assert.deepEqual(store.calls, [[1, 2, 3]]);
});

Deno.test("marks made while a call is in flight wait for one next call", async () => {
  const store = recording(true);
  const marker = new DeliveryMarker(store.repository, recordingLog().log);
  marker.mark([1]);
  await store.called(1);
  marker.mark([2]);
  marker.mark([3]);
  assert.deepEqual(store.calls, [[1]]);
  const flushed = marker.flush();
  store.release();
  await store.called(2);
  store.release();
  await flushed;
  assert.deepEqual(store.calls, [[1], [2, 3]]);
});

Deno.test("a failed call is logged, not thrown, and later marks still go out", async () => {
  const store = recording();
  const { log, errors } = recordingLog();
  const marker = new DeliveryMarker(store.repository, log);
  store.failNext();
  marker.mark([1]);
  await marker.flush();
  assert.deepEqual(errors, ["delivery.mark_failed"]);
  marker.mark([2]);
  await marker.flush();
  assert.deepEqual(store.calls, [[1], [2]]);
});

Deno.test("flush with nothing queued resolves at once", async () => {
  const store = recording();
  const marker = new DeliveryMarker(store.repository, recordingLog().log);
  await marker.flush();
  assert.deepEqual(store.calls, []);
});
