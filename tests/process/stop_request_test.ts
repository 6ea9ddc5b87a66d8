import assert from "node:assert/strict";
import { SAME_REQUEST_MS, StopRequest } from "../../lib/process/stop_request.ts";

Deno.test("the first signal asks to stop and resolves the request with its name", async () => {
  const stop = new StopRequest(() => 1_000);
  assert.equal(stop.receive("SIGTERM"), "stop");
  assert.equal(await stop.requested, "SIGTERM");
});

Deno.test("a second signal within 2 s is the same request (a process group's double delivery)", () => {
  let now = 1_000;
  const stop = new StopRequest(() => now);
  stop.receive("SIGINT");
  assert.equal(stop.receive("SIGINT"), "same_request");
  now += SAME_REQUEST_MS - 1;
  assert.equal(stop.receive("SIGTERM"), "same_request");
});

Deno.test("a signal 2 s or more after the first, while stopping, forces the exit", () => {
  let now = 1_000;
  const stop = new StopRequest(() => now);
  stop.receive("SIGTERM");
  now += SAME_REQUEST_MS;
  assert.equal(stop.receive("SIGTERM"), "force_exit");
});
