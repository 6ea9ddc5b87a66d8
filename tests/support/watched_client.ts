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
  };
  client.on("state", (event) => events.state.push(event));
  client.on("presence", (event) => events.presence.push(event));
  client.on("message", (event) => events.message.push(event));
  client.on("error", (event) => events.error.push(event));
  return { client, events, [Symbol.asyncDispose]: () => client.close() };
}

/** Reads state events until `state` comes; returns it. */
export async function untilState(watched: Watched, state: string) {
  for (;;) {
    const event = await watched.events.state.next();
    if (event.state === state) return event;
  }
}
