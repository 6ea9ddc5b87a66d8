/**
 * The settings that bound what clients may do: message rate and queue, login attempts, open
 * sockets, buffered bytes, storage quotas and typing frames. Their defaults are in `DEFAULTS`
 * (`config.ts`), which parses them through a `LimitSettingReader`.
 */

/** The settings this module reads. */
export type LimitKey =
  | "MSG_RATE"
  | "MSG_BURST"
  | "MSG_QUEUE"
  | "MSG_QUEUE_BYTES"
  | "AUTH_WINDOW"
  | "AUTH_MAX_PER_IP"
  | "AUTH_MAX_PER_USER"
  | "MAX_CONNECTIONS"
  | "MAX_CONNECTIONS_PER_IP"
  | "MAX_CONNECTIONS_PER_USER"
  | "MAX_BUFFERED_BYTES"
  | "MAX_UNACKED"
  | "QUOTA_DAILY_MESSAGES"
  | "QUOTA_DAILY_BYTES"
  | "QUOTA_WAITING_MESSAGES"
  | "TYPING_RATE"
  | "TYPING_BURST";

/** Reads one setting, its default applied (from `config.ts`). */
export interface LimitSettingReader {
  /** A duration in ms within the bounds; throws a `ConfigError` otherwise. */
  duration(key: LimitKey, minMs: number, maxMs: number): number;
  /** A whole number within the bounds; throws a `ConfigError` otherwise. */
  integer(key: LimitKey, min: number, max: number): number;
}

/** Limits against floods and slow or greedy clients. */
export interface Limits {
  /** Messages per second one socket may send, sustained (`MSG_RATE`, default 10). */
  readonly messageRate: number;
  /** Messages one socket may send at once before the rate applies (`MSG_BURST`, default 30). */
  readonly messageBurst: number;
  /**
   * Messages without `id` that may wait for the rate on one socket (`MSG_QUEUE`, default 100);
   * past this the socket is closed (what it sent before is stored).
   */
  readonly messageQueue: number;
  /** Bytes of frames that may wait for the rate on one socket (`MSG_QUEUE_BYTES`, 256 KiB). */
  readonly messageQueueBytes: number;
  /** The window of the login/registration limits, in ms (`AUTH_WINDOW`, default 1m). */
  readonly authWindowMs: number;
  /** Login and registration attempts per client address per window (`AUTH_MAX_PER_IP`, 30). */
  readonly authMaxPerIp: number;
  /** Failed logins per username per window (`AUTH_MAX_PER_USER`, default 10). */
  readonly authMaxPerUser: number;
  /** Open chat sockets in all (`MAX_CONNECTIONS`, default 20000). */
  readonly maxConnections: number;
  /** Open chat sockets per client address (`MAX_CONNECTIONS_PER_IP`, default 200). */
  readonly maxConnectionsPerIp: number;
  /** Open chat sockets per user (`MAX_CONNECTIONS_PER_USER`, default 20). */
  readonly maxConnectionsPerUser: number;
  /** Bytes queued for one socket before it counts as too slow and is closed with 1013. */
  readonly maxBufferedBytes: number;
  /** Messages sent to a receipt-mode socket (`ack=1`) and not yet acknowledged, at most. */
  readonly maxUnacked: number;
  /** Messages one user may store per UTC day (`QUOTA_DAILY_MESSAGES`, 10000; 0 = no limit). */
  readonly quotaDailyMessages: number;
  /** Bytes of text one user may store per UTC day (`QUOTA_DAILY_BYTES`, 16 MiB; 0 = no limit). */
  readonly quotaDailyBytes: number;
  /** Messages of one sender waiting for one receiver (`QUOTA_WAITING_MESSAGES`, 1000; 0 = no limit). */
  readonly quotaWaitingMessages: number;
  /** v2 typing frames per second one socket may send, sustained (`TYPING_RATE`, default 2). */
  readonly typingRate: number;
  /** v2 typing frames one socket may send at once (`TYPING_BURST`, default 5); more are ignored. */
  readonly typingBurst: number;
}

const DAY_MS = 86_400_000;

/** Reads the limits. */
export function limitSettings(reader: LimitSettingReader): Limits {
  return {
    messageRate: reader.integer("MSG_RATE", 1, 100_000),
    messageBurst: reader.integer("MSG_BURST", 1, 100_000),
    messageQueue: reader.integer("MSG_QUEUE", 1, 100_000),
    messageQueueBytes: reader.integer("MSG_QUEUE_BYTES", 1024, 1024 * 1024 * 1024),
    authWindowMs: reader.duration("AUTH_WINDOW", 1000, DAY_MS),
    authMaxPerIp: reader.integer("AUTH_MAX_PER_IP", 1, 1_000_000),
    authMaxPerUser: reader.integer("AUTH_MAX_PER_USER", 1, 1_000_000),
    maxConnections: reader.integer("MAX_CONNECTIONS", 1, 10_000_000),
    maxConnectionsPerIp: reader.integer("MAX_CONNECTIONS_PER_IP", 1, 10_000_000),
    maxConnectionsPerUser: reader.integer("MAX_CONNECTIONS_PER_USER", 1, 10_000),
    maxBufferedBytes: reader.integer("MAX_BUFFERED_BYTES", 1024, 1024 * 1024 * 1024),
    maxUnacked: reader.integer("MAX_UNACKED", 1, 1_000_000),
    quotaDailyMessages: reader.integer("QUOTA_DAILY_MESSAGES", 0, 1_000_000_000),
    quotaDailyBytes: reader.integer("QUOTA_DAILY_BYTES", 0, 2 ** 40),
    quotaWaitingMessages: reader.integer("QUOTA_WAITING_MESSAGES", 0, 1_000_000_000),
    typingRate: reader.integer("TYPING_RATE", 1, 1000),
    typingBurst: reader.integer("TYPING_BURST", 1, 1000),
  };
}
