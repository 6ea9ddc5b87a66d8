/**
 * A TCP proxy in front of a server (one node's Redis, in a cluster test) that a test can freeze:
 * from then on nothing its clients send is passed on, so their commands are neither run nor
 * answered, while every connection stays open. A node behind a frozen proxy has cut-off Redis
 * without knowing it yet: what it stores meanwhile (PostgreSQL is reached directly) is never
 * published. Disposing closes the listener and every connection.
 */

/** A proxy listening on 127.0.0.1, forwarding to `target`. */
export class TcpProxy implements AsyncDisposable {
  readonly #listener: Deno.TcpListener;
  readonly #target: Deno.ConnectOptions;
  readonly #conns = new Set<Deno.Conn>();
  readonly #links = new Set<Promise<void>>();
  readonly #thawed = Promise.withResolvers<void>();
  #frozen = false;
  #closing = false;
  readonly #accepting: Promise<void>;

  private constructor(target: Deno.ConnectOptions) {
    this.#target = target;
    this.#listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    this.#accepting = this.#accept();
  }

  /** A proxy to the server at `url` (`redis://host:port`), and its own URL. */
  static to(url: string): TcpProxy {
    const { hostname, port } = new URL(url);
    return new TcpProxy({ hostname, port: Number(port) });
  }

  /** `target`'s URL with the proxy's address in place of the server's. */
  url(target: string): string {
    const url = new URL(target);
    url.hostname = "127.0.0.1";
    url.port = String(this.#listener.addr.port);
    return url.href;
  }

  /** From now on, what the clients send is held back (for good). */
  freeze(): void {
    this.#frozen = true;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.#closing = true;
    this.#thawed.resolve();
    this.#listener.close();
    await this.#accepting;
    for (const conn of this.#conns) closeQuietly(conn);
    await Promise.all(this.#links);
  }

  async #accept(): Promise<void> {
    try {
      for await (const client of this.#listener) {
        const link = this.#link(client);
        this.#links.add(link);
        link.finally(() => this.#links.delete(link));
      }
    } catch {
      // The listener was closed.
    }
  }

  async #link(client: Deno.TcpConn): Promise<void> {
    this.#conns.add(client);
    let server: Deno.TcpConn;
    try {
      server = await Deno.connect(this.#target);
    } catch {
      this.#forget(client);
      return;
    }
    this.#conns.add(server);
    if (this.#closing) closeQuietly(server);
    const down = server.readable.pipeTo(client.writable).catch(() => {});
    const up = this.#forward(client, server);
    await Promise.race([down, up]);
    this.#forget(client);
    this.#forget(server);
    await Promise.all([down, up]);
  }

  /** Client to server, chunk by chunk, unless frozen. */
  async #forward(client: Deno.TcpConn, server: Deno.TcpConn): Promise<void> {
    const writer = server.writable.getWriter();
    try {
      for await (const chunk of client.readable) {
        if (this.#frozen) await this.#thawed.promise;
        if (this.#closing) return;
        await writer.write(chunk);
      }
    } catch {
      // Either side went away.
    } finally {
      writer.releaseLock();
    }
  }

  #forget(conn: Deno.Conn): void {
    if (this.#conns.delete(conn)) closeQuietly(conn);
  }
}

function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch {
    // Closed already.
  }
}
