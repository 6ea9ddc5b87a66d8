/** `MemoryGuard`: above the limit, closing sockets and silent ones are dropped; chatting ones stay. */
import assert from "node:assert/strict";
import {
  type DroppableSocket,
  MemoryGuard,
  shedSockets,
  SILENT_MS,
} from "../../lib/limits/memory_guard.ts";

function socket(lastHeardAt: number, closing = false) {
  const state = { dropped: false };
  const droppable: DroppableSocket = {
    lastHeardAt,
    closing,
    drop: () => (state.dropped = true),
  };
  return { droppable, state };
}

Deno.test("shedding drops closing sockets and those silent for SILENT_MS, not the others", () => {
  const now = 10_000;
  const closing = socket(now, true);
  const silent = socket(now - SILENT_MS);
  const heard = socket(now - SILENT_MS + 1);
  const dropped = shedSockets([closing.droppable, silent.droppable, heard.droppable], now);
  assert.equal(dropped, 2);
  assert.deepEqual([closing.state.dropped, silent.state.dropped, heard.state.dropped], [
    true,
    true,
    false,
  ]);
});

Deno.test("the guard sheds only above its limit, and reports what it dropped", () => {
  let rss = 100;
  const silent = socket(performance.now() - 2 * SILENT_MS);
  const shed: [number, number][] = [];
  const guard = new MemoryGuard({
    limitBytes: 1000,
    readRss: () => rss,
    sockets: new Set([silent.droppable]),
    onShed: (dropped, bytes) => shed.push([dropped, bytes]),
  });
  guard.check();
  assert.equal(silent.state.dropped, false);
  rss = 1001;
  guard.check();
  assert.equal(silent.state.dropped, true);
  assert.deepEqual(shed, [[1, 1001]]);
});

Deno.test("a limit of 0 starts no sampling", () => {
  const guard = new MemoryGuard({
    limitBytes: 0,
    readRss: () => {
      throw new Error("sampled");
    },
    sockets: new Set(),
    onShed: () => {},
  });
  guard.start();
  guard.stop();
});
