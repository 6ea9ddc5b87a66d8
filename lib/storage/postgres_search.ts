/**
 * Search in a conversation on PostgreSQL: a GIN index of `pg_trgm` trigrams over the text of
 * every message, used by `ILIKE '%text%'` (the planner weighs it against the pair index, which
 * wins for a text the conversation's newest messages contain). `pg_trgm` ships with PostgreSQL
 * (contrib) and is a trusted extension: the migration creates it in `public` unless the database
 * has it already, wherever that is. A text of 1 or 2 characters has no trigram; it is matched by
 * scanning the pair's messages newest first (`search_text.ts`).
 */
import type postgres from "postgres";
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

/** The pair's messages containing `query.text`, case-insensitively, newest first. */
export async function searchMessages(
  sql: Sql,
  userId: number,
  peerId: number,
  query: SearchQuery,
): Promise<StoredMessage[]> {
  const before = query.beforeId ?? Number.MAX_SAFE_INTEGER;
  const { limit } = query;
  const pattern = containsPattern(query.text);
  // Each direction on its own, so the planner may take the pair index or the trigram index for
  // each; a conversation with oneself is one direction.
  const rows = userId === peerId
    ? await sql<MessageRow[]>`
      SELECT m.id, u.username AS from_user, u.username AS to_user, m.msg, m.send_time
      FROM messages m JOIN users u ON u.id = m.from_user_id
      WHERE m.from_user_id = ${userId} AND m.to_user_id = ${userId} AND m.id < ${before}
        AND m.msg ILIKE ${pattern}
      ORDER BY m.id DESC LIMIT ${limit}`
    : await sql<MessageRow[]>`
      SELECT m.id, f.username AS from_user, t.username AS to_user, m.msg, m.send_time
      FROM (
        (SELECT * FROM messages WHERE from_user_id = ${userId} AND to_user_id = ${peerId}
           AND id < ${before} AND msg ILIKE ${pattern} ORDER BY id DESC LIMIT ${limit})
        UNION ALL
        (SELECT * FROM messages WHERE from_user_id = ${peerId} AND to_user_id = ${userId}
           AND id < ${before} AND msg ILIKE ${pattern} ORDER BY id DESC LIMIT ${limit})
      ) m
      JOIN users f ON f.id = m.from_user_id JOIN users t ON t.id = m.to_user_id
      ORDER BY m.id DESC LIMIT ${limit}`;
  return rows.map(toMessage);
}
