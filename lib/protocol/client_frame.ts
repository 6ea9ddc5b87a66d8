/**
 * The frames a client sends on the chat socket, both ways: the encoders a client uses and the
 * decoder (with validation) the server uses. A `chat.v2` socket may also send `{"read": N}`,
 * `{"typing": bool}` and `{"recall": N}`; on a seed socket those keys mean nothing, as before.
 */
import { countCodePoints } from "./text.ts";

/** A valid client frame: the message text and an optional client `id`. */
export interface ClientMessage {
  readonly msg: string;
  readonly id: string | null;
}

/** Why a frame was rejected: a short fixed code (for metrics) and a sentence (for the client). */
export type RejectCode =
  | "not_json"
  | "not_object"
  | "msg_missing"
  | "msg_type"
  | "msg_empty"
  | "msg_encoding"
  | "msg_too_long"
  | "id_type"
  | "id_length"
  | "id_encoding"
  | "ack_type"
  | "ack_with_msg"
  | "read_type"
  | "typing_type"
  | "recall_type"
  | "mixed_kinds";

/** The v2 control frames: a read marker, typing, a recall. */
const CONTROL_KEYS = ["read", "typing", "recall"] as const;

/** A v2 control frame; `id` is the frame's client `id` (or null), for the answer to name. */
export type V2ControlFrame =
  | {
    readonly ok: true;
    readonly kind: "read";
    readonly messageId: number;
    readonly id: string | null;
  }
  | { readonly ok: true; readonly kind: "typing"; readonly typing: boolean }
  | {
    readonly ok: true;
    readonly kind: "recall";
    readonly messageId: number;
    readonly id: string | null;
  };

/** The outcome of decoding a client frame: a message, a receipt, or a rejection. */
export type DecodeResult =
  | { readonly ok: true; readonly kind: "message"; readonly message: ClientMessage }
  | { readonly ok: true; readonly kind: "ack"; readonly upTo: number }
  | V2ControlFrame
  | {
    readonly ok: false;
    readonly code: RejectCode;
    readonly reason: string;
    /** The frame's `id` when it carried a valid one, so the answer can name it. */
    readonly id: string | null;
  };

/**
 * The longest message in characters when the service's `MAX_MESSAGE_CHARS` is not set; a client
 * that does not know the service's setting checks against this before sending.
 */
export const DEFAULT_MAX_MESSAGE_CHARS = 4096;

/** The longest client `id` accepted, in characters. */
export const MAX_CLIENT_ID_CHARS = 64;

function reject(code: RejectCode, reason: string, id: string | null = null): DecodeResult {
  return { ok: false, code, reason, id };
}

/** The frame's client `id`: a valid string, `null` when absent, or why it is not valid. */
function readId(
  frame: Record<string, unknown>,
): { readonly id: string | null } | { readonly code: RejectCode; readonly reason: string } {
  if (!Object.hasOwn(frame, "id") || frame.id === null) return { id: null };
  const id = frame.id;
  if (typeof id !== "string") return { code: "id_type", reason: "id must be a string" };
  if (!id.isWellFormed()) return { code: "id_encoding", reason: "id is not valid Unicode" };
  if (id.includes("\u0000")) return { code: "id_encoding", reason: "id must not contain U+0000" };
  if (id.length === 0 || countCodePoints(id) > MAX_CLIENT_ID_CHARS) {
    return { code: "id_length", reason: `id must be 1 to ${MAX_CLIENT_ID_CHARS} characters` };
  }
  return { id };
}

function isMessageId(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 1;
}

/** Decodes a v2 control frame (`read`, `typing`, `recall`); `null` when it has none of them. */
function decodeControl(frame: Record<string, unknown>, id: string | null): DecodeResult | null {
  const present = CONTROL_KEYS.filter((key) => Object.hasOwn(frame, key));
  if (present.length === 0) return null;
  if (present.length > 1 || Object.hasOwn(frame, "msg")) {
    return reject("mixed_kinds", "a frame carries one of msg, ack, read, typing, recall", id);
  }
  const key = present[0];
  const value = frame[key];
  if (key === "typing") {
    if (typeof value !== "boolean") return reject("typing_type", "typing must be true or false");
    return { ok: true, kind: "typing", typing: value };
  }
  if (!isMessageId(value)) {
    return reject(`${key}_type`, `${key} must be a positive message_id`, id);
  }
  return { ok: true, kind: key, messageId: value, id };
}

