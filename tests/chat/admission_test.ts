/** `admit()`: token first, then the target, then the user's socket cap; no network. */
import { sqliteOptions } from "../support/backend_options.ts";
import assert from "node:assert/strict";
import { type AdmissionContext, admit } from "../../lib/chat/admission.ts";
import { Accounts } from "../../lib/auth/accounts.ts";
import { ConnectionCounter } from "../../lib/limits/connection_counter.ts";
import { Metrics } from "../../lib/metrics.ts";
import { SqliteRepository } from "../../lib/storage/sqlite_repository.ts";
import { DISCONNECT } from "../../lib/protocol/disconnect.ts";

async function fixture(maxConnectionsPerUser = 2) {
  const repository = new SqliteRepository(":memory:", sqliteOptions());
  const accounts = new Accounts({
    repository,
    clock: Date.now,
    tokenTtlMs: 60_000,
    passwords: { hash: (p) => Promise.resolve(p), verify: (p, s) => Promise.resolve(p === s) },
  });
  for (const username of ["Tom", "Jack"]) {
    await accounts.register({ username, password: "password123" });
  }
  const { token } = (await accounts.login("Tom", "password123"))!;
  const context: AdmissionContext = {
    authenticator: accounts,
    repository,
    connections: new ConnectionCounter({
      maxConnections: 100,
      maxConnectionsPerIp: 100,
      maxConnectionsPerUser,
    }),
    metrics: new Metrics(),
    maxConnectionsPerUser,
  };
  return { context, token, [Symbol.asyncDispose]: () => repository.close() };
}

Deno.test("a valid token and an existing target are admitted, in the target's spelling", async () => {
  await using f = await fixture();
  const admission = await admit(f.context, { token: f.token, peerName: "JACK", receipts: true });
  assert.ok(admission.admitted);
  assert.equal(admission.session.user.username, "Tom");
  assert.equal(admission.peer.username, "Jack");
  assert.equal(admission.receipts, true);
});

Deno.test("the token is checked before the target, and counted as an auth failure", async () => {
  await using f = await fixture();
  const admission = await admit(f.context, { token: "nope", peerName: "Nobody", receipts: false });
  assert.deepEqual(admission, { admitted: false, disconnect: DISCONNECT.TOKEN_FAILED });
  assert.match(f.context.metrics.render(), /chat_auth_failures_total\{kind="token"\} 1/);
  const missing = await admit(f.context, { token: null, peerName: "Jack", receipts: false });
  assert.equal(missing.admitted, false);
});

Deno.test("an unknown or unreadable target is 30003 naming it as the client spelled it", async () => {
  await using f = await fixture();
  for (const peerName of ["Tony", "a b"]) {
    const admission = await admit(f.context, { token: f.token, peerName, receipts: false });
    assert.deepEqual(admission, {
      admitted: false,
      disconnect: DISCONNECT.targetNotFound(peerName),
    });
  }
});

Deno.test("a user at the socket cap is refused with 30006 naming the limit", async () => {
  await using f = await fixture(1);
  const first = await admit(f.context, { token: f.token, peerName: "Jack", receipts: false });
  assert.ok(first.admitted);
  f.context.connections.open("192.0.2.1", String(first.session.user.id));
  const second = await admit(f.context, { token: f.token, peerName: "Jack", receipts: false });
  assert.deepEqual(second, { admitted: false, disconnect: DISCONNECT.tooManyConnections(1) });
});
