/**
 * A real WebSocket behind a switchboard a test controls: it can hide incoming frames (as a
 * network that loses them would), repeat them, and drop the connection, so the chat client's
 * reconnect, resend and de-duplication can be tested against the real service.
 */
import type { WebSocketFactory, WebSocketLike } from "../../lib/client/chat_client.ts";
import { EventLog } from "./fake_endpoint.ts";

/** What a controlled socket does with each incoming text frame. */
export type FrameRule = (data: string) => "pass" | "hide" | "repeat";

/** One socket the client opened. */
export class ControlledSocket implements WebSocketLike {
  onopen: ((event: Event) => void) | null = null;
  onmessage: ((event: MessageEvent) => void) | null = null;
  onclose: ((event: CloseEvent) => void) | null = null;
  onerror: ((event: Event) => void) | null = null;
  /** Frames the rule hid from the client. */
  readonly hidden = new EventLog<string>("a hidden frame");
  readonly #socket: WebSocket;

  constructor(readonly url: string, rule: FrameRule) {
    this.#socket = new WebSocket(url);
    this.#socket.onopen = (event) => this.onopen?.(event);
    this.#socket.onerror = (event) => this.onerror?.(event);
    this.#socket.onclose = (event) => this.onclose?.(event);
    this.#socket.onmessage = (event) => {
      const verdict = rule(String(event.data));
      if (verdict === "hide") {
        this.hidden.push(String(event.data));
        return;
      }
      this.onmessage?.(event);
      if (verdict === "repeat") this.onmessage?.(event);
    };
  }

  get readyState(): number {
    return this.#socket.readyState;
  }

  send(data: string): void {
    this.#socket.send(data);
  }

  close(code?: number, reason?: string): void {
    this.#socket.close(code, reason);
  }

  /** Ends the connection as a network failure would look to the client: a close, unasked. */
  drop(): void {
    this.#socket.close(4000, "Dropped by the test");
  }
}

/** A WebSocket constructor for the client, and the sockets it made, in order. */
export function controlledSockets(rule: (index: number) => FrameRule = () => () => "pass"): {
  readonly WebSocket: WebSocketFactory;
  readonly opened: EventLog<ControlledSocket>;
} {
  const opened = new EventLog<ControlledSocket>("a socket opened by the client");
  let count = 0;
  class Factory extends ControlledSocket {
    constructor(url: string) {
      super(url, rule(count++));
      opened.push(this);
    }
  }
  return { WebSocket: Factory, opened };
}

/** Frames with one of `statuses` are hidden; the rest pass. */
export function hideStatuses(...statuses: number[]): FrameRule {
  return (data) => statuses.includes(JSON.parse(data).status) ? "hide" : "pass";
}
