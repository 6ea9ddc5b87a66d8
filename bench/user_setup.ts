/**
 * Creates the run's users over the public HTTP API (`POST /v1/user`, `POST /v1/user/token`)
 * with bounded concurrency. Registration and login cost one scrypt each, so this is slow by
 * design; its rate is reported as a figure of its own.
 */
import { API_STATUS } from "../lib/protocol/status.ts";
import type { BenchUser } from "./scenario_support.ts";
import { now } from "./worker_protocol.ts";

/** The password of every benchmark user. */
export const BENCH_PASSWORD = "bench-password-1";

/** The name of benchmark user `index`. */
export function benchUserName(index: number): string {
  return `u${String(index).padStart(5, "0")}`;
}

/** The parts of the service's JSON envelope the set-up reads. */
interface Envelope {
  status?: number;
  msg?: string;
  body?: { token?: unknown };
}

async function post(
  base: string,
  path: string,
  body: unknown,
): Promise<{ status: number; json: Envelope }> {
  const response = await fetch(`${base}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  return { status: response.status, json: await response.json() as Envelope };
}

/** Whether the service answered with its success envelope. */
function succeeded(status: number, json: Envelope): boolean {
  return status >= 200 && status < 300 && json?.status === API_STATUS.OK;
}

/** Registers user `name`; throws unless the service answers with success. */
export async function register(base: string, name: string): Promise<void> {
  const { status, json } = await post(base, "/v1/user", {
    username: name,
    password: BENCH_PASSWORD,
  });
  if (!succeeded(status, json)) {
    throw new Error(`Registering ${name} failed: HTTP ${status} ${JSON.stringify(json)}`);
  }
}

/** Logs user `name` in with the benchmark's password; returns the token. */
export function login(base: string, name: string): Promise<string> {
  return loginAs(base, name, BENCH_PASSWORD);
}

/** Logs user `name` in with `password`; returns the token. */
export async function loginAs(base: string, name: string, password: string): Promise<string> {
  const { status, json } = await post(base, "/v1/user/token", { username: name, password });
  if (!succeeded(status, json) || typeof json?.body?.token !== "string") {
    throw new Error(`Logging in ${name} failed: HTTP ${status} ${JSON.stringify(json)}`);
  }
  return json.body.token as string;
}

/** Runs `task(i)` for i in [from, to) with at most `concurrency` at once; returns the wall ms. */
export async function forEachBounded(
  from: number,
  to: number,
  concurrency: number,
  task: (index: number) => Promise<void>,
): Promise<number> {
  const started = now();
  let next = from;
  const runner = async () => {
    while (next < to) await task(next++);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, Math.max(0, to - from)) }, runner));
  return now() - started;
}

/** Builds `BenchUser`s from names and tokens. */
export function benchUsers(tokens: readonly string[]): BenchUser[] {
  return tokens.map((token, index) => ({
    name: benchUserName(index),
    password: BENCH_PASSWORD,
    token,
  }));
}
