/**
 * Waiting helpers for tests of asynchronous behaviour: each waits for an event, never for a
 * fixed time, and fails with a message naming what did not happen.
 */

/** How long a test waits for an expected event before failing. */
export const DEFAULT_TIMEOUT_MS = 2000;

/** Settles like `promise`, or rejects when it has not settled within `timeoutMs`. */
export function withTimeout<T>(
  promise: Promise<T>,
  what: string,
  timeoutMs: number = DEFAULT_TIMEOUT_MS,
): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`)),
      timeoutMs,
    );
  });
  // The timer is cleared either way, so a passing test leaks no timer.
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Resolves once `predicate` holds, polling every 5 ms; rejects after `timeoutMs`. */
export async function waitFor(
  predicate: () => boolean,
  what: string,
  timeoutMs: number = DEFAULT_TIMEOUT_MS,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() >= deadline) {
      throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Resolves once the async `predicate` holds, checking every 20 ms; rejects after `timeoutMs`. */
export async function waitForAsync(
  predicate: () => Promise<boolean>,
  what: string,
  timeoutMs: number = DEFAULT_TIMEOUT_MS,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() >= deadline) {
      throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
