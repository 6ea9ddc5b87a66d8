import assert from "node:assert/strict";
import { withBodyTimeout } from "../../lib/http/body_timeout.ts";

const post = (body: BodyInit) => new Request("http://x/v1/user/token", { method: "POST", body });

Deno.test("a handler slow after the whole body arrived answers as late as it must, not 408", async () => {
  const handler = withBodyTimeout(async (request: Request) => {
    const text = await request.text();
    // Longer than the body time-out: the work a burst of logins waits for (scrypt's turn).
    await new Promise((resolve) => setTimeout(resolve, 150));
    return new Response(`got ${text}`);
  }, 50);
  const response = await handler(post('{"a":1}'));
  assert.equal(response.status, 200);
  assert.equal(await response.text(), 'got {"a":1}');
});

Deno.test("a body that does not arrive within the time-out gets 408 10018 and Connection: close", async () => {
  const never = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(new TextEncoder().encode('{"username":'));
    },
  });
  const handler = withBodyTimeout(
    (request: Request) => request.text().then(() => new Response()),
    50,
  );
  const response = await handler(post(never));
  assert.equal(response.status, 408);
  assert.equal(response.headers.get("connection"), "close");
  assert.equal((await response.json()).status, 10018);
});
