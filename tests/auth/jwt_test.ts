/**
 * The JWT verifier against tokens from the test app backend: each key source accepts its own
 * algorithm only, and every refusal has its named reason.
 */
import assert from "node:assert/strict";
import * as jose from "npm:jose@6.2.17";
import { createJwtVerifier } from "../../lib/auth/jwt.ts";
import type { JwtVerifier } from "../../lib/auth/jwt_verdict.ts";
import { looksLikeJwt } from "../../lib/auth/jwt_verdict.ts";
import type { JwtKeySource, JwtSettings } from "../../lib/config.ts";
import { APP_AUDIENCE, APP_ISSUER, AppBackend } from "../support/app_backend.ts";

const now = () => Math.floor(Date.now() / 1000);

function settings(key: JwtKeySource, extra: Partial<JwtSettings> = {}): JwtSettings {
  return { key, issuer: null, audience: null, leewayMs: 30_000, ...extra };
}

async function verifiers(app: AppBackend, extra: Partial<JwtSettings> = {}) {
  const clock = Date.now;
  const pem = async (alg: "RS256" | "ES256") => await Deno.readTextFile(app.publicKeyPath(alg));
  return {
    HS256: await createJwtVerifier(settings({ kind: "secret", secret: app.secret }, extra), {
      clock,
    }),
    RS256: await createJwtVerifier(
      settings({ kind: "public_key", path: app.publicKeyPath("RS256") }, extra),
      { clock, publicKeyPem: await pem("RS256") },
    ),
    ES256: await createJwtVerifier(
      settings({ kind: "public_key", path: app.publicKeyPath("ES256") }, extra),
      { clock, publicKeyPem: await pem("ES256") },
    ),
  };
}

async function reason(verifier: JwtVerifier, token: string): Promise<string> {
  const verdict = await verifier.verify(token);
  return verdict.ok ? "ok" : verdict.reason;
}

Deno.test("each key source accepts tokens of its algorithm, with sub and exp", async () => {
  await using app = await AppBackend.start();
  const all = await verifiers(app);
  for (const alg of ["HS256", "RS256", "ES256"] as const) {
    const exp = now() + 60;
    const verdict = await all[alg].verify(await app.sign(alg, { sub: "tom", exp }));
    assert.deepEqual(verdict, { ok: true, subject: "tom", expiresAt: exp * 1000 }, alg);
  }
});

Deno.test("another algorithm is refused: none, HS256 keyed with the public key, RS for ES", async () => {
  await using app = await AppBackend.start();
  const all = await verifiers(app);
  const claims = { sub: "tom", exp: now() + 60 };
  const unsigned = new jose.UnsecuredJWT(claims).encode();
  for (const verifier of Object.values(all)) {
    assert.equal(await reason(verifier, unsigned), "wrong_algorithm");
  }
  // The classic confusion: HS256 with the RSA public key's PEM text as the shared secret.
  const pem = await Deno.readTextFile(app.publicKeyPath("RS256"));
  const confused = await new jose.SignJWT(claims).setProtectedHeader({ alg: "HS256" })
    .sign(new TextEncoder().encode(pem));
  assert.equal(await reason(all.RS256, confused), "wrong_algorithm");
  assert.equal(await reason(all.ES256, await app.sign("RS256", claims)), "wrong_algorithm");
  assert.equal(await reason(all.HS256, await app.sign("ES256", claims)), "wrong_algorithm");
});

