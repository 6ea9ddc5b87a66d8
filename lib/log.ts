/**
 * One-line logs: `<ISO time> <level> <event> key=value ...`. Callers pass names and numbers,
 * never tokens, passwords or message text.
 */

/** Values a log line may carry. */
export type LogFields = Readonly<Record<string, string | number | boolean | null | undefined>>;

/** Where the service reports what it does. */
export interface Logger {
  info(event: string, fields?: LogFields): void;
  warn(event: string, fields?: LogFields): void;
  error(event: string, fields?: LogFields): void;
}

function formatValue(value: string | number | boolean | null): string {
  const text = String(value);
  // Quote anything a reader could misparse: spaces, quotes, `=`, control characters, empty.
  return /^[^\s"=\\\p{Cc}]+$/u.test(text) ? text : JSON.stringify(text);
}

/** Formats one log line. */
export function formatLogLine(time: Date, level: string, event: string, fields: LogFields): string {
  let line = `${time.toISOString()} ${level} ${event}`;
  for (const [key, value] of Object.entries(fields)) {
    if (value !== undefined) line += ` ${key}=${formatValue(value)}`;
  }
  return line;
}

/** Formats one log line as a JSON object: `{"time", "level", "event", ...fields}`. */
export function formatJsonLogLine(
  time: Date,
  level: string,
  event: string,
  fields: LogFields,
): string {
  const line: Record<string, unknown> = { time: time.toISOString(), level, event };
  for (const [key, value] of Object.entries(fields)) {
    if (value !== undefined && !(key in line)) line[key] = value;
  }
  return JSON.stringify(line);
}

/** A logger writing lines to `write`, as text (default) or JSON. */
export function createLogger(
  write: (line: string, level: "info" | "warn" | "error") => void,
  format: "text" | "json" = "text",
): Logger {
  const formatLine = format === "json" ? formatJsonLogLine : formatLogLine;
  const log = (level: "info" | "warn" | "error") => (event: string, fields: LogFields = {}) =>
    write(formatLine(new Date(), level, event, fields), level);
  return { info: log("info"), warn: log("warn"), error: log("error") };
}

/** A logger that drops everything, for tests that do not read logs. */
export const silentLogger: Logger = { info() {}, warn() {}, error() {} };

/** The message of an unknown thrown value, for a log field. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
