/**
 * The admin API for the app's backend, under `/v1/admin/`, each request with
 * `Authorization: Bearer <API key>`: users (create or update, read, erase), chat tokens for a
 * user, and messages sent as a user. Wrong keys are limited per client address like logins.
 */
import { API_STATUS } from "../protocol/status.ts";
import { decodeClientFrame } from "../protocol/client_frame.ts";
import { formatLocalTime } from "../time.ts";
import type { Clock } from "../time.ts";
import { type Accounts, LOOKALIKE_REASON } from "../auth/accounts.ts";
import type { Hub } from "../hub/hub.ts";
import type { Logger } from "../log.ts";
import type { Metrics } from "../metrics.ts";
import type { AttemptLimiter } from "../limits/attempt_limiter.ts";
import type { MessageWriter } from "../chat/message_writer.ts";
import type { QuotaRefusal, Repository, UserRecord } from "../storage/repository.ts";
import { dailyKind } from "../chat/quota_answer.ts";
import { checkUsername, usernameKey } from "../users/username.ts";
import {
  envelope,
  invalidInput,
  readJsonObject,
  tokenFromAuthorization,
} from "../http/envelope.ts";
import { tooManyAttempts } from "../http/user_routes.ts";
import type { RequestContext, RouteHandler } from "../http/router.ts";
import type { ApiKeys } from "./api_keys.ts";
import { parseTtl } from "./ttl.ts";

/** What the admin API needs. */
export interface AdminContext {
  readonly apiKeys: ApiKeys;
  readonly accounts: Accounts;
  readonly repository: Repository;
  readonly hub: Hub;
  readonly messages: MessageWriter;
  readonly clock: Clock;
  readonly log: Logger;
  readonly metrics: Metrics;
  readonly maxMessageChars: number;
  /** Wrong API keys per client address. */
  readonly keyFailures: AttemptLimiter;
}

type AdminHandler = (request: Request, context: RequestContext) => Promise<Response>;

/** 401 10004 for a missing or wrong API key. */
function keyFailed(): Response {
  return envelope(401, API_STATUS.TOKEN_FAILED, "API key authentication failed", {}, {
    "www-authenticate": "Bearer",
  });
}

function userNotFound(name: string): Response {
  return envelope(404, API_STATUS.NOT_FOUND, `User ${name} does not exist`);
}

/** A message over its sender's quota: 429 10016 with `Retry-After` (daily) or 429 10017. */
function overQuota(refused: QuotaRefusal): Response {
  if (refused.quota === "waiting") {
    return envelope(429, API_STATUS.WAITING_QUOTA, "Too many messages waiting", {
      limit: refused.limit,
    });
  }
  const retryAfterMs = refused.retryAfterMs ?? 0;
  return envelope(
    429,
    API_STATUS.DAILY_QUOTA,
    "Daily quota exceeded",
    { quota: dailyKind(refused), limit: refused.limit, retry_after_ms: retryAfterMs },
    { "retry-after": String(Math.ceil(retryAfterMs / 1000)) },
  );
}

/** Wraps a handler so that it runs only for a valid API key. */
function withApiKey(context: AdminContext, handler: AdminHandler): RouteHandler {
  return async (request, requestContext) => {
    const { address } = requestContext;
    const wait = context.keyFailures.retryAfter(address);
    if (wait > 0) {
      context.metrics.authFailures.inc({ kind: "rate_limited" });
      return tooManyAttempts(wait);
    }
    const key = await context.apiKeys.authenticate(tokenFromAuthorization(request));
    if (key === null) {
      context.keyFailures.record(address);
      context.metrics.authFailures.inc({ kind: "api_key" });
      context.log.warn("admin.key_rejected", { address });
      return keyFailed();
    }
    const response = await handler(request, requestContext);
    context.log.info("admin.request", {
      key: key.name,
      method: request.method,
      path: requestContext.url.pathname,
      status: response.status,
    });
    return response;
  };
}

async function findByName(repository: Repository, name: string): Promise<UserRecord | null> {
  const checked = checkUsername(name);
  return checked.ok ? await repository.findUser(usernameKey(checked.username)) : null;
}

/** An optional JSON object body: `{}` when there is none. */
async function optionalBody(request: Request) {
  if (request.headers.get("content-length") === "0" || request.body === null) {
    return { ok: true as const, value: {} as Record<string, unknown> };
  }
  return await readJsonObject(request);
}

/** `PUT /v1/admin/users/<name>` `{"password"?, "email"?}` -> 201 created, 200 existed. */
function putUser(context: AdminContext): AdminHandler {
  return async (request, { params }) => {
    const body = await optionalBody(request);
    if (!body.ok) return body.response;
    const result = await context.accounts.ensureUser(params.name, body.value);
    if (!result.ok && result.error.reason === LOOKALIKE_REASON) {
      return envelope(409, API_STATUS.USERNAME_TAKEN, "Username looks like an existing one", {
        field: "username",
        reason: LOOKALIKE_REASON,
      });
    }
    if (!result.ok) return invalidInput(result.error.field, result.error.reason);
    return envelope(
      result.created ? 201 : 200,
      API_STATUS.OK,
      result.created ? "User created" : "User exists",
      { username: result.user.username },
    );
  };
}

