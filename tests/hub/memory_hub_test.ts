import assert from "node:assert/strict";
import { INBOX_PEER } from "../../lib/hub/hub.ts";
import { MemoryHub } from "../../lib/hub/memory_hub.ts";
import { DISCONNECT } from "../../lib/protocol/disconnect.ts";
import type { UserRef } from "../../lib/storage/repository.ts";
import { FakeEndpoint } from "../support/fake_endpoint.ts";
import { hubContract } from "./hub_contract.ts";

const TOM: UserRef = { id: 1, username: "Tom" };
const JACK: UserRef = { id: 2, username: "Jack" };
const ALICE: UserRef = { id: 3, username: "Alice" };

hubContract("MemoryHub", (onUserPresence) => {
  const hub = new MemoryHub({ onUserPresence });
  return Promise.resolve({
    hub,
    cleanup: () => hub.close(DISCONNECT.GOING_AWAY),
  });
});

Deno.test("MemoryHub: mayHaveV2OnPair answers at once, and false without a v2 endpoint of the user on the pair", async () => {
  const hub = new MemoryHub();
  try {
    assert.equal(hub.mayHaveV2OnPair(TOM.id, JACK.id), false);
    // A seed endpoint on the pair, v2 ones of the user elsewhere and of the peer: still false.
    const tomSeed = new FakeEndpoint(TOM, JACK);
    await hub.join(tomSeed);
    await hub.join(new FakeEndpoint(TOM, ALICE, { v2: true }));
    await hub.join(new FakeEndpoint(JACK, TOM, { v2: true }));
    assert.equal(hub.mayHaveV2OnPair(TOM.id, JACK.id), false);
    assert.equal(hub.mayHaveV2OnPair(TOM.id, INBOX_PEER.id), false);
    const tomV2 = new FakeEndpoint(TOM, JACK, { v2: true });
    await hub.join(tomV2);
    // A boolean, not a promise: the notifier decides without waiting.
    assert.equal(hub.mayHaveV2OnPair(TOM.id, JACK.id), true);
    // The socket a frame comes from is not counted: the push skips it.
    assert.equal(hub.mayHaveV2OnPair(TOM.id, JACK.id, tomV2), false);
    await hub.leave(tomV2);
    assert.equal(hub.mayHaveV2OnPair(TOM.id, JACK.id), false);
    await hub.leave(tomSeed);
    assert.equal(hub.mayHaveV2OnPair(TOM.id, JACK.id), false);
  } finally {
    await hub.close(DISCONNECT.GOING_AWAY);
  }
});
