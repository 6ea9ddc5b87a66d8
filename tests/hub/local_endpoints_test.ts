import assert from "node:assert/strict";
import { LocalEndpoints, pairKey } from "../../lib/hub/local_endpoints.ts";
import { chatMessageFrame, TOKEN_FAILED_FRAME } from "../../lib/protocol/server_frame.ts";
import { CLOSE_CODE } from "../../lib/protocol/status.ts";
import { DISCONNECT } from "../../lib/protocol/disconnect.ts";
import type { StoredMessage, UserRef } from "../../lib/storage/repository.ts";
import { FakeEndpoint } from "../support/fake_endpoint.ts";

const TOM: UserRef = { id: 1, username: "Tom" };
const JACK: UserRef = { id: 2, username: "Jack" };
const ALICE: UserRef = { id: 3, username: "Alice" };

const FROM_TOM: StoredMessage = {
  messageId: 7,
  fromUser: "Tom",
  toUser: "Jack",
  msg: "Hello Jack",
  sendTime: "2019-01-02 11:23:41",
};

Deno.test("the key of a pair names its direction", () => {
  assert.equal(pairKey(1, 2), "1>2");
  assert.notEqual(pairKey(1, 2), pairKey(2, 1));
});

Deno.test("add counts the user's endpoints on its pair, size counts them all", () => {
  const local = new LocalEndpoints();
  assert.equal(local.size, 0);
  assert.equal(local.add(new FakeEndpoint(TOM, JACK)), 1);
  assert.equal(local.add(new FakeEndpoint(TOM, JACK)), 2);
  // Another pair of the same user, and the reverse pair, are counted on their own.
  assert.equal(local.add(new FakeEndpoint(TOM, ALICE)), 1);
  assert.equal(local.add(new FakeEndpoint(JACK, TOM)), 1);
  assert.equal(local.size, 4);
  assert.equal(local.onPair(TOM.id, JACK.id)?.size, 2);
  assert.equal(local.onPair(ALICE.id, TOM.id), undefined);
});

Deno.test("remove says how many the user still holds on the pair, -1 for an unknown one", () => {
  const local = new LocalEndpoints();
  const first = new FakeEndpoint(TOM, JACK);
  const second = new FakeEndpoint(TOM, JACK);
  local.add(first);
  local.add(second);
  assert.equal(local.remove(first), 1);
  assert.equal(local.remove(first), -1);
  assert.equal(local.remove(new FakeEndpoint(TOM, JACK)), -1);
  assert.equal(local.remove(second), 0);
  assert.equal(local.onPair(TOM.id, JACK.id), undefined);
  assert.equal(local.size, 0);
  // Its token is forgotten too: a revocation finds nothing to terminate.
  local.revoke(second.tokenHash);
  assert.deepEqual(second.terminations.all, []);
});

Deno.test("sendToPair reaches the endpoints of one direction only", () => {
  const local = new LocalEndpoints();
  const jacks = [new FakeEndpoint(JACK, TOM), new FakeEndpoint(JACK, TOM)];
  const tom = new FakeEndpoint(TOM, JACK);
  const jackWithAlice = new FakeEndpoint(JACK, ALICE);
  for (const endpoint of [...jacks, tom, jackWithAlice]) local.add(endpoint);
  local.sendToPair(JACK.id, TOM.id, "frame for Jack -> Tom");
  for (const jack of jacks) assert.deepEqual(jack.frames.all, ["frame for Jack -> Tom"]);
  assert.deepEqual(tom.frames.all, []);
  assert.deepEqual(jackWithAlice.frames.all, []);
  // A pair nobody holds: nothing happens.
  local.sendToPair(ALICE.id, JACK.id, "nobody");
});

Deno.test("deliver offers a message to the receiving pair, encoded once for all", () => {
  const local = new LocalEndpoints();
  const jacks = [new FakeEndpoint(JACK, TOM), new FakeEndpoint(JACK, TOM)];
  const tom = new FakeEndpoint(TOM, JACK);
  for (const endpoint of [...jacks, tom]) local.add(endpoint);
  local.deliver(FROM_TOM, TOM.id, JACK.id);
  const [first, second] = jacks.map((jack) => jack.deliveries.all);
  assert.equal(first.length, 1);
  assert.equal(first[0].message, FROM_TOM);
  assert.equal(first[0].frame, chatMessageFrame(FROM_TOM));
  assert.equal(second[0].frame, first[0].frame);
  // The sender's own endpoints are not its receivers.
  assert.deepEqual(tom.deliveries.all, []);
  local.deliver(FROM_TOM, ALICE.id, JACK.id);
  assert.equal(jacks[0].deliveries.all.length, 1);
});

