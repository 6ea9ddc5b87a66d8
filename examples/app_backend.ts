// An app backend beside the chat (Deno): it mints a chat JWT for its logged-in user and
// receives the chat's webhooks. Run: JWT_SECRET=… WEBHOOK_SECRET=… deno run -A app_backend.ts
import { SignJWT } from "npm:jose@6.2.17";

const encoder = new TextEncoder();
const setting = (name: string) => Deno.env.get(name) ?? "";
/** Requests signed longer ago than this are refused (replays). */
const TOLERANCE_SECONDS = 300;

/** Your own session check; this demo trusts a header your login would have set. */
function loggedInUser(request: Request): string | null {
  return request.headers.get("x-demo-user");
}

/** A short-lived chat token for the logged-in user: `sub` is their chat username. */
export function chatToken(username: string): Promise<string> {
  return new SignJWT({})
    .setProtectedHeader({ alg: "HS256" })
    .setSubject(username)
    .setIssuedAt()
    .setExpirationTime("15m")
    .sign(encoder.encode(setting("JWT_SECRET")));
}

/** Checks `Chat-Signature: t=<unix>,v1=<hex HMAC>` over the raw body; refuses old ones. */
export async function verifyWebhook(
  header: string | null,
  rawBody: string,
  nowSeconds = Date.now() / 1000,
): Promise<boolean> {
  const match = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(header ?? "");
  if (match === null || Math.abs(nowSeconds - Number(match[1])) > TOLERANCE_SECONDS) return false;
  const key = await crypto.subtle.importKey(
    "raw",
    encoder.encode(setting("WEBHOOK_SECRET")),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["verify"],
  );
  const mac = Uint8Array.from(match[2].match(/../g)!, (pair) => parseInt(pair, 16));
  return crypto.subtle.verify("HMAC", key, mac, encoder.encode(`${match[1]}.${rawBody}`));
}

// Events come at least once: remember the ids you handled (in your database, in real life).
const handled = new Set<string>();

/** The app's two chat routes. */
export async function handler(request: Request): Promise<Response> {
  const { pathname } = new URL(request.url);
  if (request.method === "POST" && pathname === "/chat-token") {
    const user = loggedInUser(request);
    if (user === null) return new Response("Log in first", { status: 401 });
    return Response.json({ token: await chatToken(user) });
  }
  if (request.method === "POST" && pathname === "/chat/webhooks") {
    const raw = await request.text(); // Verify the raw bytes, before parsing.
    if (!(await verifyWebhook(request.headers.get("chat-signature"), raw))) {
      return new Response("Bad signature", { status: 401 });
    }
    const event = JSON.parse(raw);
    if (!handled.has(event.id)) {
      handled.add(event.id);
      if (event.type === "message.waiting") {
        console.log(`push to ${event.data.to_user}: new message from ${event.data.from_user}`);
      }
    }
    return new Response(null, { status: 204 }); // Any 2xx: delivered. Anything else: retried.
  }
  return new Response("Not found", { status: 404 });
}

if (import.meta.main) Deno.serve({ port: 8000 }, handler);
