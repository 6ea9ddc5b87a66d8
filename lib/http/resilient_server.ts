/**
 * `Deno.serve` that outlives running out of descriptors. When the process has no descriptor
 * left for a new connection, the runtime's accept loop fails and ends the server (its `finished`
 * rejects with `Too many open files`): connections already open go on being served, but nothing
 * new is accepted. Here the failure is reported and the port is listened on again as soon as a
 * descriptor is free, so the service refuses new connections while at the limit and takes them
 * again once it is below.
 */

/** What the server needs. */
export interface ResilientServerOptions {
  readonly hostname: string;
  readonly port: number;
  /** The accept loop failed (or listening again did); the server tries again shortly. */
  readonly onAcceptFailed: (error: unknown) => void;
  /** How long to wait before listening again. */
  readonly retryMs?: number;
}

/** A listening server. */
export interface ResilientServer {
  readonly addr: Deno.NetAddr;
  /** Stops accepting and waits for the requests in hand, on every listener it opened. */
  shutdown(): Promise<void>;
}

type Handler = (request: Request, info: Deno.ServeHandlerInfo<Deno.NetAddr>) => Promise<Response>;

const RETRY_MS = 100;

/** Listens on `hostname:port`; throws when the port cannot be bound at first. */
export function serveResilient(options: ResilientServerOptions, handler: Handler): ResilientServer {
  const listen = (port: number) =>
    Deno.serve({ hostname: options.hostname, port, onListen() {} }, handler);
  const servers = [listen(options.port)];
  const addr = servers[0].addr;
  let stopping = false;
  let retry: ReturnType<typeof setTimeout> | undefined;
  const listenAgain = () => {
    retry = undefined;
    if (stopping) return;
    try {
      const server = listen(addr.port);
      servers.push(server);
      watch(server);
    } catch (error) {
      options.onAcceptFailed(error);
      retry = setTimeout(listenAgain, options.retryMs ?? RETRY_MS);
    }
  };
  const watch = (server: Deno.HttpServer<Deno.NetAddr>) => {
    server.finished.catch((error) => {
      if (stopping) return;
      options.onAcceptFailed(error);
      retry = setTimeout(listenAgain, options.retryMs ?? RETRY_MS);
    });
  };
  watch(servers[0]);
  return {
    addr,
    async shutdown() {
      stopping = true;
      clearTimeout(retry);
      // A server whose accept loop failed still serves its open connections until shut down.
      await Promise.all(servers.map((server) => server.shutdown().catch(() => {})));
    },
  };
}
