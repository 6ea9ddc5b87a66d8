/** The addresses of the service's sockets, and the client `id` of a message. */
import { httpOrigin } from "./chat_api.ts";

/** A random client `id`; `crypto.getRandomValues` works also on pages served over plain http. */
export function newClientId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return "c-" + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function socketOrigin(baseUrl: string): string {
  return httpOrigin(baseUrl).replace(/^http(s?):/i, "ws$1:");
}

/** The chat socket URL of `peer` on the service at `baseUrl`; `receipts` adds `&ack=1`. */
export function chatSocketUrl(
  baseUrl: string,
  peer: string,
  token: string,
  options: { readonly receipts?: boolean } = {},
): string {
  const receipts = options.receipts === true ? "&ack=1" : "";
  return `${socketOrigin(baseUrl)}/v1/chat/${encodeURIComponent(peer)}?token=${
    encodeURIComponent(token)
  }${receipts}`;
}

/** The inbox socket URL (`/v1/inbox?token=`, chat.v2 only) on the service at `baseUrl`. */
export function inboxSocketUrl(baseUrl: string, token: string): string {
  return `${socketOrigin(baseUrl)}/v1/inbox?token=${encodeURIComponent(token)}`;
}
