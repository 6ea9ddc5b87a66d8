/** The embedded page files are built from their sources: `deno task build:web` was run. */
import assert from "node:assert/strict";
import { ASSETS_MODULE, buildAssetsModule } from "../../tools/build_web.ts";
import { REPO_ROOT } from "../support/process.ts";

Deno.test("lib/web/assets.ts is up to date with lib/web/ and lib/client/ (deno task build:web)", async () => {
  const committed = await Deno.readTextFile(REPO_ROOT + ASSETS_MODULE);
  const built = await buildAssetsModule();
  assert.ok(built === committed, `${ASSETS_MODULE} is out of date: run deno task build:web`);
});
