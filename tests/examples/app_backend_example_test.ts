/**
 * The README's example app backend (`examples/app_backend.ts`, shown whole in the README): its
 * JWT opens a chat socket, its webhook endpoint accepts the chat's signed requests and refuses
 * forged or old ones.
 */
import assert from "node:assert/strict";
import { REPO_ROOT } from "../support/process.ts";
import { registerAndLogin, startTestServer } from "../support/server.ts";
import { ChatClient } from "../support/ws_client.ts";
import { signatureHeader, signingKey } from "../../lib/webhooks/signature.ts";
import { waitFor } from "../support/wait.ts";

const JWT_SECRET = "example-jwt-secret-of-at-least-32-bytes";
const WEBHOOK_SECRET = "example-webhook-secret";

Deno.test("the README shows examples/app_backend.ts exactly", async () => {
  const readme = await Deno.readTextFile(`${REPO_ROOT}/README.md`);
  const example = await Deno.readTextFile(`${REPO_ROOT}/examples/app_backend.ts`);
  assert.ok(readme.includes("```ts\n" + example + "```\n"), "README block differs from the file");
});

Deno.test("the example app's JWT chats and its webhook endpoint takes the chat's events", async () => {
  Deno.env.set("JWT_SECRET", JWT_SECRET);
  Deno.env.set("WEBHOOK_SECRET", WEBHOOK_SECRET);
  const example = await import("../../examples/app_backend.ts");
  const answers: number[] = [];
  const app = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen() {} }, async (request) => {
    const response = await example.handler(request);
    if (new URL(request.url).pathname === "/chat/webhooks") answers.push(response.status);
    return response;
  });
  const appUrl = `http://127.0.0.1:${app.addr.port}`;
  try {
    await using server = await startTestServer({
      env: {
        JWT_SECRET,
        WEBHOOK_URL: `${appUrl}/chat/webhooks`,
        WEBHOOK_SECRET,
        WEBHOOK_EVENTS: "message.waiting",
      },
    });
    await registerAndLogin(server, "Jack");
    const minted = await fetch(`${appUrl}/chat-token`, {
      method: "POST",
      headers: { "x-demo-user": "Tom" },
    });
    const { token } = await minted.json();
    await using tom = await ChatClient.connect(server.wsUrl, "jack", token);
    tom.sendMessage("ping", "p-1");
    await tom.nextMatching((frame) => frame.status === 30010, "stored");
    await waitFor(() => answers.includes(204), "the example accepting message.waiting", 10_000);

    const key = await signingKey(WEBHOOK_SECRET);
    const body = JSON.stringify({ id: "e1", type: "message.waiting", data: {} });
    const post = async (signature: string) => {
      const response = await fetch(`${appUrl}/chat/webhooks`, {
        method: "POST",
        headers: { "chat-signature": signature },
        body,
      });
      await response.body?.cancel();
      return response.status;
    };
    const now = Math.floor(Date.now() / 1000);
    assert.equal(await post(await signatureHeader(key, now, body)), 204);
    assert.equal(await post(await signatureHeader(key, now - 600, body)), 401, "too old");
    const other = await signingKey("another-secret-entirely");
    assert.equal(await post(await signatureHeader(other, now, body)), 401, "forged");
  } finally {
    await app.shutdown();
    Deno.env.delete("JWT_SECRET");
    Deno.env.delete("WEBHOOK_SECRET");
  }
});
