/**
 * Sign-in with the app's JWT against a real chat server and the test app backend: HS256, RS256
 * and ES256 tokens the app mints open chat sockets and call the HTTP API; the `sub` user is created
 * on first use; bad tokens get 30002 or 401 10004 and the log names why; password login works
 * beside it.
 */
import assert from "node:assert/strict";
import type { LogFields, Logger } from "../../lib/log.ts";
import { api, historyTexts, registerAndLogin, startTestServer } from "../support/server.ts";
import { ChatClient } from "../support/ws_client.ts";
import {
  APP_AUDIENCE,
  APP_ISSUER,
  type AppAlgorithm,
  AppBackend,
  appChatToken,
} from "../support/app_backend.ts";

/** A logger that keeps its lines, to check what the log says (and does not say). */
function recordingLogger() {
  const lines: { event: string; fields: LogFields }[] = [];
  const keep = (event: string, fields: LogFields = {}) => lines.push({ event, fields });
  const log: Logger = { info: keep, warn: keep, error: keep };
  return { log, lines };
}

const CHECKED = { JWT_ISSUER: APP_ISSUER, JWT_AUDIENCE: APP_AUDIENCE };

function keySettings(app: AppBackend, source: string): Record<string, string> {
  switch (source) {
    case "JWT_SECRET":
      return { JWT_SECRET: app.secret, ...CHECKED };
    case "JWT_PUBLIC_KEY RS256":
      return { JWT_PUBLIC_KEY: app.publicKeyPath("RS256"), ...CHECKED };
    case "JWT_PUBLIC_KEY ES256":
      return { JWT_PUBLIC_KEY: app.publicKeyPath("ES256"), ...CHECKED };
    default:
      return { JWT_JWKS_URL: app.jwksUrl, ...CHECKED };
  }
}

const CASES: [string, AppAlgorithm][] = [
  ["JWT_SECRET", "HS256"],
  ["JWT_PUBLIC_KEY RS256", "RS256"],
  ["JWT_PUBLIC_KEY ES256", "ES256"],
  ["JWT_JWKS_URL", "RS256"],
  ["JWT_JWKS_URL", "ES256"],
];

for (const [source, alg] of CASES) {
  Deno.test(`${source}: an app user chats with a ${alg} JWT beside a password user`, async () => {
    await using app = await AppBackend.start();
    await using server = await startTestServer({ env: keySettings(app, source) });
    const jackToken = await registerAndLogin(server, "Jack");
    const tomJwt = await appChatToken(app, "Tom", alg);

    await using tom = await ChatClient.connect(server.wsUrl, "jack", tomJwt);
    await using jack = await ChatClient.connect(server.wsUrl, "Tom", jackToken);
    await jack.expect(30098, "Jack sees Tom online");
    tom.sendMessage("hello from the app", "m-1");
    const message = await jack.expect(30001, "Jack receives Tom's message");
    assert.equal(message.body.from_user, "Tom");
    assert.equal(message.body.msg, "hello from the app");
    jack.sendMessage("hi Tom");
    assert.equal((await tom.nextMatching((f) => f.status === 30001, "reply")).body.msg, "hi Tom");

    // The JWT works on HTTP as `Token` and as `Bearer`.
    assert.deepEqual(await historyTexts(server, tomJwt, "jack"), ["hello from the app", "hi Tom"]);
    const bearer = await api(server, "GET", "/v1/chat/jack/messages", {
      headers: { authorization: `Bearer ${tomJwt}` },
    });
    assert.equal(bearer.httpStatus, 200);
    // Created on first use, without a password: no password logs Tom in.
    const login = await api(server, "POST", "/v1/user/token", {
      body: { username: "Tom", password: "password123" },
    });
    assert.equal(login.httpStatus, 401);
    const taken = await api(server, "POST", "/v1/user", {
      body: { username: "tom", password: "password123" },
    });
    assert.equal(taken.httpStatus, 409);
  });
}

