import assert from "node:assert/strict";
import { callAt, formatLocalTime, LocalTimeFormatter, systemClock } from "../lib/time.ts";

const FORMAT = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/;

function expectedFromLocalGetters(epochMs: number): string {
  const d = new Date(epochMs);
  const two = (value: number) => String(value).padStart(2, "0");
  return `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())} ` +
    `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
}

Deno.test("formatLocalTime writes YYYY-MM-DD HH:MM:SS", () => {
  assert.match(formatLocalTime(Date.now()), FORMAT);
  assert.match(formatLocalTime(0), FORMAT);
});

Deno.test("formatLocalTime writes the local date and time", () => {
  for (
    const epochMs of [0, 1_546_399_421_000, 1_700_000_000_123, Date.UTC(2024, 1, 29, 23, 59, 59)]
  ) {
    assert.equal(formatLocalTime(epochMs), expectedFromLocalGetters(epochMs));
  }
});

Deno.test("formatLocalTime pads every field to two digits", () => {
  const epochMs = new Date(2021, 0, 2, 3, 4, 5).getTime();
  assert.equal(formatLocalTime(epochMs), "2021-01-02 03:04:05");
});

Deno.test("formatLocalTime matches the seed's example", () => {
  assert.equal(formatLocalTime(new Date(2019, 0, 2, 11, 23, 41).getTime()), "2019-01-02 11:23:41");
});

Deno.test("formatLocalTime drops milliseconds rather than rounding", () => {
  assert.equal(
    formatLocalTime(new Date(2019, 11, 31, 23, 59, 59, 999).getTime()),
    "2019-12-31 23:59:59",
  );
});

Deno.test("systemClock reads the current time", () => {
  const before = Date.now();
  const now = systemClock();
  const after = Date.now();
  assert.ok(before <= now && now <= after, `${now} should be between ${before} and ${after}`);
});

Deno.test("LocalTimeFormatter formats like formatLocalTime, across second boundaries", () => {
  const formatter = new LocalTimeFormatter();
  const start = Date.UTC(2024, 4, 1, 12, 0, 58, 100);
  for (let ms = 0; ms < 3000; ms += 50) {
    assert.equal(formatter.format(start + ms), formatLocalTime(start + ms));
  }
  // Going back to an earlier second formats it again.
  assert.equal(formatter.format(start), formatLocalTime(start));
});

Deno.test("callAt fires once the clock reaches the moment, and hands over each timer it sets", async () => {
  const fired = Promise.withResolvers<number>();
  const timers: unknown[] = [];
  const start = Date.now();
  callAt(systemClock, start + 20, () => fired.resolve(Date.now()), (timer) => timers.push(timer));
  assert.ok((await fired.promise) - start >= 19, "not before the moment");
  assert.equal(timers.length, 1);
  // A moment already past fires at the next turn.
  const late = Promise.withResolvers<void>();
  callAt(systemClock, start - 1000, late.resolve, () => {});
  await late.promise;
});