Deno.test("revoke terminates every endpoint of the token with 30002 and no other", () => {
  const local = new LocalEndpoints();
  // As a real socket does, a terminated endpoint leaves at once, while revoke walks the set.
  const leave = (endpoint: FakeEndpoint) => local.remove(endpoint);
  const revoked = [
    new FakeEndpoint(TOM, JACK, { tokenHash: "old", onTerminate: leave }),
    new FakeEndpoint(TOM, JACK, { tokenHash: "old", onTerminate: leave }),
    new FakeEndpoint(TOM, ALICE, { tokenHash: "old", onTerminate: leave }),
  ];
  const kept = new FakeEndpoint(TOM, JACK, { tokenHash: "new", onTerminate: leave });
  for (const endpoint of [...revoked, kept]) local.add(endpoint);
  local.revoke("old");
  const { frame, code, reason } = DISCONNECT.TOKEN_FAILED;
  assert.equal(frame, TOKEN_FAILED_FRAME);
  assert.equal(code, CLOSE_CODE.POLICY_VIOLATION);
  for (const endpoint of revoked) {
    assert.deepEqual(endpoint.terminations.all, [{ frame, code, reason }]);
  }
  assert.deepEqual(kept.terminations.all, []);
  assert.equal(local.size, 1);
  local.revoke("unknown");
  assert.deepEqual(kept.terminations.all, []);
});

Deno.test("clear forgets every endpoint and returns each once", () => {
  const local = new LocalEndpoints();
  const endpoints = [
    new FakeEndpoint(TOM, JACK, { tokenHash: "shared" }),
    new FakeEndpoint(TOM, ALICE, { tokenHash: "shared" }),
    new FakeEndpoint(JACK, TOM),
  ];
  for (const endpoint of endpoints) local.add(endpoint);
  assert.deepEqual(new Set(local.all()), new Set(endpoints));
  const cleared = local.clear();
  assert.equal(cleared.length, 3);
  assert.deepEqual(new Set(cleared), new Set(endpoints));
  assert.equal(local.size, 0);
  assert.deepEqual(local.all(), []);
  assert.equal(local.onPair(TOM.id, JACK.id), undefined);
  // Nothing is terminated by clearing, and nothing is left to revoke.
  local.revoke("shared");
  for (const endpoint of endpoints) assert.deepEqual(endpoint.terminations.all, []);
  assert.equal(local.remove(endpoints[0]), -1);
});

Deno.test("catchUp asks the endpoints receiving from the sender, and no others", () => {
  const local = new LocalEndpoints();
  const jacks = [new FakeEndpoint(JACK, TOM), new FakeEndpoint(JACK, TOM)];
  const others = [new FakeEndpoint(TOM, JACK), new FakeEndpoint(JACK, ALICE)];
  for (const endpoint of [...jacks, ...others]) local.add(endpoint);
  local.catchUp(TOM.id, JACK.id);
  for (const jack of jacks) assert.equal(jack.catchUps.all.length, 1);
  for (const other of others) assert.equal(other.catchUps.all.length, 0);
  // Nobody on the reverse pair: nothing to do.
  local.catchUp(ALICE.id, TOM.id);
});

Deno.test("hasV2OnPair looks for a v2 endpoint on that pair only", () => {
  const local = new LocalEndpoints();
  assert.equal(local.hasV2OnPair(TOM.id, JACK.id), false);
  local.add(new FakeEndpoint(TOM, JACK));
  local.add(new FakeEndpoint(TOM, ALICE, { v2: true }));
  local.add(new FakeEndpoint(JACK, TOM, { v2: true }));
  assert.equal(local.hasV2OnPair(TOM.id, JACK.id), false);
  const v2 = new FakeEndpoint(TOM, JACK, { v2: true });
  local.add(v2);
  assert.equal(local.hasV2OnPair(TOM.id, JACK.id), true);
  local.remove(v2);
  assert.equal(local.hasV2OnPair(TOM.id, JACK.id), false);
});
