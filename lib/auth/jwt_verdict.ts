/**
 * The JWT verifier's contract, apart from its jose-based implementation (`jwt.ts`), so that the
 * authenticator can name it without loading jose.
 */

/** Why a JWT was refused; logged as `reason`, never with the token. */
export type JwtFailure =
  | "malformed"
  | "bad_signature"
  | "wrong_algorithm"
  | "expired"
  | "not_yet_valid"
  | "issued_in_future"
  | "wrong_issuer"
  | "wrong_audience"
  | "missing_exp"
  | "missing_sub"
  | "bad_claims"
  | "bad_subject"
  | "unknown_key"
  | "jwks_unavailable";

/** The outcome of verifying a JWT. */
export type JwtVerdict =
  | { readonly ok: true; readonly subject: string; readonly expiresAt: number }
  | { readonly ok: false; readonly reason: JwtFailure };

/** Verifies the app's JWTs. */
export interface JwtVerifier {
  verify(token: string): Promise<JwtVerdict>;
}

// Three base64url parts: header, payload, signature (an unsigned token has an empty third).
const COMPACT_JWS = /^[\w-]+\.[\w-]+\.[\w-]*$/;

/** Whether `token` has the shape of a JWT (a chat token is a UUID, an API key has no dots). */
export function looksLikeJwt(token: string): boolean {
  return COMPACT_JWS.test(token);
}
