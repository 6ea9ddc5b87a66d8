/**
 * Search in a conversation on PostgreSQL: a GIN index of `pg_trgm` trigrams over the text of
 * every message, used by `ILIKE '%text%'` (the planner weighs it against the pair index, which
 * wins for a text the conversation's newest messages contain). `pg_trgm` ships with PostgreSQL
 * (contrib) and is a trusted extension: the migration creates it in `public` unless the database
 * has it already, wherever that is. A text of 1 or 2 characters has no trigram; it is matched by
 * scanning the pair's messages newest first (`search_text.ts`).
 */
import type postgres from "npm:postgres@3.4.9";
import { type MessageRow, toMessage } from "./message_row.ts";
import { containsPattern } from "./search_text.ts";
import type { SearchQuery, StoredMessage } from "./repository.ts";

type Sql = postgres.Sql<{ int8: number }> | postgres.TransactionSql<{ int8: number }>;

/**
 * The migration: `pg_trgm` (once per database: two schemas migrating at once wait for each other
 * here) and the index, built for the stored messages.
 */
export async function addSearchIndex(tx: postgres.TransactionSql, lockClass: number) {
  await tx`SELECT pg_advisory_xact_lock(${lockClass}, hashtext('extension pg_trgm'))`;
  await tx.unsafe(`CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public`);
  const [{ schema }] = await tx<{ schema: string }[]>`
    SELECT extnamespace::regnamespace::text AS schema FROM pg_extension
    WHERE extname = 'pg_trgm'`;
  await tx.unsafe(
    `CREATE INDEX messages_text_trgm ON messages USING gin (msg ${schema}.gin_trgm_ops)`,
  );
}

// Each direction on its own, so the planner may take the pair index or the trigram index for
// each; a conversation with oneself is one direction. $1 user, $2 peer, $3 before, $4 limit,
// $5 pattern.
const PAIR_SEARCH = (like: string) => `
  SELECT m.id, f.username AS from_user, t.username AS to_user, m.msg, m.send_time
  FROM (
    (SELECT * FROM messages WHERE from_user_id = $1 AND to_user_id = $2
       AND id < $3 AND msg ${like} $5 ORDER BY id DESC LIMIT $4)
    UNION ALL
    (SELECT * FROM messages WHERE from_user_id = $2 AND to_user_id = $1
       AND id < $3 AND msg ${like} $5 ORDER BY id DESC LIMIT $4)
  ) m
  JOIN users f ON f.id = m.from_user_id JOIN users t ON t.id = m.to_user_id
  ORDER BY m.id DESC LIMIT $4`;

const OWN_SEARCH = (like: string) => `
  SELECT m.id, u.username AS from_user, u.username AS to_user, m.msg, m.send_time
  FROM messages m JOIN users u ON u.id = m.from_user_id
  WHERE m.from_user_id = $1 AND m.to_user_id = $2 AND m.id < $3 AND m.msg ${like} $5
  ORDER BY m.id DESC LIMIT $4`;

/** Whether no character of `text` has another case, so that `LIKE` matches as `ILIKE` would. */
function caseless(text: string): boolean {
  return text.toLowerCase() === text && text.toUpperCase() === text;
}

/** The pair's messages containing `query.text`, case-insensitively, newest first. */
export async function searchMessages(
  sql: Sql,
  userId: number,
  peerId: number,
  query: SearchQuery,
): Promise<StoredMessage[]> {
  const before = query.beforeId ?? Number.MAX_SAFE_INTEGER;
  // ILIKE folds every row's case; a text without case (Chinese, digits) needs no folding, and
  // plain LIKE reads a conversation about four times faster.
  const like = caseless(query.text) ? "LIKE" : "ILIKE";
  const statement = userId === peerId ? OWN_SEARCH(like) : PAIR_SEARCH(like);
  // Not a named prepared statement: after five runs PostgreSQL would plan one for any text
  // (a generic plan), which cannot tell a rare text (the trigram index) from a common one (the
  // pair index, newest first); an unnamed statement is planned for the text at hand.
  const rows = await sql.unsafe<MessageRow[]>(statement, [
    userId,
    peerId,
    before,
    query.limit,
    containsPattern(query.text),
  ]);
  return rows.map(toMessage);
}
