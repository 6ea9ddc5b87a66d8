import assert from "node:assert/strict";
import { editDistance, unknownSettings } from "../lib/config_warnings.ts";

Deno.test("a misspelled setting with the service's prefix is reported with the setting it may mean", () => {
  assert.deepEqual(unknownSettings({ MSG_RATES: "5", MSG_RATE: "10" }), [
    { key: "MSG_RATES", didYouMean: "MSG_RATE" },
  ]);
  assert.deepEqual(unknownSettings({ JWT_SECRETS: "x" }), [
    { key: "JWT_SECRETS", didYouMean: "JWT_SECRET" },
  ]);
});

Deno.test("a name with a service prefix far from every setting is reported without a guess", () => {
  assert.deepEqual(unknownSettings({ REDIS_PASSWORD: "x" }), [
    { key: "REDIS_PASSWORD", didYouMean: null },
  ]);
});

Deno.test("a name one edit from a short setting, or a setting in lower case, is reported", () => {
  assert.deepEqual(unknownSettings({ PROT: "1", port: "1", HOTS: "x" }), [
    { key: "HOTS", didYouMean: "HOST" },
    { key: "PROT", didYouMean: "PORT" },
    { key: "port", didYouMean: "PORT" },
  ]);
});

Deno.test("settings, the usual environment and other programs' names are not reported", () => {
  const env = {
    PORT: "7071",
    MSG_RATE: "5",
    HOME: "/root",
    HOSTNAME: "box",
    PATH: "/bin",
    TERM: "xterm",
    USER: "root",
    LANG: "C.UTF-8",
    DENO_DIR: "/tmp/deno",
    SQLITE_TMPDIR: "/tmp",
    NO_COLOR: "1",
    _: "/usr/bin/deno",
  };
  assert.deepEqual(unknownSettings(env), []);
});

Deno.test("edit distance counts a swap of neighbours as one edit", () => {
  assert.equal(editDistance("PROT", "PORT", 2), 1);
  assert.equal(editDistance("MSG_RATES", "MSG_RATE", 2), 1);
  assert.equal(editDistance("HOME", "HOST", 2), 2);
  assert.equal(editDistance("A", "ABCDE", 2), 3, "stops past the limit");
});
