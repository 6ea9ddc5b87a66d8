/** The user API: register, log in, log out. */
import { API_STATUS } from "../protocol/status.ts";
import { formatLocalTime } from "../time.ts";
import type { Accounts } from "../auth/accounts.ts";
import { envelope, invalidInput, readJsonObject, tokenFromAuthorization } from "./envelope.ts";

/** 401 with status 10004, for a missing, unknown, revoked or expired token. */
export function tokenFailed(): Response {
  return envelope(401, API_STATUS.TOKEN_FAILED, "Token authentication failed", {}, {
    "www-authenticate": "Token",
  });
}

/** `POST /v1/user`: `{username, password, email?}` -> 201, 409 or 400. */
export async function register(request: Request, accounts: Accounts): Promise<Response> {
  const body = await readJsonObject(request);
  if (!body.ok) return body.response;
  const result = await accounts.register(body.value);
  if (result.ok) {
    return envelope(201, API_STATUS.OK, "Registration success", { username: result.user.username });
  }
  if (result.taken) {
    return envelope(409, API_STATUS.USERNAME_TAKEN, "Username already taken", {
      field: "username",
      reason: "is already taken",
    });
  }
  return invalidInput(result.error.field, result.error.reason);
}

/** `POST /v1/user/token`: `{username, password}` -> 201 with a token, or 401. */
export async function login(request: Request, accounts: Accounts): Promise<Response> {
  const body = await readJsonObject(request);
  if (!body.ok) return body.response;
  const { username, password } = body.value;
  if (typeof username !== "string") return invalidInput("username", "must be a string");
  if (typeof password !== "string") return invalidInput("password", "must be a string");
  const issued = await accounts.login(username, password);
  if (issued === null) {
    return envelope(401, API_STATUS.LOGIN_FAILED, "Wrong username or password");
  }
  return envelope(201, API_STATUS.OK, "Login success", {
    token: issued.token,
    expire: formatLocalTime(issued.expiresAt),
  });
}

/** `DELETE /v1/user/token` with `Authorization: Token <token>` -> 200, or 401. */
export async function logout(request: Request, accounts: Accounts): Promise<Response> {
  const revoked = await accounts.logout(tokenFromAuthorization(request));
  return revoked ? envelope(200, API_STATUS.OK, "Logout success") : tokenFailed();
}
