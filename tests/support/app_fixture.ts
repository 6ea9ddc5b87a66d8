/**
 * The service's request handler in process, without a port: for HTTP behaviour that needs no
 * network (Fresh's `FakeServer(app.handler())` model). An in-memory SQLite repository and the
 * memory hub; settings from `parseConfig`, so the defaults are the service's own.
 */
import { sqliteOptions } from "./backend_options.ts";
import { parseConfig } from "../../lib/config.ts";
import { createApp } from "../../lib/app.ts";
import { buildService, type Service } from "../../lib/service.ts";
import { SqliteRepository } from "../../lib/storage/sqlite_repository.ts";
import { MemoryHub } from "../../lib/hub/memory_hub.ts";
import { silentLogger } from "../../lib/log.ts";
import { DISCONNECT } from "../../lib/protocol/disconnect.ts";
import type { Repository } from "../../lib/storage/repository.ts";

/** A parsed answer of the handler. */
export interface Answer {
  readonly httpStatus: number;
  readonly headers: Headers;
  readonly json: { status: number; msg: string; body: Record<string, unknown> };
}

/** The handler with its service, and a way to call it as a client at `address` would. */
export interface AppFixture {
  readonly service: Service;
  readonly repository: Repository;
  readonly handler: (request: Request) => Promise<Response>;
  /** Sends a request (JSON `body` when given) and parses the envelope. */
  call(method: string, path: string, init?: RequestInit & { json?: unknown }): Promise<Answer>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** The address every fixture request comes from. */
export const FIXTURE_ADDRESS = "192.0.2.7";

/** Builds the handler on fresh storage; `env` overrides settings. */
export function appFixture(
  env: Record<string, string> = {},
  repository: Repository = new SqliteRepository(":memory:", sqliteOptions()),
): AppFixture {
  const hub = new MemoryHub();
  const config = parseConfig({ PORT: "0", ...env });
  const service = buildService({ config, repository, hub, log: silentLogger });
  const app = createApp(service.context);
  const info = { remoteAddr: { hostname: FIXTURE_ADDRESS } };
  const handler = (request: Request) => app(request, info);
  return {
    service,
    repository,
    handler,
    async call(method, path, init = {}) {
      const { json, ...rest } = init;
      const body = json === undefined ? rest.body : JSON.stringify(json);
      const response = await handler(
        new Request(`http://chat.test${path}`, { ...rest, method, body }),
      );
      const text = await response.text();
      return { httpStatus: response.status, headers: response.headers, json: JSON.parse(text) };
    },
    async [Symbol.asyncDispose]() {
      await hub.close(DISCONNECT.GOING_AWAY);
      await repository.close();
    },
  };
}

/** The headers of a WebSocket upgrade request, as a browser sends them. */
export function upgradeHeaders(extra: Record<string, string> = {}): Record<string, string> {
  return {
    upgrade: "websocket",
    connection: "Upgrade",
    "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
    "sec-websocket-version": "13",
    ...extra,
  };
}