Deno.test("a bad signature, a missing exp or sub, an expired or future token are refused", async () => {
  await using app = await AppBackend.start();
  const { HS256, RS256 } = await verifiers(app);
  const good = await app.sign("HS256", { sub: "tom", exp: now() + 60 });
  const [header, payload] = good.split(".");
  const forged = `${header}.${payload}.${"A".repeat(43)}`;
  assert.equal(await reason(HS256, forged), "bad_signature");
  const tampered = await app.sign("RS256", { sub: "tom", exp: now() + 60 });
  const otherPayload = btoa(JSON.stringify({ sub: "admin", exp: now() + 60 }))
    .replaceAll("=", "").replaceAll("+", "-").replaceAll("/", "_");
  const [h, , s] = tampered.split(".");
  assert.equal(await reason(RS256, `${h}.${otherPayload}.${s}`), "bad_signature");
  assert.equal(await reason(HS256, await app.sign("HS256", { sub: "tom" })), "missing_exp");
  assert.equal(await reason(HS256, await app.sign("HS256", { exp: now() + 60 })), "missing_sub");
  // Past the 30 s leeway: expired; within it: still good.
  assert.equal(
    await reason(HS256, await app.sign("HS256", { sub: "t", exp: now() - 40 })),
    "expired",
  );
  assert.equal(await reason(HS256, await app.sign("HS256", { sub: "t", exp: now() - 5 })), "ok");
  const early = { sub: "t", exp: now() + 600, nbf: now() + 120 };
  assert.equal(await reason(HS256, await app.sign("HS256", early)), "not_yet_valid");
  const future = { sub: "t", exp: now() + 600, iat: now() + 120 };
  assert.equal(await reason(HS256, await app.sign("HS256", future)), "issued_in_future");
  assert.equal(await reason(HS256, "not.a.jwt"), "malformed");
});

Deno.test("issuer and audience are checked when set", async () => {
  await using app = await AppBackend.start();
  const { HS256 } = await verifiers(app, { issuer: APP_ISSUER, audience: APP_AUDIENCE });
  const base = { sub: "tom", exp: now() + 60 };
  const sign = (claims: object) => app.sign("HS256", { ...base, ...claims });
  assert.equal(await reason(HS256, await sign({ iss: APP_ISSUER, aud: APP_AUDIENCE })), "ok");
  assert.equal(await reason(HS256, await sign({ iss: "evil", aud: APP_AUDIENCE })), "wrong_issuer");
  assert.equal(await reason(HS256, await sign({ aud: APP_AUDIENCE })), "wrong_issuer");
  assert.equal(
    await reason(HS256, await sign({ iss: APP_ISSUER, aud: "other" })),
    "wrong_audience",
  );
});

Deno.test("JWKS: keys are cached, fetched again for an unknown kid, at a bounded rate", async () => {
  await using app = await AppBackend.start();
  const key: JwtKeySource = { kind: "jwks", url: app.jwksUrl };
  const eager = await createJwtVerifier(settings(key), { clock: Date.now, jwksCooldownMs: 0 });
  const claims = { sub: "tom", exp: now() + 60 };
  assert.equal(await reason(eager, await app.sign("RS256", claims)), "ok");
  assert.equal(await reason(eager, await app.sign("ES256", claims)), "ok");
  assert.equal(app.jwksFetches, 1, "both keys came from one fetch");
  await app.rotate("RS256", "rs256-2");
  assert.equal(await reason(eager, await app.sign("RS256", claims)), "ok");
  assert.equal(app.jwksFetches, 2, "an unknown kid fetched the set again");

  const fetchesBefore = app.jwksFetches;
  const bounded = await createJwtVerifier(settings(key), { clock: Date.now });
  assert.equal(await reason(bounded, await app.sign("ES256", claims)), "ok");
  await app.rotate("ES256", "es256-2");
  const unknown = await app.sign("ES256", claims);
  for (let i = 0; i < 5; i++) assert.equal(await reason(bounded, unknown), "unknown_key");
  assert.equal(
    app.jwksFetches,
    fetchesBefore + 1,
    "unknown kids within the cool-down fetch nothing",
  );
  // HS256 is never accepted from a key set.
  assert.equal(await reason(eager, await app.sign("HS256", claims)), "wrong_algorithm");
});

Deno.test("JWKS: an unreachable key set fails closed", async () => {
  await using app = await AppBackend.start();
  const verifier = await createJwtVerifier(
    settings({ kind: "jwks", url: "http://127.0.0.1:1/jwks" }),
    { clock: Date.now },
  );
  const token = await app.sign("RS256", { sub: "tom", exp: now() + 60 });
  assert.equal(await reason(verifier, token), "jwks_unavailable");
});

Deno.test("a JWT looks like one; a chat token or an API key does not", () => {
  assert.ok(looksLikeJwt("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ0b20ifQ.c2ln"));
  assert.ok(!looksLikeJwt(crypto.randomUUID()));
  assert.ok(!looksLikeJwt("chat_key_abc"));
  assert.ok(!looksLikeJwt("a.b"));
});
