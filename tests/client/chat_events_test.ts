/** The chat client's listeners: called in order, removable, and a throwing one harms no other. */
import assert from "node:assert/strict";
import { ChatEvents, type PresenceEvent } from "../../lib/client/chat_events.ts";

Deno.test("listeners are called in the order they were added, until removed", () => {
  const events = new ChatEvents();
  const calls: string[] = [];
  events.on("presence", ({ online }) => calls.push(`first ${online}`));
  const remove = events.on("presence", ({ online }) => calls.push(`second ${online}`));
  events.on("message", () => calls.push("a message listener"));
  events.emit("presence", { online: true });
  remove();
  events.emit("presence", { online: false });
  assert.deepEqual(calls, ["first true", "second true", "first false"]);
});

Deno.test("a listener that throws is reported, and the next listener still gets the event", () => {
  const events = new ChatEvents();
  const reported: unknown[] = [];
  const onError = (event: ErrorEvent) => {
    event.preventDefault();
    reported.push(event.error);
  };
  const bug = new Error("a listener's bug");
  const received: PresenceEvent[] = [];
  events.on("presence", () => {
    throw bug;
  });
  events.on("presence", (event) => received.push(event));
  globalThis.addEventListener("error", onError);
  try {
    events.emit("presence", { online: true });
  } finally {
    globalThis.removeEventListener("error", onError);
  }
  assert.deepEqual(reported, [bug]);
  assert.deepEqual(received, [{ online: true }]);
});

Deno.test("an error event names every detail, null (or not fatal) where the frame has none", () => {
  const events = new ChatEvents();
  const errors: unknown[] = [];
  events.on("error", (event) => errors.push(event));
  events.error(30005, "Rate limit exceeded", { id: "c-1", retryAfterMs: 250 });
  events.error(30002, "Token authentication failed", { fatal: true });
  assert.deepEqual(errors, [
    {
      status: 30005,
      message: "Rate limit exceeded",
      reason: null,
      id: "c-1",
      fatal: false,
      retryAfterMs: 250,
      limit: null,
    },
    {
      status: 30002,
      message: "Token authentication failed",
      reason: null,
      id: null,
      fatal: true,
      retryAfterMs: null,
      limit: null,
    },
  ]);
});
