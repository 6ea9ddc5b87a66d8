import assert from "node:assert/strict";
import data from "npm:unhomoglyph@1.0.6/data.json" with { type: "json" };
import { SOURCE } from "../../tools/build_confusables.ts";
import { CONFUSABLES_JSON, CONFUSABLES_SOURCE } from "../../lib/users/confusables_data.ts";

Deno.test("lib/users/confusables_data.ts is the npm unhomoglyph table (deno run -A tools/build_confusables.ts)", () => {
  assert.equal(CONFUSABLES_SOURCE, SOURCE);
  assert.deepEqual(JSON.parse(CONFUSABLES_JSON), data, "confusables_data.ts is out of date");
  // The real UTS #39 table: thousands of entries, with the prototypes the standard gives.
  const table = data as Record<string, string>;
  assert.ok(Object.keys(table).length > 6000);
  assert.equal(table["\u0430"], "a"); // CYRILLIC SMALL LETTER A -> LATIN SMALL LETTER A
  assert.equal(table["\u0391"], "A"); // GREEK CAPITAL LETTER ALPHA -> LATIN CAPITAL LETTER A
  assert.equal(table["m"], "rn");
});
