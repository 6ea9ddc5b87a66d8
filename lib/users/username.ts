/** Usernames: validation, NFKC normalisation and the case-insensitive lookup key. */
import { countCodePoints } from "../protocol/text.ts";
import { INVISIBLE } from "./lookalike.ts";

/** The longest username accepted, in characters. */
export const MAX_USERNAME_CHARS = 32;

// Letters (with the combining marks many scripts need), digits, and `_ - .`.
const USERNAME_PATTERN = /^[\p{L}\p{N}_.\-][\p{L}\p{M}\p{N}_.\-]*$/u;
// At least one letter or digit, so that no name is a path segment like `..`.
const LETTER_OR_DIGIT = /[\p{L}\p{N}]/u;
/** Most nonspacing marks in a row (UTS #39 section 5.4): scripts need a few, not a stack. */
export const MAX_MARKS_IN_A_ROW = 4;
const MARK_STACK = new RegExp(`[\\p{Mn}\\p{Me}]{${MAX_MARKS_IN_A_ROW + 1},}`, "u");
// The same nonspacing mark twice in a row draws as one: a look-alike of the name with one.
const REPEATED_MARK = /([\p{Mn}\p{Me}])\1/u;

/** The outcome of checking a username. */
export type UsernameCheck =
  | { readonly ok: true; readonly username: string }
  | { readonly ok: false; readonly reason: string };

/** Normalises a username to NFKC and checks its length and characters. */
export function checkUsername(raw: unknown): UsernameCheck {
  if (raw === undefined || raw === null) return { ok: false, reason: "is required" };
  if (typeof raw !== "string") return { ok: false, reason: "must be a string" };
  if (!raw.isWellFormed()) return { ok: false, reason: "is not valid Unicode" };
  const username = raw.normalize("NFKC");
  const length = countCodePoints(username);
  if (length < 1 || length > MAX_USERNAME_CHARS) {
    return { ok: false, reason: `must be 1 to ${MAX_USERNAME_CHARS} characters` };
  }
  if (!USERNAME_PATTERN.test(username) || !LETTER_OR_DIGIT.test(username)) {
    return { ok: false, reason: "may contain only letters, digits, '_', '-' and '.'" };
  }
  if (new RegExp(INVISIBLE.source, "u").test(username)) {
    return { ok: false, reason: "must not contain invisible characters" };
  }
  const decomposed = username.normalize("NFD");
  if (MARK_STACK.test(decomposed) || REPEATED_MARK.test(decomposed)) {
    return {
      ok: false,
      reason: `may not stack more than ${MAX_MARKS_IN_A_ROW} combining marks or repeat one`,
    };
  }
  return { ok: true, username };
}

/**
 * The key two spellings of one name share: NFKC, lower-cased without locale rules, then NFKC
 * again (lower-casing can produce characters that compose differently). `Tom` and `tom` share one.
 */
export function usernameKey(username: string): string {
  return username.normalize("NFKC").toLowerCase().normalize("NFKC");
}
