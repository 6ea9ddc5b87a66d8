/**
 * How a search text becomes a query on each engine. Both index messages by trigrams (SQLite FTS5
 * `trigram`, PostgreSQL `pg_trgm`), which find a text of 3 or more characters; a text of 1 or 2
 * characters (`你好`) has no trigram, so it is matched by scanning the conversation newest first
 * through the pair index, which stops at the page's last match.
 */
import { countCodePoints } from "../protocol/text.ts";

/** The fewest characters (code points) a trigram index can find. */
export const MIN_INDEXED_CHARS = 3;

/** Whether the trigram index can find `text`. */
export function indexable(text: string): boolean {
  return countCodePoints(text) >= MIN_INDEXED_CHARS;
}

/** A `LIKE` pattern (escape character `\`) matching any text that contains `text`. */
export function containsPattern(text: string): string {
  return `%${text.replace(/[\\%_]/g, (char) => `\\${char}`)}%`;
}

/** An FTS5 query for the phrase `text`: its trigrams, in a row. */
export function ftsPhrase(text: string): string {
  return `"${text.replaceAll('"', '""')}"`;
}
