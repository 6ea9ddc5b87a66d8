/** JSON responses in the seed's envelope `{"status", "msg", "body"}`, and bounded JSON bodies. */
import { API_STATUS } from "../protocol/status.ts";

/** The client went away before sending the whole body (an aborted upload, a reset). */
export class RequestBodyAbortedError extends Error {
  constructor(cause: unknown) {
    super("The request body ended before its end", { cause });
    this.name = "RequestBodyAbortedError";
  }
}

/** The largest request body accepted, in bytes. */
export const MAX_BODY_BYTES = 16 * 1024;

/** A response whose JSON body is `{"status", "msg", "body"}`, in that order. */
export function envelope(
  httpStatus: number,
  status: number,
  msg: string,
  body: Record<string, unknown> = {},
  headers: HeadersInit = {},
): Response {
  const response = new Response(JSON.stringify({ status, msg, body }), {
    status: httpStatus,
    headers,
  });
  response.headers.set("content-type", "application/json; charset=utf-8");
  response.headers.set("cache-control", "no-store");
  return response;
}

/** 400 with status 10003, naming the field and the reason. */
export function invalidInput(field: string, reason: string): Response {
  return envelope(400, API_STATUS.INVALID_INPUT, `Invalid ${field}: ${reason}`, { field, reason });
}

/** The outcome of reading a JSON object body: the object, or the error response to send. */
export type BodyResult =
  | { readonly ok: true; readonly value: Record<string, unknown> }
  | { readonly ok: false; readonly response: Response };

async function readBounded(request: Request, limit: number): Promise<Uint8Array | null> {
  const declared = Number(request.headers.get("content-length") ?? "0");
  if (declared > limit) return null;
  if (request.body === null) return new Uint8Array();
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = request.body.getReader();
  for (;;) {
    const { done, value } = await reader.read().catch((error) => {
      throw new RequestBodyAbortedError(error);
    });
    if (done) break;
    total += value.byteLength;
    if (total > limit) {
      await reader.cancel();
      return null;
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return bytes;
}

/** Reads a JSON object body of at most `MAX_BODY_BYTES`: 413 when larger, 400 when not an object. */
export async function readJsonObject(request: Request): Promise<BodyResult> {
  const bytes = await readBounded(request, MAX_BODY_BYTES);
  if (bytes === null) {
    return {
      ok: false,
      response: envelope(413, API_STATUS.INVALID_INPUT, "Request body too large", {
        field: "body",
        reason: `must be at most ${MAX_BODY_BYTES} bytes`,
      }),
    };
  }
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch {
    return { ok: false, response: invalidInput("body", "must be valid JSON in UTF-8") };
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return { ok: false, response: invalidInput("body", "must be a JSON object") };
  }
  return { ok: true, value: value as Record<string, unknown> };
}

/** The token of an `Authorization: Token <token>` (or `Bearer <token>`) header, else `null`. */
export function tokenFromAuthorization(request: Request): string | null {
  const header = request.headers.get("authorization");
  const match = header === null ? null : /^(?:Token|Bearer)\s+(\S+)\s*$/i.exec(header);
  return match ? match[1] : null;
}
