/** Counts open chat sockets in all, per client address and per user, against their caps. */

/** Which cap a new socket would exceed. */
export type ConnectionCap = "total" | "ip" | "user";

/** Caps on open sockets. */
export interface ConnectionCaps {
  readonly maxConnections: number;
  readonly maxConnectionsPerIp: number;
  readonly maxConnectionsPerUser: number;
}

function bump(map: Map<string, number>, key: string, delta: number): void {
  const next = (map.get(key) ?? 0) + delta;
  if (next <= 0) map.delete(key);
  else map.set(key, next);
}

/** Open sockets by address and by user. */
export class ConnectionCounter {
  readonly #caps: ConnectionCaps;
  readonly #byIp = new Map<string, number>();
  readonly #byUser = new Map<string, number>();
  #total = 0;

  constructor(caps: ConnectionCaps) {
    this.#caps = caps;
  }

  /** Open sockets in all. */
  get total(): number {
    return this.#total;
  }

  /** Users holding at least one socket. */
  get users(): number {
    return this.#byUser.size;
  }

  /** The cap a further socket from `ip` would exceed, or `null`. */
  checkAddress(ip: string): ConnectionCap | null {
    if (this.#total >= this.#caps.maxConnections) return "total";
    if ((this.#byIp.get(ip) ?? 0) >= this.#caps.maxConnectionsPerIp) return "ip";
    return null;
  }

  /** Whether `userKey` holds its maximum of sockets. */
  userAtCap(userKey: string): boolean {
    return (this.#byUser.get(userKey) ?? 0) >= this.#caps.maxConnectionsPerUser;
  }

  /** Counts a socket; returns the function that uncounts it (safe to call twice). */
  open(ip: string, userKey: string | null): () => void {
    this.#total++;
    bump(this.#byIp, ip, 1);
    if (userKey !== null) bump(this.#byUser, userKey, 1);
    let open = true;
    return () => {
      if (!open) return;
      open = false;
      this.#total--;
      bump(this.#byIp, ip, -1);
      if (userKey !== null) bump(this.#byUser, userKey, -1);
    };
  }
}