/** `POST /v1/admin/users/<name>/tokens` `{"ttl"?}` -> 201 `{"token", "expire"}`. */
function postToken(context: AdminContext): AdminHandler {
  return async (request, { params }) => {
    const body = await optionalBody(request);
    if (!body.ok) return body.response;
    const ttl = body.value.ttl === undefined ? undefined : parseTtl(body.value.ttl);
    if (ttl === null) {
      return invalidInput("ttl", "must be a duration like 90s, 15m or 24h, from 1s to 366d");
    }
    const user = await findByName(context.repository, params.name);
    if (user === null) return userNotFound(params.name);
    const issued = await context.accounts.issueToken(user, ttl);
    return envelope(201, API_STATUS.OK, "Token issued", {
      token: issued.token,
      expire: formatLocalTime(issued.expiresAt),
    });
  };
}

/** `GET /v1/admin/users/<name>` -> `{"username", "online", "last_seen", "created_at"}`. */
function getUser(context: AdminContext): AdminHandler {
  return async (_request, { params }) => {
    const user = await findByName(context.repository, params.name);
    if (user === null) return userNotFound(params.name);
    return envelope(200, API_STATUS.OK, "OK", {
      username: user.username,
      online: await context.hub.isOnline(user.id),
      last_seen: user.lastSeenAt === null ? null : formatLocalTime(user.lastSeenAt),
      created_at: formatLocalTime(user.createdAt),
    });
  };
}

/**
 * `DELETE /v1/admin/users/<name>` -> 200: the user, their tokens, every message they sent or
 * received and the webhook events about them are deleted; then their sockets get 30002 and
 * those of their peers on a pair with them 30003, on every node.
 */
function deleteUser(context: AdminContext): AdminHandler {
  return async (_request, { params }) => {
    const user = await findByName(context.repository, params.name);
    if (user === null) return userNotFound(params.name);
    const erased = await context.repository.deleteUser(user.id);
    if (erased === null) return userNotFound(params.name);
    await context.hub.disconnectUser(user.id);
    context.log.info("admin.user_erased", { user: user.username, messages: erased.messages });
    return envelope(200, API_STATUS.OK, "User deleted", {
      username: user.username,
      messages_deleted: erased.messages,
    });
  };
}

/**
 * `POST /v1/admin/messages` `{"from", "to", "msg", "id"?}` -> 201 `{"message_id", "send_time"}`
 * (200 for a resend of the same `id`): stored and delivered as if `from` had sent it on a
 * socket, through the same path, within the same quotas (429 when over one).
 */
function postMessage(context: AdminContext): AdminHandler {
  return async (request) => {
    const body = await readJsonObject(request);
    if (!body.ok) return body.response;
    const { from, to, msg, id } = body.value;
    // The socket's own rules for `msg` and `id`.
    const frame = decodeClientFrame(JSON.stringify({ msg, id }), context.maxMessageChars);
    if (!frame.ok || frame.kind !== "message") {
      const reason = frame.ok ? "must be a message" : frame.reason;
      return invalidInput(!frame.ok && frame.code.startsWith("id_") ? "id" : "msg", reason);
    }
    for (const [field, value] of [["from", from], ["to", to]] as const) {
      if (typeof value !== "string") return invalidInput(field, "must be a username");
    }
    const sender = await findByName(context.repository, from as string);
    if (sender === null) return userNotFound(from as string);
    const receiver = await findByName(context.repository, to as string);
    if (receiver === null) return userNotFound(to as string);
    const sentAt = context.clock();
    const [saved] = await context.messages.write([{
      message: {
        from: { id: sender.id, username: sender.username },
        to: { id: receiver.id, username: receiver.username },
        msg: frame.message.msg,
        sendTime: formatLocalTime(sentAt),
        sentAt,
        clientId: frame.message.id,
      },
      receivedAt: performance.now(),
    }]);
    // The error path answers 503 for storage that may recover, 500 otherwise.
    if (saved.kind === "not_stored") throw saved.error;
    if (saved.kind === "refused") return overQuota(saved.refusal);
    return envelope(saved.duplicate ? 200 : 201, API_STATUS.OK, "Stored", {
      message_id: saved.message.messageId,
      send_time: saved.message.sendTime,
    });
  };
}

/** The admin API's routes: `[path, handlers by method]`, for the route table. */
export function adminRoutes(context: AdminContext): [string, Record<string, RouteHandler>][] {
  const guard = (handler: AdminHandler) => withApiKey(context, handler);
  return [
    ["/v1/admin/users/:name", {
      PUT: guard(putUser(context)),
      GET: guard(getUser(context)),
      DELETE: guard(deleteUser(context)),
    }],
    ["/v1/admin/users/:name/tokens", { POST: guard(postToken(context)) }],
    ["/v1/admin/messages", { POST: guard(postMessage(context)) }],
  ];
}
