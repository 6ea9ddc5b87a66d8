/**
 * What the nodes of a cluster tell each other over Redis publish/subscribe, as JSON: the one
 * definition of each event's shape. Every event names its kind and the node it comes from, so a
 * node can ignore its own echoes. Presence events are built inside the Lua scripts, from
 * `PRESENCE_EVENT_LUA` below, next to the type they must match.
 */
import type { StoredMessage } from "../storage/repository.ts";

/** The kinds of event. */
export const HUB_EVENT = {
  /** A user came online or went offline on a pair. */
  PRESENCE: "presence",
  /** A stored message for the endpoints of a pair. */
  MESSAGE: "message",
  /** A token was revoked: its endpoints close. */
  REVOKE: "revoke",
  /** A user was erased: their endpoints and those chatting with them close. */
  ERASE: "erase",
  /** Messages of a pair may be stored and not published (their node died): read them. */
  CATCH_UP: "catch_up",
  /** A frame for the v2 endpoints of a pair (read, sent elsewhere, typing, recall, inbox). */
  PUSH: "push",
  /** A node checking that its own subscription delivers. */
  PROBE: "probe",
} as const;

/** One of `HUB_EVENT`. */
export type HubEventKind = (typeof HUB_EVENT)[keyof typeof HUB_EVENT];

/**
 * `user` came online or went offline on (user -> peer); for the endpoints on (peer -> user).
 * `seq` places it in the cluster's one sequence of joins and presence events.
 */
export interface PresenceEvent {
  readonly kind: typeof HUB_EVENT.PRESENCE;
  readonly origin: string;
  readonly seq: number;
  readonly user: number;
  readonly peer: number;
  readonly online: boolean;
}

/** A message stored from `from` to `to`, for the endpoints on (to -> from). */
export interface MessageEvent {
  readonly kind: typeof HUB_EVENT.MESSAGE;
  readonly origin: string;
  readonly from: number;
  readonly to: number;
  readonly message: StoredMessage;
}

/** `frame` for the v2 endpoints on (user -> peer). */
export interface PushEvent {
  readonly kind: typeof HUB_EVENT.PUSH;
  readonly origin: string;
  readonly user: number;
  readonly peer: number;
  readonly frame: string;
}

/** The endpoints that authenticated with `tokenHash` close, on every node. */
export interface RevokeEvent {
  readonly kind: typeof HUB_EVENT.REVOKE;
  readonly origin: string;
  readonly tokenHash: string;
}

/** The endpoints of `user`, and those chatting with `user`, close on every node. */
export interface EraseEvent {
  readonly kind: typeof HUB_EVENT.ERASE;
  readonly origin: string;
  readonly user: number;
}

/**
 * The node that held `from`'s endpoints on (from -> to) was reaped: messages it stored from
 * `from` to `to` may never have been published. The endpoints on (to -> from) read what waits
 * for them from storage. `origin` is the reaped node.
 */
export interface CatchUpEvent {
  readonly kind: typeof HUB_EVENT.CATCH_UP;
  readonly origin: string;
  readonly from: number;
  readonly to: number;
}

/** Sent by a node to its own channel; hearing `nonce` back shows the subscription works. */
export interface ProbeEvent {
  readonly kind: typeof HUB_EVENT.PROBE;
  readonly origin: string;
  readonly nonce: string;
}

/** The events about endpoints, which the hub acts on; probes stay within the link. */
export type EndpointEvent =
  | PresenceEvent
  | MessageEvent
  | PushEvent
  | RevokeEvent
  | EraseEvent
  | CatchUpEvent;

/** Any event. */
export type HubEvent = EndpointEvent | ProbeEvent;

const KINDS: ReadonlySet<string> = new Set(Object.values(HUB_EVENT));

/** The JSON of an event, as published. */
export function encodeEvent(event: HubEvent): string {
  return JSON.stringify(event);
}

/**
 * The event in `raw`, or `null` when it is not JSON naming a known kind and its origin. The
 * channels carry only what the nodes and their scripts publish, so the fields of a known kind
 * are trusted.
 */
export function decodeEvent(raw: string): HubEvent | null {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return null;
  }
  if (typeof value !== "object" || value === null) return null;
  const { kind, origin } = value as { kind?: unknown; origin?: unknown };
  if (typeof kind !== "string" || !KINDS.has(kind) || typeof origin !== "string") return null;
  return value as HubEvent;
}

/**
 * The Lua expression that builds a `PresenceEvent`'s JSON inside a script, from the locals
 * `origin` (a node id), `seq`, `u`, `p` (numbers, or their decimal strings) and `online` (1 or
 * 0). `tests/hub/redis_events_test.ts` decodes what the scripts publish with `decodeEvent`.
 */
export const PRESENCE_EVENT_LUA = `'{"kind":"${HUB_EVENT.PRESENCE}","origin":"' .. origin .. ` +
  `'","seq":' .. seq .. ',"user":' .. u .. ',"peer":' .. p .. ` +
  `',"online":' .. (online == 1 and 'true' or 'false') .. '}'`;

/**
 * The Lua expression that builds a `CatchUpEvent`'s JSON inside a script, from the locals
 * `origin` (the reaped node's id), `u` and `p` (decimal strings: the pair u -> p it held).
 */
export const CATCH_UP_EVENT_LUA = `'{"kind":"${HUB_EVENT.CATCH_UP}","origin":"' .. origin .. ` +
  `'","from":' .. u .. ',"to":' .. p .. '}'`;
