/**
 * `HTTP_BODY_TIMEOUT`: a request whose body has not arrived (and been answered) within the
 * timeout gets 408 `10018` and `Connection: close`, so a client that sends its body a byte at a
 * time cannot hold a handler. `Deno.serve` offers no timeout of its own for a body.
 */
import { API_STATUS } from "../protocol/status.ts";
import { envelope } from "./envelope.ts";

/** A `fetch`-style handler. */
export type Handler<Info> = (request: Request, info?: Info) => Promise<Response>;

/** `handler`, answering 408 when a request with a body is not answered within `timeoutMs`. */
export function withBodyTimeout<Info>(handler: Handler<Info>, timeoutMs: number): Handler<Info> {
  return async (request, info) => {
    if (request.body === null) return handler(request, info);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<Response>((resolve) => {
      timer = setTimeout(() => resolve(requestTimeout(timeoutMs)), timeoutMs);
    });
    try {
      return await Promise.race([handler(request, info), late]);
    } finally {
      clearTimeout(timer);
    }
  };
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
