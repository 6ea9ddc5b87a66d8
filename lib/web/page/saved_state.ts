/**
 * What the page keeps in the browser: the logins (token, name, expiry) in `localStorage`, and
 * which of them this tab uses in `sessionStorage`, so that two windows of one browser can be two
 * different users and a reload keeps each window's user. A new tab starts as the user who last
 * logged in. It takes the storages as arguments, so it holds no DOM and reads no global.
 */

/** A login as the page keeps it. */
export interface SavedLogin {
  readonly token: string;
  readonly username: string;
  /** `YYYY-MM-DD HH:MM:SS` in the server's time zone, as the login answer gave it. */
  readonly expire: string;
}

const LOGINS_KEY = "chat.logins";
const LAST_KEY = "chat.last";
// Device tokens by user: kept across logouts, they mark this browser as a known device.
const DEVICES_KEY = "chat.devices";
// In sessionStorage: this tab's user (its key in the logins), or "" for none.
const TAB_KEY = "chat.tab";

function keyOf(username: string): string {
  return username.normalize("NFKC").toLowerCase();
}

/** The page's saved state over the browser's `localStorage` and `sessionStorage`. */
export class SavedState {
  readonly #local: Storage;
  readonly #tab: Storage;

  constructor(local: Storage, tab: Storage) {
    this.#local = local;
    this.#tab = tab;
    // A new tab takes the last login; later logins in other tabs never change this tab's user.
    if (tab.getItem(TAB_KEY) === null) tab.setItem(TAB_KEY, local.getItem(LAST_KEY) ?? "");
  }

  /** This tab's login, or null. */
  get login(): SavedLogin | null {
    const key = this.#tab.getItem(TAB_KEY) ?? "";
    if (key === "") return null;
    const value = this.#logins()[key];
    if (typeof value !== "object" || value === null) return null;
    const { token, username, expire } = value as Record<string, unknown>;
    if (typeof token !== "string" || typeof username !== "string") return null;
    return { token, username, expire: typeof expire === "string" ? expire : "" };
  }

  /** Keeps a new login and makes it this tab's (and a new tab's) user. */
  save(login: SavedLogin): void {
    const key = keyOf(login.username);
    this.#local.setItem(LOGINS_KEY, JSON.stringify({ ...this.#logins(), [key]: login }));
    this.#local.setItem(LAST_KEY, key);
    this.#tab.setItem(TAB_KEY, key);
  }

  /** Forgets this tab's login (logout, or the token no longer works) in every tab. */
  forget(): void {
    const key = this.#tab.getItem(TAB_KEY) ?? "";
    this.#tab.setItem(TAB_KEY, "");
    if (key === "") return;
    const logins = this.#logins();
    delete logins[key];
    this.#local.setItem(LOGINS_KEY, JSON.stringify(logins));
    if (this.#local.getItem(LAST_KEY) === key) this.#local.removeItem(LAST_KEY);
  }

  /** Leaves this tab without a user, keeping the login for other tabs. */
  detach(): void {
    this.#tab.setItem(TAB_KEY, "");
  }

  /** The device token this browser got at `username`'s last login, or null. */
  device(username: string): string | null {
    const token = this.#record(DEVICES_KEY)[keyOf(username)];
    return typeof token === "string" ? token : null;
  }

  /** Keeps `username`'s device token for its next logins. */
  saveDevice(username: string, token: string): void {
    const devices = { ...this.#record(DEVICES_KEY), [keyOf(username)]: token };
    this.#local.setItem(DEVICES_KEY, JSON.stringify(devices));
  }

  #logins(): Record<string, unknown> {
    return this.#record(LOGINS_KEY);
  }

  #record(key: string): Record<string, unknown> {
    try {
      const value = JSON.parse(this.#local.getItem(key) ?? "null");
      return typeof value === "object" && value !== null && !Array.isArray(value) ? value : {};
    } catch {
      return {};
    }
  }
}
