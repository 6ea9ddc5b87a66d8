/**
 * Verifies the app's JWTs with `npm:jose`: the allowed algorithms are named explicitly (HS256 for
 * `JWT_SECRET`, the key's own RS256 or ES256 for `JWT_PUBLIC_KEY`, RS256 and ES256 for
 * `JWT_JWKS_URL`), `exp` and `sub` are required, `iss` and `aud` checked when set, and every
 * failure is a named reason. Loaded by `main.ts` with a dynamic `import()` only when a JWT
 * setting is set, so the embedded default never loads jose.
 */
import { createPublicKey } from "node:crypto";
import * as jose from "npm:jose@6.2.17";
import type { JwtSettings } from "../config.ts";
import type { Clock } from "../time.ts";
import type { JwtFailure, JwtVerdict, JwtVerifier } from "./jwt_verdict.ts";

/** What the verifier needs besides the settings. */
export interface JwtVerifierOptions {
  readonly clock: Clock;
  /** The PEM text of `JWT_PUBLIC_KEY`, read by the caller. */
  readonly publicKeyPem?: string;
  /** Shortest time between two fetches of the JWKS for an unknown `kid`; 30 s by default. */
  readonly jwksCooldownMs?: number;
}

/** How long a fetched JWKS is used before it is fetched again. */
const JWKS_MAX_AGE_MS = 10 * 60_000;
/** How long a JWKS fetch may take. */
const JWKS_TIMEOUT_MS = 5_000;
const JWKS_COOLDOWN_MS = 30_000;
/** The algorithms a JWKS key may use: never a symmetric one. */
const JWKS_ALGORITHMS = ["RS256", "ES256"];

/** jose's `jwtVerify` bound to one key (or key set). */
type VerifyWithKey = (
  token: string,
  options: jose.JWTVerifyOptions,
) => Promise<jose.JWTVerifyResult>;

/** The algorithm a PEM public key verifies: RS256 for RSA, ES256 for P-256; else it throws. */
export function algorithmOfPublicKey(pem: string): "RS256" | "ES256" {
  const key = createPublicKey(pem);
  if (key.asymmetricKeyType === "rsa") return "RS256";
  if (key.asymmetricKeyType === "ec" && key.asymmetricKeyDetails?.namedCurve === "prime256v1") {
    return "ES256";
  }
  throw new TypeError(
    `Unsupported public key type "${key.asymmetricKeyType}": expected RSA (RS256) or P-256 (ES256)`,
  );
}

/** Builds the verifier the settings describe; throws when the key cannot be used. */
export async function createJwtVerifier(
  settings: JwtSettings,
  options: JwtVerifierOptions,
): Promise<JwtVerifier> {
  const source = settings.key;
  if (source.kind === "secret") {
    const secret = new TextEncoder().encode(source.secret);
    const verify: VerifyWithKey = (token, opts) => jose.jwtVerify(token, secret, opts);
    return new JoseVerifier(verify, ["HS256"], settings, options.clock);
  }
  if (source.kind === "public_key") {
    const pem = options.publicKeyPem;
    if (pem === undefined) throw new TypeError("JWT_PUBLIC_KEY needs the PEM text");
    const algorithm = algorithmOfPublicKey(pem);
    const key = await jose.importSPKI(pem, algorithm);
    const verify: VerifyWithKey = (token, opts) => jose.jwtVerify(token, key, opts);
    return new JoseVerifier(verify, [algorithm], settings, options.clock);
  }
  // Cached; fetched again for an unknown `kid`, at most once per cool-down.
  const keySet = jose.createRemoteJWKSet(new URL(source.url), {
    cooldownDuration: options.jwksCooldownMs ?? JWKS_COOLDOWN_MS,
    cacheMaxAge: JWKS_MAX_AGE_MS,
    timeoutDuration: JWKS_TIMEOUT_MS,
  });
  const verify: VerifyWithKey = (token, opts) => jose.jwtVerify(token, keySet, opts);
  return new JoseVerifier(verify, JWKS_ALGORITHMS, settings, options.clock);
}

class JoseVerifier implements JwtVerifier {
  readonly #verify: VerifyWithKey;
  readonly #options: jose.JWTVerifyOptions;
  readonly #leewaySeconds: number;
  readonly #clock: Clock;

  constructor(verify: VerifyWithKey, algorithms: string[], settings: JwtSettings, clock: Clock) {
    this.#verify = verify;
    this.#clock = clock;
    this.#leewaySeconds = settings.leewayMs / 1000;
    this.#options = {
      algorithms,
      requiredClaims: ["exp", "sub"],
      clockTolerance: this.#leewaySeconds,
      ...(settings.issuer === null ? {} : { issuer: settings.issuer }),
      ...(settings.audience === null ? {} : { audience: settings.audience }),
    };
  }

  async verify(token: string): Promise<JwtVerdict> {
    const now = this.#clock();
    let payload: jose.JWTPayload;
    try {
      const options = { ...this.#options, currentDate: new Date(now) };
      payload = (await this.#verify(token, options)).payload;
    } catch (error) {
      return { ok: false, reason: failureOf(error) };
    }
    // jose checks `iat` only with a maximum age; a token from the future is refused here.
    if (typeof payload.iat === "number" && payload.iat > now / 1000 + this.#leewaySeconds) {
      return { ok: false, reason: "issued_in_future" };
    }
    return { ok: true, subject: payload.sub as string, expiresAt: (payload.exp as number) * 1000 };
  }
}

/** The reason a jose error stands for, by its stable `code`. */
function failureOf(error: unknown): JwtFailure {
  const { code, claim } = error as { code?: string; claim?: string };
  switch (code) {
    case "ERR_JWT_EXPIRED":
      return "expired";
    case "ERR_JOSE_ALG_NOT_ALLOWED":
      return "wrong_algorithm";
    case "ERR_JWS_SIGNATURE_VERIFICATION_FAILED":
      return "bad_signature";
    case "ERR_JWKS_NO_MATCHING_KEY":
    case "ERR_JWKS_MULTIPLE_MATCHING_KEYS":
      return "unknown_key";
    case "ERR_JWKS_TIMEOUT":
    case "ERR_JWKS_INVALID":
      return "jwks_unavailable";
    case "ERR_JWT_CLAIM_VALIDATION_FAILED":
      return claimFailure(claim);
    case undefined:
      // A failed fetch of the JWKS is a plain TypeError from fetch.
      return error instanceof TypeError ? "jwks_unavailable" : "malformed";
    default:
      return "malformed";
  }
}

function claimFailure(claim: string | undefined): JwtFailure {
  switch (claim) {
    case "iss":
      return "wrong_issuer";
    case "aud":
      return "wrong_audience";
    case "nbf":
      return "not_yet_valid";
    case "exp":
      return "missing_exp";
    case "sub":
      return "missing_sub";
    default:
      return "bad_claims";
  }
}
