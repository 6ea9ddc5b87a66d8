/// <reference lib="deno.unstable" />
/** The house size rules as a `deno lint` plugin: which functions and modules it reports. */
import assert from "node:assert/strict";
import plugin from "../../tools/lint/size_rules.ts";

/** A function declaration spanning exactly `lines` lines. */
function functionOf(lines: number): string {
  const body = Array.from({ length: lines - 4 }, (_, i) => `  total += ${i};`);
  return ["export function long(): number {", "  let total = 0;", ...body, "  return total;", "}"]
    .join("\n") + "\n";
}

/** A module of `lines` short statements. */
function moduleOf(lines: number): string {
  return Array.from({ length: lines }, (_, i) => `export const value${i} = ${i};`).join("\n") +
    "\n";
}

/** The ids of the rules the plugin reports for `source` at `filename`. */
function reported(filename: string, source: string): string[] {
  return Deno.lint.runPlugin(plugin, filename, source).map((diagnostic) => diagnostic.id);
}

Deno.test("a 61-line function under lib/ is reported, a 60-line one is not", () => {
  assert.equal(functionOf(61).trimEnd().split("\n").length, 61);
  assert.deepEqual(reported("/repo/lib/x.ts", functionOf(61)), ["house/max-function-lines"]);
  assert.deepEqual(reported("/repo/lib/x.ts", functionOf(60)), []);
});

Deno.test("an arrow function over 60 lines is reported too", () => {
  const source = functionOf(61).replace(
    "export function long(): number {",
    "export const long = () => {",
  );
  assert.deepEqual(reported("/repo/bench/x.ts", source), ["house/max-function-lines"]);
});

Deno.test("a 401-line module is reported, a 400-line one is not", () => {
  assert.deepEqual(reported("/repo/lib/x.ts", moduleOf(401)), ["house/max-file-lines"]);
  assert.deepEqual(reported("/repo/lib/x.ts", moduleOf(400)), []);
});

Deno.test("tests and the generated page are not held", () => {
  const long = moduleOf(401) + functionOf(61);
  assert.equal(reported("/repo/lib/x.ts", long).length, 2);
  assert.deepEqual(reported("/repo/tests/x_test.ts", long), []);
  assert.deepEqual(reported("/repo/tests/lib/x_test.ts", long), []);
  assert.deepEqual(reported("/repo/lib/web/assets.ts", long), []);
});
