/**
 * The options of `bench/run.ts` and the sizes of its two modes (full and `--quick`).
 */
import type { ClientKind } from "./bench_socket.ts";
import type { ServerKind } from "./server_process.ts";

/** One size of a pairs scenario. */
export interface PairsSize {
  readonly pairs: number;
  readonly messages: number;
}

/** The sizes of one mode. */
export interface Sizes {
  /** Users created over HTTP for the run. */
  readonly users: number;
  /** Registrations and logins timed with the server pinned (the rest run unpinned). */
  readonly setupMeasured: number;
  /** The pairs scenarios. */
  readonly pairs: readonly PairsSize[];
  /** Further points of the sweep over pairs. */
  readonly sweep: readonly PairsSize[];
  readonly idlePairs: number;
  readonly idleHoldMs: number;
  readonly waitingMessages: number;
  readonly loginUsers: number;
  /** Cluster mode against the embedded service. */
  readonly cluster: PairsSize;
}

// 1,000 users: the 1,000-pair and 5,000-pair scenarios put each user in several pairs (rings),
// which halves the slow scrypt set-up; routing is by pair, so the server's work is the same.
export const FULL: Sizes = {
  users: 1000,
  setupMeasured: 200,
  pairs: [{ pairs: 100, messages: 1000 }, { pairs: 1000, messages: 100 }],
  sweep: [{ pairs: 10, messages: 1000 }, { pairs: 50, messages: 1000 }, {
    pairs: 5000,
    messages: 10,
  }],
  idlePairs: 5000,
  idleHoldMs: 5000,
  waitingMessages: 10_000,
  loginUsers: 1000,
  cluster: { pairs: 100, messages: 500 },
};

export const QUICK: Sizes = {
  users: 100,
  setupMeasured: 100,
  pairs: [{ pairs: 10, messages: 200 }, { pairs: 50, messages: 20 }],
  sweep: [{ pairs: 5, messages: 200 }],
  idlePairs: 300,
  idleHoldMs: 1000,
  waitingMessages: 1000,
  loginUsers: 40,
  cluster: { pairs: 10, messages: 50 },
};

/** How clients send in a pairs scenario. */
export interface Workload {
  /** Scenario id prefix and report label. */
  readonly name: "pairs" | "seed";
  readonly label: string;
  /** `{"msg","id"}` frames kept in a window by 30010 acks, or seed frames `{"msg"}`. */
  readonly withIds: boolean;
  /** Messages in flight per client. */
  readonly window: number;
}

/** Today's id/ack client: 32 unacknowledged messages in flight. */
export const ID_ACK: Workload = {
  name: "pairs",
  label: "id/ack clients, 32 unacknowledged in flight",
  withIds: true,
  window: 32,
};

/**
 * A client written against the API document: `{"msg"}` without id, no acks, at most 16 in flight
 * by watching its own messages reach the peer.
 */
export const SEED: Workload = {
  name: "seed",
  label: "seed clients (no id, no acks), 16 in flight",
  withIds: false,
  window: 16,
};

/** Settings of each service variant: the shipped defaults, or `synchronous=NORMAL`. */
export const SERVICE_SETTINGS = { main: {}, normal: { SQLITE_SYNCHRONOUS: "NORMAL" } } as const;

/** A service variant of `--service`. */
export type ServiceVariant = keyof typeof SERVICE_SETTINGS;

export const GROUPS = ["pairs", "seed", "sweep", "idle", "waiting", "login", "cluster"] as const;

/** The parsed command line. */
export interface Options {
  quick: boolean;
  only: Set<string>;
  workers: number;
  profile: boolean;
  docs: boolean;
  out: string | null;
  reuseUsers: boolean;
  client: ClientKind;
  servers: ServerKind[];
  serviceVariant: ServiceVariant;
  pairs: PairsSize[] | null;
}

function defaults(): Options {
  return {
    quick: false,
    only: new Set(GROUPS),
    workers: 2,
    profile: false,
    docs: true,
    out: null,
    reuseUsers: false,
    client: "raw",
    servers: ["floor", "service"],
    serviceVariant: "main",
    pairs: null,
  };
}

function parseServers(value: string): ServerKind[] {
  return value.split(",").map((name) => {
    if (name !== "service" && name !== "floor") {
      throw new RangeError(`Unknown server "${name}"; expected service, floor`);
    }
    return name;
  });
}

function parsePairs(value: string): PairsSize[] {
  return value.split(",").map((size) => {
    const match = /^(\d+)x(\d+)$/.exec(size);
    if (match === null) throw new RangeError(`Bad size "${size}"; expected PAIRSxMESSAGES`);
    return { pairs: Number(match[1]), messages: Number(match[2]) };
  });
}

function parseGroups(value: string): Set<string> {
  const only = new Set(value.split(","));
  for (const group of only) {
    if (!(GROUPS as readonly string[]).includes(group)) {
      throw new RangeError(`Unknown scenario group "${group}"; expected ${GROUPS.join(", ")}`);
    }
  }
  return only;
}

/** Applies one `--key=value` option; `false` when it is not one of these. */
function applyValued(options: Options, key: string, value: string | undefined): boolean {
  if (key === "--workers" && Number(value) >= 1) options.workers = Number(value);
  else if (key === "--out" && value) options.out = value;
  else if (key === "--servers" && value) options.servers = parseServers(value);
  else if (key === "--pairs" && value) options.pairs = parsePairs(value);
  else if (key === "--service" && (value === "main" || value === "normal")) {
    options.serviceVariant = value;
  } else if (key === "--client" && (value === "raw" || value === "websocket")) {
    options.client = value;
  } else if (key === "--only" && value) options.only = parseGroups(value);
  else return false;
  return true;
}

/** Parses the command line of `bench/run.ts`. */
export function parseOptions(args: readonly string[]): Options {
  const options = defaults();
  let docs: boolean | null = null;
  for (const arg of args) {
    const [key, value] = arg.split("=", 2);
    if (key === "--quick") options.quick = true;
    else if (key === "--profile") options.profile = true;
    else if (key === "--reuse-users") options.reuseUsers = true;
    else if (key === "--docs") docs = true;
    else if (key === "--no-docs") docs = false;
    else if (!applyValued(options, key, value)) throw new RangeError(`Unknown option "${arg}"`);
  }
  // Only a full run of everything, as shipped, rewrites the docs unless told otherwise.
  options.docs = docs ??
    (!options.quick && options.only.size === GROUPS.length && options.servers.length === 2 &&
      options.pairs === null && options.serviceVariant === "main");
  return options;
}
