/**
 * The WebSocket subprotocol a client offers to opt into the v2 extensions (read markers, other
 * devices, typing, recall, delivered, the inbox socket). A socket opened without it sees exactly
 * the API document's frames.
 */

/** The subprotocol name: `new WebSocket(url, ["chat.v2"])`. */
export const CHAT_SUBPROTOCOL_V2 = "chat.v2";

/**
 * Whether a `Sec-WebSocket-Protocol` request header offers `chat.v2` (a comma-separated list of
 * tokens, RFC 6455 section 4.1); `null` (no header) offers nothing.
 */
export function offersChatV2(header: string | null): boolean {
  if (header === null) return false;
  return header.split(",").some((token) => token.trim() === CHAT_SUBPROTOCOL_V2);
}
