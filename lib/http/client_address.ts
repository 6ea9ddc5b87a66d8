/** The address a request came from, for per-address limits. */

/** Where the request came from, as `Deno.serve` tells it. */
export interface ClientInfo {
  readonly remoteAddr: { readonly hostname: string } | Deno.Addr;
}

/**
 * The client's address: the connection's, or with `trustProxy` the one `X-Forwarded-For` names.
 */
export function clientAddress(
  request: Request,
  info: ClientInfo | undefined,
  trustProxy: boolean,
): string {
  if (trustProxy) {
    const forwarded = request.headers.get("x-forwarded-for")?.split(",")[0]?.trim();
    if (forwarded) return forwarded;
  }
  const remote = info?.remoteAddr;
  return remote !== undefined && "hostname" in remote ? remote.hostname : "unknown";
}
