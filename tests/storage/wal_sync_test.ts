import assert from "node:assert/strict";
import { join } from "node:path";
import { WalSync } from "../../lib/storage/wal_sync.ts";

async function withFile(body: (path: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "chat-wal-sync-test-" });
  try {
    const path = join(dir, "chat.db-wal");
    await Deno.writeTextFile(path, "frames");
    await body(path);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("WalSync: nothing committed is clean at once; a commit is clean once synced", async () => {
  await withFile(async (path) => {
    const sync = new WalSync(path);
    assert.equal(sync.clean, true);
    await sync.durable();
    sync.committed();
    assert.equal(sync.clean, false);
    await sync.durable();
    assert.equal(sync.clean, true);
    await sync.close();
  });
});

Deno.test("WalSync: commits made while a sync runs are covered by the next, in order", async () => {
  await withFile(async (path) => {
    const sync = new WalSync(path);
    const settled: string[] = [];
    sync.committed();
    const first = sync.durable().then(() => settled.push("first"));
    sync.committed(); // After the first sync started: not covered by it.
    const second = sync.durable().then(() => settled.push("second"));
    await Promise.all([first, second]);
    assert.deepEqual(settled, ["first", "second"]);
    assert.equal(sync.clean, true);
    await sync.close();
  });
});

Deno.test("WalSync: a failed sync rejects, and nothing counts as synced", async () => {
  const dir = await Deno.makeTempDir({ prefix: "chat-wal-sync-test-" });
  try {
    const sync = new WalSync(join(dir, "missing-wal"));
    sync.committed();
    await assert.rejects(sync.durable(), Deno.errors.NotFound);
    assert.equal(sync.clean, false);
    await sync.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("WalSync: without a file (an in-memory database) every commit is clean", async () => {
  const sync = new WalSync(null);
  sync.committed();
  assert.equal(sync.clean, true);
  await sync.durable();
  await sync.close();
});
