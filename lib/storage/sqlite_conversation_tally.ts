/**
 * Keeps the conversations table (last message either way, the receiver's unread count) current
 * for the messages one save stores, in the save's own transaction: what the save inserted is
 * tallied per direction and written with two upserts per direction at the end, instead of two
 * per message (the trigger of migration 6 did that, before migration 9 dropped it). A seed
 * client's group commit of 16 messages of one pair then costs 2 upserts, not 32.
 */
import type { DatabaseSync, StatementSync } from "node:sqlite";

/** What one direction (from -> to) of a save added: its newest id and how many. */
interface DirectionTally {
  fromId: number;
  toId: number;
  lastId: number;
  count: number;
}

/** The migration that moves the upkeep from the trigger to the tally. */
export const SQLITE_CONVERSATION_TALLY_MIGRATION = `DROP TRIGGER messages_conversation;`;

/** Tallies the messages of one save and writes their conversations' rows. */
export class SqliteConversationTally {
  readonly #senderSide: StatementSync;
  readonly #receiverSide: StatementSync;
  #open: Map<string, DirectionTally> | null = null;

  constructor(db: DatabaseSync) {
    this.#senderSide = db.prepare(
      `INSERT INTO conversations (user_id, peer_id, last_message_id) VALUES (?, ?, ?)
       ON CONFLICT (user_id, peer_id) DO UPDATE
         SET last_message_id = max(last_message_id, excluded.last_message_id)`,
    );
    this.#receiverSide = db.prepare(
      `INSERT INTO conversations (user_id, peer_id, last_message_id, unread) VALUES (?, ?, ?, ?)
       ON CONFLICT (user_id, peer_id) DO UPDATE
         SET last_message_id = max(last_message_id, excluded.last_message_id),
             unread = unread + excluded.unread`,
    );
  }

  /**
   * Runs `work` (which stores messages, inside the caller's transaction) and then writes the
   * conversations of what it stored; if `work` throws, nothing is written and the caller's
   * transaction rolls back.
   */
  during<T>(work: () => T): T {
    if (this.#open !== null) throw new Error("A save is already being tallied");
    this.#open = new Map();
    try {
      const result = work();
      this.#write(this.#open);
      return result;
    } finally {
      this.#open = null;
    }
  }

  /** A message `id` from `fromId` to `toId` was inserted (only inside `during`). */
  inserted(fromId: number, toId: number, id: number): void {
    if (this.#open === null) throw new Error("A message was stored outside a tallied save");
    const key = `${fromId}>${toId}`;
    const tally = this.#open.get(key);
    if (tally === undefined) this.#open.set(key, { fromId, toId, lastId: id, count: 1 });
    else {
      tally.lastId = Math.max(tally.lastId, id);
      tally.count++;
    }
  }

  #write(tallies: Map<string, DirectionTally>): void {
    for (const { fromId, toId, lastId, count } of tallies.values()) {
      this.#senderSide.run(fromId, toId, lastId);
      // A note to oneself is one conversation, and never unread.
      if (fromId !== toId) this.#receiverSide.run(toId, fromId, lastId, count);
    }
  }
}
