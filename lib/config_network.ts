/**
 * The settings that bound what one connection can hold: how long a closing socket waits for the
 * client, how long a request body may take, and the process-wide memory bound. Their defaults
 * are in `DEFAULTS` (`config.ts`), which parses them through a `NetworkSettingReader`.
 */

/** The settings this module reads. */
export type NetworkKey = "WS_CLOSE_TIMEOUT" | "HTTP_BODY_TIMEOUT" | "MEMORY_LIMIT";

/** Reads one setting, its default applied (from `config.ts`). */
export interface NetworkSettingReader {
  /** A duration in ms within the bounds; throws a `ConfigError` otherwise. */
  duration(key: NetworkKey, minMs: number, maxMs: number): number;
  /** A whole number within the bounds; throws a `ConfigError` otherwise. */
  integer(key: NetworkKey, min: number, max: number): number;
}

/** Timeouts of connections and the memory bound. */
export interface NetworkSettings {
  /**
   * After the server closes a socket, how long it waits for the client's close frame before it
   * drops the connection, in ms (`WS_CLOSE_TIMEOUT`, default 1 s).
   */
  readonly closeTimeoutMs: number;
  /**
   * How long a request body may take to arrive once the handler reads it, in ms
   * (`HTTP_BODY_TIMEOUT`, default 30 s); a body still arriving then gets 408 `10018`.
   */
  readonly bodyTimeoutMs: number;
  /**
   * Resident memory in bytes above which sockets that may be gathering a message are dropped
   * (`MEMORY_LIMIT`, default 1 GiB; 0 = off).
   */
  readonly memoryLimitBytes: number;
}

const HOUR_MS = 3_600_000;

/** Reads the network settings. */
export function networkSettings(reader: NetworkSettingReader): NetworkSettings {
  return {
    closeTimeoutMs: reader.duration("WS_CLOSE_TIMEOUT", 10, 60_000),
    bodyTimeoutMs: reader.duration("HTTP_BODY_TIMEOUT", 100, HOUR_MS),
    memoryLimitBytes: reader.integer("MEMORY_LIMIT", 0, 2 ** 48),
  };
}
