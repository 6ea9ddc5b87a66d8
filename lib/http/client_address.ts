/** The address a request came from, for per-address limits. */

/** Where the request came from, as `Deno.serve` tells it. */
export interface ClientInfo {
  readonly remoteAddr: { readonly hostname: string } | Deno.Addr;
}

// An address as a proxy writes it: IPv4, IPv6 (maybe in brackets), with an optional port.
const ADDRESS = /^[0-9A-Za-z.:\[\]%_-]{1,64}$/;

/**
 * The client's address. With `trustedProxies` 0 it is the connection's. With N > 0 the service
 * stands behind N proxies that each append the address they received the request from to
 * `X-Forwarded-For`, so the Nth value from the right is the one the outermost trusted proxy saw:
 * values further left were written by the client and are never believed. A header with fewer
 * values (or an unreadable one) falls back to the leftmost value the proxies wrote, or the
 * connection's address when there is none.
 */
export function clientAddress(
  request: Request,
  info: ClientInfo | undefined,
  trustedProxies: number,
): string {
  if (trustedProxies > 0) {
    // Several X-Forwarded-For headers arrive joined with ", ", in order.
    const values = request.headers.get("x-forwarded-for")?.split(",") ?? [];
    const index = Math.max(0, values.length - trustedProxies);
    const forwarded = values[index]?.trim();
    if (forwarded !== undefined && ADDRESS.test(forwarded)) return forwarded;
  }
  const remote = info?.remoteAddr;
  return remote !== undefined && "hostname" in remote ? remote.hostname : "unknown";
}
