/** Decoding and validation of the frames a client sends on the chat socket. */

/** A valid client frame: the message text and an optional client `id`. */
export interface ClientMessage {
  readonly msg: string;
  readonly id: string | null;
}

/** The outcome of decoding a client frame. */
export type DecodeResult =
  | { readonly ok: true; readonly message: ClientMessage }
  | { readonly ok: false; readonly reason: string };

/** The longest client `id` accepted, in characters. */
export const MAX_CLIENT_ID_CHARS = 64;

/** Counts Unicode code points, so an emoji or a CJK character counts as one. */
export function countCodePoints(text: string): number {
  let count = 0;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    // A high surrogate followed by a low one is a single code point.
    if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) i++;
    }
    count++;
  }
  return count;
}

function reject(reason: string): DecodeResult {
  return { ok: false, reason };
}

/**
 * Decodes a text frame `{"msg": "...", "id"?: "..."}`. Unknown keys are ignored so that
 * newer clients keep working; `maxMessageChars` bounds `msg` in code points.
 */
export function decodeClientFrame(text: string, maxMessageChars: number): DecodeResult {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return reject("frame is not valid JSON");
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return reject("frame must be a JSON object");
  }
  const frame = value as Record<string, unknown>;
  if (!Object.hasOwn(frame, "msg")) return reject("msg is missing");
  const msg = frame.msg;
  if (typeof msg !== "string") return reject("msg must be a string");
  if (msg.trim() === "") return reject("msg is empty");
  if (!msg.isWellFormed()) return reject("msg is not valid Unicode");
  // PostgreSQL text cannot hold U+0000; refusing it everywhere keeps every backend alike.
  if (msg.includes("\0")) return reject("msg must not contain NUL characters");
  // Cheap test first: a string never has more code points than UTF-16 units.
  if (msg.length > maxMessageChars && countCodePoints(msg) > maxMessageChars) {
    return reject(`msg is longer than ${maxMessageChars} characters`);
  }
  let id: string | null = null;
  if (Object.hasOwn(frame, "id") && frame.id !== null) {
    if (typeof frame.id !== "string") return reject("id must be a string");
    if (!frame.id.isWellFormed()) return reject("id is not valid Unicode");
    if (frame.id.includes("\0")) return reject("id must not contain NUL characters");
    if (frame.id.length === 0 || countCodePoints(frame.id) > MAX_CLIENT_ID_CHARS) {
      return reject(`id must be 1 to ${MAX_CLIENT_ID_CHARS} characters`);
    }
    id = frame.id;
  }
  return { ok: true, message: { msg, id } };
}
