import assert from "node:assert/strict";
import { SavedState } from "../../lib/web/page/saved_state.ts";

class MemoryStorage implements Storage {
  readonly #items = new Map<string, string>();
  get length(): number {
    return this.#items.size;
  }
  clear(): void {
    this.#items.clear();
  }
  getItem(key: string): string | null {
    return this.#items.get(key) ?? null;
  }
  key(index: number): string | null {
    return [...this.#items.keys()][index] ?? null;
  }
  removeItem(key: string): void {
    this.#items.delete(key);
  }
  setItem(key: string, value: string): void {
    this.#items.set(key, value);
  }
}

Deno.test("the page keeps each user's device token across logouts, for the next login", () => {
  const local = new MemoryStorage();
  const saved = new SavedState(local, new MemoryStorage());
  assert.equal(saved.device("Tom"), null);
  saved.saveDevice("Tom", "nonce.mac");
  saved.save({ token: "t", username: "Tom", expire: "" });
  saved.forget();
  // Another tab of the same browser, later: the device is still known.
  const later = new SavedState(local, new MemoryStorage());
  assert.equal(later.device("tom"), "nonce.mac");
  assert.equal(later.device("Jack"), null);
});
