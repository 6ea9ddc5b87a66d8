/**
 * The frames a client sends on the chat socket, both ways: the encoders a client uses and the
 * decoder (with validation) the server uses.
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
  | "ack_type";

/** The outcome of decoding a client frame: a message, a receipt, or a rejection. */
export type DecodeResult =
  | { readonly ok: true; readonly kind: "message"; readonly message: ClientMessage }
  | { readonly ok: true; readonly kind: "ack"; readonly upTo: number }
  | { readonly ok: false; readonly code: RejectCode; readonly reason: string };

/**
 * The longest message in characters when the service's `MAX_MESSAGE_CHARS` is not set; a client
 * that does not know the service's setting checks against this before sending.
 */
export const DEFAULT_MAX_MESSAGE_CHARS = 4096;

/** The longest client `id` accepted, in characters. */
export const MAX_CLIENT_ID_CHARS = 64;

function reject(code: RejectCode, reason: string): DecodeResult {
  return { ok: false, code, reason };
}

/**
 * Decodes a text frame `{"msg": "...", "id"?: "..."}` or a receipt `{"ack": <message_id>}`. Unknown keys are ignored so that
 * newer clients keep working; `maxMessageChars` bounds `msg` in code points.
 */
export function decodeClientFrame(text: string, maxMessageChars: number): DecodeResult {
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
  // A receipt `{"ack": <message_id>}` acknowledges every message up to that id.
  if (Object.hasOwn(frame, "ack")) {
    const upTo = frame.ack;
    if (typeof upTo !== "number" || !Number.isSafeInteger(upTo) || upTo < 1) {
      return reject("ack_type", "ack must be a positive message_id");
    }
    return { ok: true, kind: "ack", upTo };
  }
  if (!Object.hasOwn(frame, "msg")) return reject("msg_missing", "msg is missing");
  const msg = frame.msg;
  if (typeof msg !== "string") return reject("msg_type", "msg must be a string");
  if (msg.trim() === "") return reject("msg_empty", "msg is empty");
  if (!msg.isWellFormed()) return reject("msg_encoding", "msg is not valid Unicode");
  // No engine stores U+0000 in text faithfully (SQLite reads stop at it, PostgreSQL refuses it).
  if (msg.includes("\u0000")) return reject("msg_encoding", "msg must not contain U+0000");
  // Cheap test first: a string never has more code points than UTF-16 units.
  if (msg.length > maxMessageChars && countCodePoints(msg) > maxMessageChars) {
    return reject("msg_too_long", `msg is longer than ${maxMessageChars} characters`);
  }
  let id: string | null = null;
  if (Object.hasOwn(frame, "id") && frame.id !== null) {
    if (typeof frame.id !== "string") return reject("id_type", "id must be a string");
    if (!frame.id.isWellFormed()) return reject("id_encoding", "id is not valid Unicode");
    if (frame.id.includes("\u0000")) return reject("id_encoding", "id must not contain U+0000");
    if (frame.id.length === 0 || countCodePoints(frame.id) > MAX_CLIENT_ID_CHARS) {
      return reject("id_length", `id must be 1 to ${MAX_CLIENT_ID_CHARS} characters`);
    }
    id = frame.id;
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
