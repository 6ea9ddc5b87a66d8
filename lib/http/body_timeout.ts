/**
 * `HTTP_BODY_TIMEOUT`: a request whose body has not fully arrived within the timeout (counted from
 * the handler's first read of it) gets 408 `10018` and `Connection: close`, so a client that
 * sends its body a byte at a time cannot hold a handler. Only the body's arrival is timed: work a
 * handler does before reading it (a token check) or after (a login waiting for its scrypt turn
 * under a burst) takes as long as it must. `Deno.serve` offers no
 * timeout of its own for a body.
 */
import { API_STATUS } from "../protocol/status.ts";
import { envelope } from "./envelope.ts";

/** A `fetch`-style handler. */
export type Handler<Info> = (request: Request, info?: Info) => Promise<Response>;

/** `handler`, answering 408 when a request's body has not arrived within `timeoutMs`. */
export function withBodyTimeout<Info>(handler: Handler<Info>, timeoutMs: number): Handler<Info> {
  return async (request, info) => {
    if (request.body === null) return handler(request, info);
    const late = Promise.withResolvers<Response>();
    const body = timedBody(request.body, timeoutMs, () => late.resolve(requestTimeout(timeoutMs)));
    // Not `new Request(request, ...)`: that copies the request's signal, which the runtime warns
    // about; nothing here aborts on it.
    const timed = new Request(request.url, {
      method: request.method,
      headers: request.headers,
      body: body.stream,
      duplex: "half",
    } as RequestInit);
    try {
      return await Promise.race([handler(timed, info), late.promise]);
    } finally {
      body.stop();
    }
  };
}

/**
 * `source` as a stream that calls `onLate` and fails when it has not ended within `timeoutMs`;
 * `stop` ends the timing once the answer is out, and lets go of a body the handler did not read
 * (a 413 or 415 answers without it).
 */
function timedBody(
  source: ReadableStream<Uint8Array>,
  timeoutMs: number,
  onLate: () => void,
): { stream: ReadableStream<Uint8Array>; stop: () => void } {
  const reader = source.getReader();
  let ended = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  // From the handler's first read: the work it does before (a token check) is not the body's.
  const startTimer = () => {
    timer ??= setTimeout(() => {
      onLate();
      reader.cancel(new Error("The request body did not arrive in time")).catch(() => {});
    }, timeoutMs);
  };
  const stop = () => {
    clearTimeout(timer);
    if (!ended) reader.cancel().catch(() => {});
    ended = true;
  };
  const stream = new ReadableStream<Uint8Array>({
    async pull(controller) {
      startTimer();
      const { done, value } = await reader.read();
      if (done) {
        ended = true;
        clearTimeout(timer);
        controller.close();
      } else controller.enqueue(value);
    },
    cancel(reason) {
      clearTimeout(timer);
      ended = true;
      return reader.cancel(reason);
    },
  }, { highWaterMark: 0 });
  return { stream, stop };
}

function requestTimeout(timeoutMs: number): Response {
  return envelope(
    408,
    API_STATUS.REQUEST_TIMEOUT,
    "Request timeout: the body did not arrive in time",
    { timeout_ms: timeoutMs },
    { connection: "close" },
  );
}