Deno.test("bad JWTs get 30002 on the socket and 401 10004 on HTTP; the log says why", async () => {
  await using app = await AppBackend.start();
  const { log, lines } = recordingLogger();
  await using server = await startTestServer({ env: keySettings(app, "JWT_SECRET"), log });
  await registerAndLogin(server, "Jack");
  const now = Math.floor(Date.now() / 1000);
  const good = { sub: "Tom", exp: now + 600, iss: APP_ISSUER, aud: APP_AUDIENCE };
  const [header, payload] = (await app.sign("HS256", good)).split(".");
  const bad: [string, string][] = [
    ["bad_signature", `${header}.${payload}.${"x".repeat(43)}`],
    ["wrong_algorithm", await app.sign("RS256", good)],
    ["expired", await app.sign("HS256", { ...good, exp: now - 120 })],
    ["wrong_issuer", await app.sign("HS256", { ...good, iss: "https://evil.test" })],
    ["wrong_audience", await app.sign("HS256", { ...good, aud: "billing" })],
    ["missing_exp", await app.sign("HS256", { ...good, exp: undefined })],
  ];
  for (const [reason, token] of bad) {
    lines.length = 0;
    await using socket = await ChatClient.connect(server.wsUrl, "jack", token);
    await socket.expect(30002, `${reason}: 30002`);
    assert.equal((await socket.closed()).code, 1008, reason);
    const http = await api(server, "GET", "/v1/chat/jack/messages", {
      headers: { authorization: `Bearer ${token}` },
    });
    assert.equal(http.httpStatus, 401, reason);
    assert.equal(http.json.status, 10004, reason);
    const rejected = lines.filter((line) => line.event === "auth.jwt_rejected");
    assert.deepEqual(rejected.map((line) => line.fields.reason), [reason, reason]);
    const logged = JSON.stringify(lines);
    assert.ok(!logged.includes(token.split(".")[2]), "the log never holds the token");
  }
  const users = await api(server, "GET", "/v1/chat/tom/messages", {
    token: await registerAndLogin(server, "Alice"),
  });
  assert.equal(users.httpStatus, 404, "no refused token created its user");
});

Deno.test("the socket closes with 30002 when the JWT's exp passes", async () => {
  await using app = await AppBackend.start();
  await using server = await startTestServer({
    env: { JWT_SECRET: app.secret, JWT_LEEWAY: "0" },
  });
  await registerAndLogin(server, "Jack");
  const exp = Math.floor(Date.now() / 1000) + 2;
  const token = await app.sign("HS256", { sub: "Tom", exp });
  await using tom = await ChatClient.connect(server.wsUrl, "jack", token);
  const closed = await tom.closed("close at exp");
  assert.equal(closed.code, 1008);
  assert.equal(tom.frames.at(-1)?.status, 30002);
  assert.ok(Date.now() >= exp * 1000 - 50, "not before exp");
});

Deno.test("without JWT settings a JWT is an unknown token, and chat tokens still work", async () => {
  await using app = await AppBackend.start();
  await using server = await startTestServer();
  const jackToken = await registerAndLogin(server, "Jack");
  const jwt = await app.sign("HS256", { sub: "Tom", exp: Math.floor(Date.now() / 1000) + 60 });
  await using tom = await ChatClient.connect(server.wsUrl, "jack", jwt);
  await tom.expect(30002);
  await using jack = await ChatClient.connect(server.wsUrl, "jack", jackToken);
  jack.sendMessage("note to self", "n-1");
  await jack.nextMatching((frame) => frame.status === 30010, "stored");
});

Deno.test("logging out with a JWT closes the sockets opened with it", async () => {
  await using app = await AppBackend.start();
  await using server = await startTestServer({ env: { JWT_SECRET: app.secret } });
  await registerAndLogin(server, "Jack");
  const jwt = await appChatToken(app, "Tom", "HS256");
  // Another token of Tom's (minted in the same second with the same claims, it would be the same).
  const other = await app.sign("HS256", { sub: "Tom", exp: Math.floor(Date.now() / 1000) + 999 });
  await using tom = await ChatClient.connect(server.wsUrl, "jack", jwt);
  await using tomElsewhere = await ChatClient.connect(server.wsUrl, "tom", other);
  tom.sendMessage("before", "b-1");
  await tom.nextMatching((frame) => frame.status === 30010, "stored");
  const logout = await api(server, "DELETE", "/v1/user/token", {
    headers: { authorization: `Bearer ${jwt}` },
  });
  assert.equal(logout.httpStatus, 200);
  await tom.nextMatching((frame) => frame.status === 30002, "30002");
  assert.equal((await tom.closed()).code, 1008);
  tomElsewhere.sendMessage("still here", "s-1");
  await tomElsewhere.nextMatching((frame) => frame.status === 30010, "the other JWT's socket");
});
