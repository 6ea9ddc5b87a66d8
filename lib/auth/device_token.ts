/**
 * Device tokens (OWASP's "device cookies"): after a successful login the client gets a token
 * that proves this device once knew the user's password. A login that shows a valid one is
 * counted apart from the failures of everyone else, so an attacker guessing passwords from many
 * addresses can lock out unknown devices but never the owner's known ones.
 *
 * The token is `<nonce>.<HMAC-SHA256(key = the stored password hash, nonce)>`: nothing more is
 * stored, only the server can make one (the hash never leaves it), and a password change
 * (a new hash) voids every device token of the user.
 */
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";

/** The longest device token read from a request. */
export const MAX_DEVICE_TOKEN_CHARS = 128;

function mac(passwordHash: string, nonce: string): Buffer {
  return createHmac("sha256", passwordHash).update(`chat-device:${nonce}`).digest();
}

/** A new device token for the user whose stored password hash is `passwordHash`. */
export function issueDeviceToken(passwordHash: string): string {
  const nonce = randomBytes(16).toString("base64url");
  return `${nonce}.${mac(passwordHash, nonce).toString("base64url")}`;
}

/** Whether `token` is a device token issued for the user whose password hash is `passwordHash`. */
export function isDeviceToken(token: string, passwordHash: string): boolean {
  if (token.length > MAX_DEVICE_TOKEN_CHARS) return false;
  const [nonce, signature, ...rest] = token.split(".");
  if (rest.length > 0 || !nonce || !signature) return false;
  const expected = mac(passwordHash, nonce);
  const given = Buffer.from(signature, "base64url");
  return given.length === expected.length && timingSafeEqual(given, expected);
}
