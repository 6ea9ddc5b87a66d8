/**
 * A typed helper for the service's HTTP API (register, log in, log out, history, and the inbox's
 * conversation list, read marker, recall and search), for programs
 * in Deno and in browsers alike: it uses only `fetch`, never the DOM. An answer other than
 * success throws an `ApiError`; an answer that asks to come back later (429: too many login or
 * registration attempts, status 10007; 503: the database is busy, status 10011) throws its
 * subclass `RetryLaterError`, which says how long to wait.
 */
import { decodeHistoryItem, type HistoryMessage } from "../protocol/history_item.ts";
import { API_STATUS } from "../protocol/status.ts";
import { type ConversationItem, decodeConversationItem } from "../protocol/conversation_item.ts";

export type { ConversationItem, HistoryMessage };

/** A `fetch`-compatible function; tests and programs may pass their own. */
export type FetchLike = (input: string, init?: RequestInit) => Promise<Response>;

/** One page of history, newest first; `nextBefore` asks for the next older page (null: none). */
export interface HistoryPage {
  readonly messages: readonly HistoryMessage[];
  readonly nextBefore: number | null;
}

/** One page of the conversation list, most recent activity first. */
export interface ConversationPage {
  readonly conversations: readonly ConversationItem[];
  /** Pass as `before` for the next page; null on the last. */
  readonly nextBefore: number | null;
}

/** A login: the token for the chat socket and the API, and when it expires (`YYYY-MM-DD HH:MM:SS`). */
export interface LoginResult {
  readonly token: string;
  readonly expire: string;
  /**
   * The device token: show it on this device's next logins (`login(..., device)`), so that
   * someone guessing the password elsewhere cannot lock this device out. `null` from a service
   * without device tokens.
   */
  readonly device: string | null;
}

/** Options of a history request. */
export interface HistoryOptions {
  /** Page size, 1 to 200 (the server's default is 50). */
  readonly limit?: number;
  /** Only messages older than this `message_id` (a page's `nextBefore`). */
  readonly before?: number | null;
  readonly signal?: AbortSignal;
}

/** An answer of the API other than success: its HTTP status, its `status` code and `msg`. */
export class ApiError extends Error {
  /** The HTTP status, e.g. 401. */
  readonly httpStatus: number;
  /** The envelope's `status` (e.g. 10005), or 0 when the answer was not an envelope. */
  readonly status: number;
  /** The field a 10003 names (`username`, `password`, ...), else null. */
  readonly field: string | null;
  /** The reason a 10003 gives, else null. */
  readonly reason: string | null;

  constructor(
    httpStatus: number,
    status: number,
    message: string,
    field: string | null = null,
    reason: string | null = null,
  ) {
    super(message);
    this.name = "ApiError";
    this.httpStatus = httpStatus;
    this.status = status;
    this.field = field;
    this.reason = reason;
  }
}

/**
 * HTTP 429 (status 10007, too many attempts) or 503 (status 10011, the service is busy): nothing
 * was done, and the same request may work after `retryAfterMs`.
 */
export class RetryLaterError extends ApiError {
  /** How long to wait before trying again, from `retry_after_ms` or the `Retry-After` header. */
  readonly retryAfterMs: number;

  constructor(httpStatus: number, status: number, message: string, retryAfterMs: number) {
    super(httpStatus, status, message);
    this.name = "RetryLaterError";
    this.retryAfterMs = retryAfterMs;
  }
}

/** The wait when a 429 or 503 names none. */
const DEFAULT_RETRY_AFTER_MS = 1_000;

/**
 * The wait a 429 or 503 asks for: the body's `retry_after_ms` when there is one (it is the more
 * precise), else `Retry-After` in seconds or as an HTTP date, else one second.
 */
export function retryAfterMs(
  body: Record<string, unknown> | null,
  header: string | null,
  now: number = Date.now(),
): number {
  const fromBody = body?.retry_after_ms;
  if (typeof fromBody === "number" && Number.isFinite(fromBody) && fromBody >= 0) {
    return Math.ceil(fromBody);
  }
  const value = header?.trim() ?? "";
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  const date = value === "" ? Number.NaN : Date.parse(value);
  if (Number.isFinite(date)) return Math.max(0, date - now);
  return DEFAULT_RETRY_AFTER_MS;
}

interface Envelope {
  readonly status: number;
  readonly msg: string;
  readonly body: Record<string, unknown>;
}

function isEnvelope(value: unknown): value is Envelope {
  if (typeof value !== "object" || value === null) return false;
  const { status, msg, body } = value as Record<string, unknown>;
  return typeof status === "number" && typeof msg === "string" && typeof body === "object" &&
    body !== null;
}

function stringOrNull(value: unknown): string | null {
  return typeof value === "string" ? value : null;
}

function numberOrNull(value: unknown): number | null {
  return typeof value === "number" ? value : null;
}

/** `?limit=&before=` (and `q=` for a search), or nothing when none is set. */
function pageQuery(options: HistoryOptions, text?: string): string {
  const query = new URLSearchParams();
  if (text !== undefined) query.set("q", text);
  if (options.limit !== undefined) query.set("limit", String(options.limit));
  if (options.before !== undefined && options.before !== null) {
    query.set("before", String(options.before));
  }
  return query.size > 0 ? `?${query}` : "";
}

