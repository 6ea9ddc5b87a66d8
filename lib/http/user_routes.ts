/** The user API: register, log in, log out. */
import { API_STATUS } from "../protocol/status.ts";
import { formatLocalTime } from "../time.ts";
import { type Accounts, LOOKALIKE_REASON } from "../auth/accounts.ts";
import { MAX_DEVICE_TOKEN_CHARS } from "../auth/device_token.ts";
import type { Hub } from "../hub/hub.ts";
import type { AuthThrottle } from "../limits/auth_throttle.ts";
import type { Metrics } from "../metrics.ts";
import { checkUsername, usernameKey } from "../users/username.ts";
import { envelope, invalidInput, readJsonObject, tokenFromAuthorization } from "./envelope.ts";

/** 401 with status 10004, for a missing, unknown, revoked or expired token. */
export function tokenFailed(): Response {
  return envelope(401, API_STATUS.TOKEN_FAILED, "Token authentication failed", {}, {
    "www-authenticate": "Token",
  });
}

/** What the user routes need besides the request. */
export interface UserRouteContext {
  readonly accounts: Accounts;
  readonly throttle: AuthThrottle;
  readonly metrics: Metrics;
}

/** 429 with status 10007 and `Retry-After`. */
export function tooManyAttempts(retryAfterMs: number): Response {
  return envelope(429, API_STATUS.RATE_LIMITED, "Too many attempts, try again later", {
    retry_after_ms: retryAfterMs,
  }, { "retry-after": String(Math.ceil(retryAfterMs / 1000)) });
}

/** The key a login attempt is counted under: the name's lookup key, or the raw text. */
function attemptKey(username: unknown): string | null {
  if (typeof username !== "string") return null;
  const name = checkUsername(username);
  return name.ok ? usernameKey(name.username) : username.slice(0, 64).toLowerCase();
}

/** The device token a login shows, when it is a valid one of that user; else `null`. */
async function knownDevice(
  context: UserRouteContext,
  username: string,
  device: unknown,
): Promise<string | null> {
  if (typeof device !== "string" || device.length > MAX_DEVICE_TOKEN_CHARS) return null;
  return (await context.accounts.isKnownDevice(username, device)) ? device : null;
}

/** `POST /v1/user`: `{username, password, email?}` -> 201, 409, 400 or 429. */
export async function register(
  request: Request,
  address: string,
  context: UserRouteContext,
): Promise<Response> {
  const wait = context.throttle.admit(address, null);
  if (wait > 0) {
    context.metrics.authFailures.inc({ kind: "rate_limited" });
    return tooManyAttempts(wait);
  }
  const body = await readJsonObject(request);
  if (!body.ok) return body.response;
  const result = await context.accounts.register(body.value);
  if (result.ok) {
    return envelope(201, API_STATUS.OK, "Registration success", { username: result.user.username });
  }
  if (result.taken) {
    return envelope(409, API_STATUS.USERNAME_TAKEN, "Username already taken", {
      field: "username",
      reason: result.lookalike ? LOOKALIKE_REASON : "is already taken",
    });
  }
  return invalidInput(result.error.field, result.error.reason);
}

/**
 * `POST /v1/user/token`: `{username, password, device?}` -> 201 with a token and a device
 * token, 401 or 429.
 */
export async function login(
  request: Request,
  address: string,
  context: UserRouteContext,
): Promise<Response> {
  const body = await readJsonObject(request);
  if (!body.ok) return body.response;
  const { username, password } = body.value;
  if (typeof username !== "string") return invalidInput("username", "must be a string");
  if (typeof password !== "string") return invalidInput("password", "must be a string");
  const key = attemptKey(username) ?? "";
  // A known device is counted apart, so an attack on the name cannot lock its owner out.
  const device = await knownDevice(context, username, body.value.device);
  const wait = context.throttle.admit(address, key, device);
  if (wait > 0) {
    context.metrics.authFailures.inc({ kind: "rate_limited" });
    return tooManyAttempts(wait);
  }
  const issued = await context.accounts.login(username, password, device);
  if (issued === null) {
    context.throttle.failed(key, device);
    context.metrics.authFailures.inc({ kind: "login" });
    return envelope(401, API_STATUS.LOGIN_FAILED, "Wrong username or password");
  }
  context.throttle.succeeded(key, device);
  return envelope(201, API_STATUS.OK, "Login success", {
    token: issued.token,
    expire: formatLocalTime(issued.expiresAt),
    device: issued.device,
  });
}

/**
 * `DELETE /v1/user/token` with `Authorization: Token <token>` -> 200, or 401. The token is
 * deleted, then every chat socket opened with it, on every node, gets 30002 and closes.
 */
export async function logout(request: Request, accounts: Accounts, hub: Hub): Promise<Response> {
  const revoked = await accounts.logout(tokenFromAuthorization(request));
  if (revoked === null) return tokenFailed();
  await hub.revokeToken(revoked.tokenHash);
  return envelope(200, API_STATUS.OK, "Logout success");
}