/**
 * Decodes a text frame `{"msg": "...", "id"?: "..."}` or a receipt `{"ack": <message_id>}`, and
 * on a `chat.v2` socket (`v2`) also `{"read": N}`, `{"typing": bool}` and `{"recall": N}`. Unknown
 * keys are ignored so that newer clients keep working; `maxMessageChars` bounds `msg` in code
 * points.
 */
export function decodeClientFrame(
  text: string,
  maxMessageChars: number,
  v2 = false,
): DecodeResult {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return reject("not_json", "frame is not valid JSON");
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return reject("not_object", "frame must be a JSON object");
  }
  const frame = value as Record<string, unknown>;
  const idRead = readId(frame);
  const id = "id" in idRead ? idRead.id : null;
  // A receipt `{"ack": <message_id>}` acknowledges every message up to that id. A frame with
  // both is refused whole, so its message is never dropped unnoticed as a receipt.
  if (Object.hasOwn(frame, "ack")) {
    if (Object.hasOwn(frame, "msg")) {
      return reject("ack_with_msg", "a frame carries msg or ack, not both", id);
    }
    const upTo = frame.ack;
    if (typeof upTo !== "number" || !Number.isSafeInteger(upTo) || upTo < 1) {
      return reject("ack_type", "ack must be a positive message_id");
    }
    return { ok: true, kind: "ack", upTo };
  }
  if (!("id" in idRead)) return reject(idRead.code, idRead.reason);
  const control = v2 ? decodeControl(frame, id) : null;
  if (control !== null) return control;
  if (!Object.hasOwn(frame, "msg")) return reject("msg_missing", "msg is missing", id);
  const msg = frame.msg;
  if (typeof msg !== "string") return reject("msg_type", "msg must be a string", id);
  if (msg.trim() === "") return reject("msg_empty", "msg is empty", id);
  if (!msg.isWellFormed()) return reject("msg_encoding", "msg is not valid Unicode", id);
  // No engine stores U+0000 in text faithfully (SQLite reads stop at it, PostgreSQL refuses it).
  if (msg.includes("\u0000")) return reject("msg_encoding", "msg must not contain U+0000", id);
  // Cheap test first: a string never has more code points than UTF-16 units.
  if (msg.length > maxMessageChars && countCodePoints(msg) > maxMessageChars) {
    return reject("msg_too_long", `msg is longer than ${maxMessageChars} characters`, id);
  }
  return { ok: true, kind: "message", message: { msg, id } };
}

/** Encodes a chat message frame `{"msg"}`, or `{"msg", "id"}` when the client wants a 30010. */
export function encodeMessageFrame(msg: string, id: string | null = null): string {
  return JSON.stringify(id === null ? { msg } : { msg, id });
}

/** Encodes a receipt `{"ack": <message_id>}`: every message up to that id has arrived. */
export function encodeAckFrame(upTo: number): string {
  return JSON.stringify({ ack: upTo });
}

/** Encodes a v2 read marker `{"read": <message_id>}`: I read the peer's messages up to that id. */
export function encodeReadFrame(messageId: number): string {
  return JSON.stringify({ read: messageId });
}

/** A `{"typing": true}` counts as ended this long after it without a repeat (ms). */
export const TYPING_EXPIRES_MS = 6000;

/** Encodes a v2 typing frame `{"typing": true}` (repeat it within 6 s) or `{"typing": false}`. */
export function encodeTypingFrame(typing: boolean): string {
  return JSON.stringify({ typing });
}

/** Encodes a v2 recall `{"recall": <message_id>}` of a message of mine. */
export function encodeRecallFrame(messageId: number): string {
  return JSON.stringify({ recall: messageId });
}