function readHistoryPage(body: Record<string, unknown>): HistoryPage {
  const items: unknown[] = Array.isArray(body.messages) ? body.messages : [];
  const messages: HistoryMessage[] = [];
  for (const item of items) {
    // An item that is not a message (a newer service's, or a broken one) is left out.
    const message = decodeHistoryItem(item);
    if (message !== null) messages.push(message);
  }
  return { messages, nextBefore: numberOrNull(body.next_before) };
}

/** Turns `ws://` into `http://` and `wss://` into `https://`; drops a trailing slash. */
export function httpOrigin(baseUrl: string): string {
  return baseUrl.replace(/^ws(s?):/i, "http$1:").replace(/\/+$/, "");
}

/** The HTTP API of one chat service. */
export class ChatApi {
  readonly #baseUrl: string;
  readonly #fetch: FetchLike;

  /** `baseUrl` is the service's origin, e.g. `http://127.0.0.1:7071`. */
  constructor(options: { readonly baseUrl: string; readonly fetch?: FetchLike }) {
    this.#baseUrl = httpOrigin(options.baseUrl);
    this.#fetch = options.fetch ?? ((input, init) => fetch(input, init));
  }

  /** Registers a user; resolves with the name as the service spelled it (NFKC). */
  async register(username: string, password: string, email?: string): Promise<string> {
    const body = email === undefined ? { username, password } : { username, password, email };
    const answer = await this.#request("POST", "/v1/user", { body });
    return String(answer.body.username);
  }

  /** Logs in (showing this device's token from an earlier login, if any); resolves with a fresh token. */
  async login(username: string, password: string, device?: string | null): Promise<LoginResult> {
    const body = typeof device === "string"
      ? { username, password, device }
      : { username, password };
    const answer = await this.#request("POST", "/v1/user/token", { body });
    return {
      token: String(answer.body.token),
      expire: String(answer.body.expire),
      device: typeof answer.body.device === "string" ? answer.body.device : null,
    };
  }

  /** Revokes `token`; every chat socket opened with it is closed by the service. */
  async logout(token: string): Promise<void> {
    await this.#request("DELETE", "/v1/user/token", { token });
  }

  /** One page of the conversation with `peer`, newest first. */
  async history(token: string, peer: string, options: HistoryOptions = {}): Promise<HistoryPage> {
    const path = `/v1/chat/${encodeURIComponent(peer)}/messages${pageQuery(options)}`;
    const answer = await this.#request("GET", path, { token, signal: options.signal });
    return readHistoryPage(answer.body);
  }

  /** One page of my conversations, most recent activity first (`GET /v1/conversations`). */
  async conversations(token: string, options: HistoryOptions = {}): Promise<ConversationPage> {
    const path = `/v1/conversations${pageQuery(options)}`;
    const answer = await this.#request("GET", path, { token, signal: options.signal });
    const items: unknown[] = Array.isArray(answer.body.conversations)
      ? answer.body.conversations
      : [];
    const conversations: ConversationItem[] = [];
    for (const item of items) {
      const conversation = decodeConversationItem(item);
      if (conversation !== null) conversations.push(conversation);
    }
    return { conversations, nextBefore: numberOrNull(answer.body.next_before) };
  }

  /** Moves my read marker of `peer`'s messages forward to `messageId`. */
  async markRead(token: string, peer: string, messageId: number): Promise<void> {
    const path = `/v1/chat/${encodeURIComponent(peer)}/read`;
    await this.#request("POST", path, { token, body: { message_id: messageId } });
  }

  /** Recalls my message `messageId` (403 10012 when not mine or too old). */
  async recall(token: string, messageId: number): Promise<void> {
    await this.#request("DELETE", `/v1/messages/${messageId}`, { token });
  }

  /** The messages with `peer` that contain `text` (any case), newest first, paged like history. */
  async search(
    token: string,
    peer: string,
    text: string,
    options: HistoryOptions = {},
  ): Promise<HistoryPage> {
    const path = `/v1/chat/${encodeURIComponent(peer)}/messages${pageQuery(options, text)}`;
    const answer = await this.#request("GET", path, { token, signal: options.signal });
    return readHistoryPage(answer.body);
  }

  async #request(
    method: string,
    path: string,
    options: { body?: unknown; token?: string; signal?: AbortSignal },
  ): Promise<Envelope> {
    const headers: Record<string, string> = {};
    if (options.token !== undefined) headers.authorization = `Token ${options.token}`;
    if (options.body !== undefined) headers["content-type"] = "application/json";
    const response = await this.#fetch(this.#baseUrl + path, {
      method,
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      signal: options.signal,
    });
    const text = await response.text();
    let answer: unknown;
    try {
      answer = JSON.parse(text);
    } catch {
      answer = null;
    }
    const envelope = isEnvelope(answer) ? answer : null;
    if (response.status === 429 || response.status === 503) {
      // Also when a proxy in front answers without an envelope: its Retry-After still counts.
      throw new RetryLaterError(
        response.status,
        envelope?.status ?? 0,
        envelope?.msg ?? `Try ${method} ${path} again later`,
        retryAfterMs(envelope?.body ?? null, response.headers.get("retry-after")),
      );
    }
    if (!isEnvelope(answer)) {
      throw new ApiError(response.status, 0, `Unexpected answer from ${method} ${path}`);
    }
    if (!response.ok || answer.status !== API_STATUS.OK) {
      throw new ApiError(
        response.status,
        answer.status,
        answer.msg,
        stringOrNull(answer.body.field),
        stringOrNull(answer.body.reason),
      );
    }
    return answer;
  }
}
