/**
 * An item of the conversation list (`GET /v1/conversations`):
 * `{"peer", "unread", "last_message", "online", "last_seen", "peer_read_upto"}`, encoded by the
 * server and decoded by the client module.
 */
import { decodeHistoryItem, encodeHistoryItem, type HistoryMessage } from "./history_item.ts";

/** One conversation as the list shows it to its owner. */
export interface ConversationItem {
  readonly peer: string;
  /** Messages from the peer after my read marker. */
  readonly unread: number;
  /** The newest message either way. */
  readonly lastMessage: HistoryMessage;
  /** Whether the peer holds any socket (a chat socket or an inbox socket), on any node. */
  readonly online: boolean;
  /** `YYYY-MM-DD HH:MM:SS` when the peer last came online or went offline, or null. */
  readonly lastSeen: string | null;
  /** The highest id of my messages the peer has read (0 if none). */
  readonly peerReadUpto: number;
}

/** The wire form of a conversation item, keys in this order. */
export function encodeConversationItem(item: ConversationItem): Record<string, unknown> {
  return {
    peer: item.peer,
    unread: item.unread,
    last_message: encodeHistoryItem(item.lastMessage),
    online: item.online,
    last_seen: item.lastSeen,
    peer_read_upto: item.peerReadUpto,
  };
}

/** Reads a conversation item; `null` when it is not one. */
export function decodeConversationItem(value: unknown): ConversationItem | null {
  if (typeof value !== "object" || value === null) return null;
  const item = value as Record<string, unknown>;
  const lastMessage = decodeHistoryItem(item.last_message);
  if (typeof item.peer !== "string" || lastMessage === null) return null;
  if (typeof item.unread !== "number" || typeof item.online !== "boolean") return null;
  const lastSeen = typeof item.last_seen === "string" ? item.last_seen : null;
  const peerReadUpto = typeof item.peer_read_upto === "number" ? item.peer_read_upto : 0;
  return {
    peer: item.peer,
    unread: item.unread,
    lastMessage,
    online: item.online,
    lastSeen,
    peerReadUpto,
  };
}
