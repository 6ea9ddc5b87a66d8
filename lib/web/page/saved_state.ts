/**
 * What the page keeps in `localStorage`: the login (token, name, expiry) and the recent peers.
 * It takes the `Storage` as an argument, so it holds no DOM and reads no global.
 */

/** A login as the page keeps it. */
export interface SavedLogin {
  readonly token: string;
  readonly username: string;
  /** `YYYY-MM-DD HH:MM:SS` in the server's time zone, as the login answer gave it. */
  readonly expire: string;
}

const LOGIN_KEY = "chat.login";
const RECENT_KEY = "chat.recent";
/** How many recent peers are kept. */
export const MAX_RECENT = 12;

/** The page's saved state over a `Storage` (the browser's `localStorage`). */
export class SavedState {
  readonly #storage: Storage;

  constructor(storage: Storage) {
    this.#storage = storage;
  }

  /** The saved login, or null. */
  get login(): SavedLogin | null {
    const value = this.#read(LOGIN_KEY);
    if (typeof value !== "object" || value === null) return null;
    const { token, username, expire } = value as Record<string, unknown>;
    if (typeof token !== "string" || typeof username !== "string") return null;
    return { token, username, expire: typeof expire === "string" ? expire : "" };
  }

  set login(login: SavedLogin | null) {
    if (login === null) this.#storage.removeItem(LOGIN_KEY);
    else this.#storage.setItem(LOGIN_KEY, JSON.stringify(login));
  }

  /** Whether a `storage` event's key is the login's. */
  isLoginKey(key: string | null): boolean {
    return key === null || key === LOGIN_KEY;
  }

  /** Recent peers of `username`, most recent first. */
  recent(username: string): string[] {
    const all = this.#read(RECENT_KEY);
    const list = typeof all === "object" && all !== null
      ? (all as Record<string, unknown>)[username.toLowerCase()]
      : undefined;
    return Array.isArray(list) ? list.filter((name) => typeof name === "string") : [];
  }

  /** Puts `peer` first in the recent peers of `username` (or removes it with `remove`). */
  touchRecent(username: string, peer: string, remove = false): string[] {
    const key = peer.toLowerCase();
    const list = this.recent(username).filter((name) => name.toLowerCase() !== key);
    if (!remove) list.unshift(peer);
    const all = this.#read(RECENT_KEY);
    const record = typeof all === "object" && all !== null ? all as Record<string, unknown> : {};
    record[username.toLowerCase()] = list.slice(0, MAX_RECENT);
    this.#storage.setItem(RECENT_KEY, JSON.stringify(record));
    return list;
  }

  #read(key: string): unknown {
    try {
      return JSON.parse(this.#storage.getItem(key) ?? "null");
    } catch {
      return null;
    }
  }
}
