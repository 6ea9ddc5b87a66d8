/**
 * The login and registration form's checks and error texts, without the DOM: the checks the
 * service would make (so that most mistakes need no round trip), and what a failed request means.
 */
import { ApiError, RetryLaterError } from "../../client/chat_api.ts";
import { API_STATUS } from "../../protocol/status.ts";
import { countCodePoints } from "../../protocol/text.ts";
import { checkUsername } from "../../users/username.ts";
import { type MessageKey, type Translate, waitSeconds } from "./i18n.ts";

/** Log in, or register and log in. */
export type AuthMode = "login" | "register";

/** The form's errors, by where they show. */
export interface AuthErrors {
  readonly username?: string;
  readonly password?: string;
  readonly form?: string;
}

/** The key of the words for a username that `checkUsername` refused, or an empty one. */
export function usernameProblem(username: string): MessageKey | null {
  if (username.trim() === "") return "errRequired";
  const check = checkUsername(username);
  if (check.ok) return null;
  return /characters$/.test(check.reason) ? "errUsernameLength" : "errUsernameChars";
}

/** The errors of the form as filled in; empty when it may be sent. */
export function checkAuthForm(
  mode: AuthMode,
  username: string,
  password: string,
  t: Translate,
): AuthErrors {
  const errors: { username?: string; password?: string } = {};
  if (username.trim() === "") errors.username = t("errRequired");
  else if (mode === "register") {
    const problem = usernameProblem(username);
    if (problem !== null) errors.username = t(problem);
  }
  if (password === "") errors.password = t("errRequired");
  else if (mode === "register") {
    const length = countCodePoints(password);
    if (length < 8 || length > 128) errors.password = t("errPasswordLength");
  }
  return errors;
}

/** What a failed login or registration means, where it shows. */
export function explainAuthFailure(error: unknown, t: Translate): AuthErrors {
  if (error instanceof RetryLaterError) {
    // 429: too many attempts from here or at this name; 503: the service is busy.
    const seconds = waitSeconds(error.retryAfterMs);
    return { form: t(error.httpStatus === 429 ? "errTooManyAttempts" : "errBusy", { seconds }) };
  }
  if (!(error instanceof ApiError)) return { form: t("errNetwork") };
  if (error.status === API_STATUS.LOGIN_FAILED) return { form: t("errLogin") };
  if (error.status === API_STATUS.USERNAME_TAKEN) return { username: t("errTaken") };
  if (error.status === API_STATUS.INVALID_INPUT && error.field === "username") {
    return { username: t("errUsernameChars") };
  }
  if (error.status === API_STATUS.INVALID_INPUT && error.field === "password") {
    return { password: t("errPasswordLength") };
  }
  return { form: error.status === 0 ? t("errNetwork") : t("errServer") };
}
