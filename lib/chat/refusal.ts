/**
 * The seed-client rule, in one place: how a sender learns that a message of its was not stored.
 * A client that opted into extensions (its frame carries an `id`, or its socket negotiated them)
 * gets the 3xxxx answer and keeps its socket. A client written only against the API document
 * knows no such status, so it learns through the end of its socket: the frame first (harmless to
 * it, useful to a person reading the traffic), then a close code and reason from `DISCONNECT`.
 */
import type { Disconnect } from "../protocol/disconnect.ts";

/** How a refused message is told: an answer on a socket that stays open, or its end. */
export type Refusal =
  | { readonly reply: string }
  | { readonly end: Disconnect };

/** The answer for a client that opted in, else the disconnect. */
export function refusal(optedIn: boolean, answer: string, disconnect: Disconnect): Refusal {
  return optedIn ? { reply: answer } : { end: disconnect };
}
