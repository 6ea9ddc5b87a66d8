/**
 * The embedded default stays dependency-free: PostgreSQL, Redis and the JWT verifier (jose) load
 * only when set, by an `import()` whose specifier is a variable, so they are not even in the
 * start-up module graph (whose npm packages Deno would fetch before running). `main.ts` names
 * them only as types (`typeof import(...)`), which keeps them type-checked.
 */
import assert from "node:assert/strict";
import { REPO_ROOT } from "./support/process.ts";

interface InfoDependency {
  specifier: string;
  code?: { specifier: string };
  type?: { specifier: string };
  isDynamic?: boolean;
}

interface Info {
  roots: string[];
  modules: { specifier: string; dependencies?: InfoDependency[] }[];
}

Deno.test("main.ts's module graph holds no npm package; PostgreSQL, Redis and jose are named by type only", async () => {
  const { stdout, success } = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", "main.ts"],
    cwd: REPO_ROOT,
    stdout: "piped",
    stderr: "null",
  }).output();
  assert.ok(success);
  const info: Info = JSON.parse(new TextDecoder().decode(stdout));
  const byUrl = new Map(info.modules.map((module) => [module.specifier, module]));
  // Walk the modules loaded at start-up: static code imports only.
  const loaded = new Set<string>();
  const dynamic: string[] = [];
  const typeOnly: string[] = [];
  const queue = [...info.roots];
  while (queue.length > 0) {
    const url = queue.pop()!;
    if (loaded.has(url)) continue;
    loaded.add(url);
    for (const dependency of byUrl.get(url)?.dependencies ?? []) {
      const target = dependency.code?.specifier;
      if (target === undefined) {
        if (dependency.type !== undefined && url.endsWith("/main.ts")) {
          typeOnly.push(dependency.type.specifier);
        }
        continue;
      }
      if (dependency.isDynamic) dynamic.push(target);
      else queue.push(target);
    }
  }
  const npm = [...loaded].filter((url) => url.startsWith("npm:"));
  assert.deepEqual(npm, [], "no npm package is loaded by the embedded default");
  assert.ok(![...loaded].some((url) => /postgres_repository|redis_hub|auth\/jwt\.ts/.test(url)));
  assert.deepEqual(dynamic, [], "no literal import() that would put a backend in the graph");
  assert.deepEqual(
    typeOnly.map((url) => url.slice(url.indexOf("/lib/")))
      .filter((path) => /postgres|redis|jwt\.ts/.test(path)).sort(),
    ["/lib/auth/jwt.ts", "/lib/hub/redis_hub.ts", "/lib/storage/postgres_repository.ts"],
  );
});
