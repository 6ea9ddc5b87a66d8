/**
 * A test app backend, as a team embedding the chat would run one: a real HTTP server on port 0
 * that mints JWTs for its logged-in users (HS256 with a shared secret, RS256 and ES256 with key
 * pairs whose public halves it publishes as a JWKS and as PEM files), and receives the chat's
 * webhooks (`webhook_receiver.ts`). Its JWTs are signed with jose, as an app's would be.
 */
import * as jose from "npm:jose@6.2.17";

/** The algorithms the app signs with. */
export type AppAlgorithm = "HS256" | "RS256" | "ES256";

/** Claims of a token the app mints; `exp` is in seconds since the epoch (omitted: none). */
export interface AppClaims {
  readonly sub?: string;
  readonly exp?: number;
  readonly nbf?: number;
  readonly iat?: number;
  readonly iss?: string;
  readonly aud?: string;
}

interface KeyPair {
  readonly kid: string;
  readonly privateKey: jose.CryptoKey;
  readonly publicJwk: jose.JWK;
  readonly publicPem: string;
}

async function keyPair(alg: "RS256" | "ES256", kid: string): Promise<KeyPair> {
  const { privateKey, publicKey } = await jose.generateKeyPair(alg, { extractable: true });
  const publicJwk = { ...(await jose.exportJWK(publicKey)), kid, alg, use: "sig" };
  return { kid, privateKey, publicJwk, publicPem: await jose.exportSPKI(publicKey) };
}

/** The app's issuer and the audience its chat tokens are for. */
export const APP_ISSUER = "https://app.test";
export const APP_AUDIENCE = "chat";

/** A running test app backend. */
export class AppBackend {
  /** The HS256 secret the app shares with the chat (`JWT_SECRET`). */
  readonly secret = crypto.randomUUID() + crypto.randomUUID();
  /** How many times the JWKS was fetched. */
  jwksFetches = 0;
  readonly #keys = new Map<"RS256" | "ES256", KeyPair>();
  #published: KeyPair[] = [];
  #server: Deno.HttpServer<Deno.NetAddr> | null = null;
  #dir = "";

  private constructor() {}

  /** Starts the app on a free port of 127.0.0.1. */
  static async start(): Promise<AppBackend> {
    const app = new AppBackend();
    for (const alg of ["RS256", "ES256"] as const) {
      app.#keys.set(alg, await keyPair(alg, `${alg.toLowerCase()}-1`));
    }
    app.#published = [...app.#keys.values()];
    app.#dir = await Deno.makeTempDir({ prefix: "chat-app-" });
    for (const [alg, pair] of app.#keys) {
      await Deno.writeTextFile(`${app.#dir}/${alg}.pem`, pair.publicPem);
    }
    const listening = Promise.withResolvers<void>();
    app.#server = Deno.serve(
      { port: 0, hostname: "127.0.0.1", onListen: () => listening.resolve() },
      (request) => app.#handle(request),
    );
    await listening.promise;
    return app;
  }

  /** The app's base URL. */
  get url(): string {
    return `http://127.0.0.1:${this.#server!.addr.port}`;
  }

  /** Where the app publishes its public keys. */
  get jwksUrl(): string {
    return `${this.url}/.well-known/jwks.json`;
  }

  /** A file holding the PEM public key of `alg` (for `JWT_PUBLIC_KEY`). */
  publicKeyPath(alg: "RS256" | "ES256"): string {
    return `${this.#dir}/${alg}.pem`;
  }

  /** Signs `claims` with `alg`; `exp` defaults to an hour from now unless given as `undefined`. */
  async sign(alg: AppAlgorithm, claims: AppClaims): Promise<string> {
    const payload: jose.JWTPayload = { ...claims };
    if (alg === "HS256") {
      return await new jose.SignJWT(payload).setProtectedHeader({ alg, typ: "JWT" })
        .sign(new TextEncoder().encode(this.secret));
    }
    const pair = this.#keys.get(alg)!;
    return await new jose.SignJWT(payload)
      .setProtectedHeader({ alg, typ: "JWT", kid: pair.kid })
      .sign(pair.privateKey);
  }

  /** Replaces the key of `alg` by a new one with a new `kid`, published in the JWKS. */
  async rotate(alg: "RS256" | "ES256", kid: string): Promise<void> {
    const pair = await keyPair(alg, kid);
    this.#keys.set(alg, pair);
    this.#published = [...this.#published, pair];
  }

  /** Stops the server and removes the key files. */
  async close(): Promise<void> {
    await this.#server?.shutdown();
    this.#server = null;
    await Deno.remove(this.#dir, { recursive: true });
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  async #handle(request: Request): Promise<Response> {
    const url = new URL(request.url);
    if (url.pathname === "/.well-known/jwks.json") {
      this.jwksFetches++;
      return Response.json({ keys: this.#published.map((pair) => pair.publicJwk) });
    }
    // The app's own session endpoint: its logged-in user gets a short-lived chat JWT.
    if (url.pathname === "/chat-token" && request.method === "POST") {
      const { username, alg } = await request.json() as { username: string; alg: AppAlgorithm };
      const exp = Math.floor(Date.now() / 1000) + 15 * 60;
      const token = await this.sign(alg, {
        sub: username,
        exp,
        iat: Math.floor(Date.now() / 1000),
        iss: APP_ISSUER,
        aud: APP_AUDIENCE,
      });
      return Response.json({ token });
    }
    return new Response("Not found", { status: 404 });
  }
}

/** Asks the app for a chat JWT of its logged-in user `username`, signed with `alg`. */
export async function appChatToken(
  app: AppBackend,
  username: string,
  alg: AppAlgorithm,
): Promise<string> {
  const response = await fetch(`${app.url}/chat-token`, {
    method: "POST",
    body: JSON.stringify({ username, alg }),
  });
  return ((await response.json()) as { token: string }).token;
}
