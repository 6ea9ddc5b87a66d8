/** Operations endpoints: `/healthz` (the process is up), `/readyz` (its dependencies answer), `/metrics`. */
import { API_STATUS } from "../protocol/status.ts";
import type { Metrics } from "../metrics.ts";
import type { Repository } from "../storage/repository.ts";
import type { Hub } from "../hub/hub.ts";
import type { Clock } from "../time.ts";
import { envelope, tokenFromAuthorization } from "./envelope.ts";
import { timingSafeEqual } from "node:crypto";

/** How long `/readyz` waits for each dependency to answer. */
export const READY_TIMEOUT_MS = 2000;
/** How long a failed message store keeps the database reported down (unless one succeeds). */
export const STORE_FAILURE_WINDOW_MS = 30_000;

/** `GET /healthz`: 200 while the process serves requests. */
export function health(): Promise<Response> {
  return Promise.resolve(envelope(200, API_STATUS.OK, "OK"));
}

/** Resolves with "up" when `check` settles in time and well, "down" otherwise. */
async function probe(check: () => Promise<void>): Promise<"up" | "down"> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<"down">((resolve) => {
    timer = setTimeout(() => resolve("down"), READY_TIMEOUT_MS);
  });
  try {
    return await Promise.race([check().then(() => "up" as const), timeout]);
  } catch {
    return "down";
  } finally {
    clearTimeout(timer);
  }
}

/**
 * `GET /readyz`: 200 when the database and the hub answer, else 503 naming what is down. The
 * database must both answer a read and commit a one-row write: a full disk or a read-only file
 * reads fine but stores nothing, so it is reported down; so is a database whose last message
 * store failed within `STORE_FAILURE_WINDOW_MS` with none stored since (`storeFailing`), as a
 * nearly full disk takes the probe's row and not a message.
 */
export async function readiness(
  repository: Repository,
  hub: Hub,
  clock: Clock,
  storeFailing: (withinMs: number) => boolean = () => false,
): Promise<Response> {
  const [database, hubState] = await Promise.all([
    probe(async () => {
      if (storeFailing(STORE_FAILURE_WINDOW_MS)) throw new Error("Messages cannot be stored");
      await repository.ping();
      await repository.probeWrite(clock());
    }),
    probe(() => hub.ping()),
  ]);
  const body = { database, hub: hubState };
  const down = Object.entries(body).filter(([, state]) => state === "down").map(([name]) => name);
  if (down.length === 0) return envelope(200, API_STATUS.OK, "Ready", body);
  return envelope(503, API_STATUS.UNAVAILABLE, `Not ready: ${down.join(" and ")} down`, body);
}

/** Whether the request carries `Authorization: Bearer <token>` (compared in constant time). */
function bearerMatches(request: Request, token: string): boolean {
  const given = new TextEncoder().encode(tokenFromAuthorization(request) ?? "");
  const expected = new TextEncoder().encode(token);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/**
 * `GET /metrics`: every metric in the Prometheus text format. With `METRICS_TOKEN` set, a
 * request without `Authorization: Bearer <token>` gets 401 (10004) and no figure.
 */
export function metricsPage(
  metrics: Metrics,
  request: Request,
  token: string | null,
): Promise<Response> {
  if (token !== null && !bearerMatches(request, token)) {
    return Promise.resolve(
      envelope(
        401,
        API_STATUS.TOKEN_FAILED,
        "Metrics need Authorization: Bearer <METRICS_TOKEN>",
        {},
        {
          "www-authenticate": 'Bearer realm="metrics"',
        },
      ),
    );
  }
  return Promise.resolve(
    new Response(metrics.render(), {
      headers: {
        "content-type": "text/plain; version=0.0.4; charset=utf-8",
        "cache-control": "no-store",
      },
    }),
  );
}
