/** A `ChatClient` with a log per event type, readable in order with `next()`, for tests. */
import {
  ChatClient,
  type ChatClientEvents,
  type ChatClientOptions,
} from "../../lib/client/chat_client.ts";
import { EventLog } from "./fake_endpoint.ts";

/** Fast reconnects, so that a test waits milliseconds for the next attempt. */
export const FAST_BACKOFF = { initialMs: 10, maxMs: 50, factor: 2 } as const;

/** A client and its events. */
export interface Watched {
  readonly client: ChatClient;
  readonly events: { [K in keyof ChatClientEvents]: EventLog<ChatClientEvents[K]> };
  [Symbol.asyncDispose](): Promise<void>;
}

/** Starts a client (fast backoff unless `options` names one) and logs all of its events. */
export function watch(options: ChatClientOptions): Watched {
  const client = new ChatClient({ backoff: FAST_BACKOFF, ...options });
  const events = {
    state: new EventLog<ChatClientEvents["state"]>(`a state event of -> ${options.peer}`),
    presence: new EventLog<ChatClientEvents["presence"]>(`a presence event of -> ${options.peer}`),
    message: new EventLog<ChatClientEvents["message"]>(`a message event of -> ${options.peer}`),
    error: new EventLog<ChatClientEvents["error"]>(`an error event of -> ${options.peer}`),
    read: new EventLog<ChatClientEvents["read"]>(`a read event of -> ${options.peer}`),
    delivered: new EventLog<ChatClientEvents["delivered"]>(`a delivered event -> ${options.peer}`),
    typing: new EventLog<ChatClientEvents["typing"]>(`a typing event of -> ${options.peer}`),
    recalled: new EventLog<ChatClientEvents["recalled"]>(`a recalled event -> ${options.peer}`),
    sent: new EventLog<ChatClientEvents["sent"]>(`a sent event of -> ${options.peer}`),
  };
  for (const type of Object.keys(events) as (keyof ChatClientEvents)[]) {
    client.on(type, (event) => (events[type] as EventLog<typeof event>).push(event));
  }
  return { client, events, [Symbol.asyncDispose]: () => client.close() };
}

/** Reads state events until `state` comes; returns it. */
export async function untilState(watched: Watched, state: string) {
  for (;;) {
    const event = await watched.events.state.next();
    if (event.state === state) return event;
  }
}
