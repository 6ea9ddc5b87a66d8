/**
 * First start on a fresh machine: `deno task start` runs the embedded default (SQLite, the
 * in-process hub) with an empty `DENO_DIR` and the npm registry unreachable. PostgreSQL, Redis
 * and jose are loaded by dynamic `import()` only when their settings are set, and npm packages
 * are cached lazily (`--unstable-npm-lazy-caching` in the task), so none of them is fetched;
 * without it Deno fetches every package of the lock file first. `.ci/run` runs this file first.
 */
import assert from "node:assert/strict";
import { registerAndLogin } from "../support/server.ts";
import { dirname } from "node:path";
import { REPO_ROOT, spawnDeno, tempDir } from "../support/process.ts";

/**
 * What `deno task start` needs (settings, lock, code, the start wrapper), copied so that no
 * `node_modules` or cache of the repo helps.
 */
const SERVICE_FILES = ["deno.json", "deno.lock", "main.ts", "lib", "tools/start.sh"] as const;

/** A port on 127.0.0.1 that nothing listens on (taken, then released). */
function closedPort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

async function copyTree(from: string, to: string): Promise<void> {
  const info = await Deno.stat(from);
  if (!info.isDirectory) {
    await Deno.mkdir(dirname(to), { recursive: true });
    return await Deno.copyFile(from, to);
  }
  await Deno.mkdir(to, { recursive: true });
  for await (const entry of Deno.readDir(from)) {
    await copyTree(`${from}/${entry.name}`, `${to}/${entry.name}`);
  }
}

/** The npm packages in a Deno cache folder (`npm/<registry>/<name>`), as `<registry>/<name>`. */
async function cachedNpmPackages(denoDir: string): Promise<string[]> {
  const packages: string[] = [];
  const npm = `${denoDir}/npm`;
  try {
    for await (const registry of Deno.readDir(npm)) {
      if (!registry.isDirectory) continue;
      for await (const name of Deno.readDir(`${npm}/${registry.name}`)) {
        packages.push(`${registry.name}/${name.name}`);
      }
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  return packages;
}

Deno.test("deno task start serves the embedded default with an empty DENO_DIR and no npm registry", async () => {
  await using project = await tempDir();
  await using cache = await tempDir();
  for (const name of SERVICE_FILES) {
    await copyTree(`${REPO_ROOT}${name}`, `${project.path}/${name}`);
  }
  await using child = spawnDeno({
    denoArgs: ["task", "start"],
    cwd: project.path,
    env: {
      DB_PATH: `${project.path}/data/chat.db`,
      DENO_DIR: cache.path,
      NPM_CONFIG_REGISTRY: `http://127.0.0.1:${closedPort()}/`,
    },
  });
  const server = await child.listening();
  assert.match(await registerAndLogin(server, "Tom"), /^[0-9a-f-]{36}$/);
  assert.equal((await child.stop("SIGTERM")).code, 0, child.output);
  assert.doesNotMatch(child.output, /Download|Failed caching/, child.output);
  assert.deepEqual(await cachedNpmPackages(cache.path), [], "no npm package was fetched");
  await assert.rejects(Deno.stat(`${project.path}/node_modules`), Deno.errors.NotFound);
});
