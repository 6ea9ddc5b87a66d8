/** The small socket contract the chat session sees, so it can run without a network in tests. */

/** A WebSocket as the chat session uses it. */
export interface ChatSocket {
  /** Sends a text frame; does nothing once the socket is closing. */
  send(frame: string): void;
  /** Starts the closing handshake. */
  close(code: number, reason: string): void;
  /** Bytes queued but not yet written to the network. */
  readonly bufferedAmount: number;
}

/** What the socket tells the session. */
export interface ChatSocketHandlers {
  opened(): void;
  received(data: string | ArrayBuffer): void;
  closed(code: number): void;
}
