/**
 * The embedded default stays dependency-free: PostgreSQL, Redis and the JWT verifier (jose) load
 * only when set.
 */
import assert from "node:assert/strict";
import { REPO_ROOT } from "./support/process.ts";

interface InfoDependency {
  specifier: string;
  code?: { specifier: string };
  isDynamic?: boolean;
}

interface Info {
  roots: string[];
  modules: { specifier: string; dependencies?: InfoDependency[] }[];
}

Deno.test("main.ts reaches PostgreSQL, Redis and jose only through dynamic import()", async () => {
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
  const queue = [...info.roots];
  while (queue.length > 0) {
    const url = queue.pop()!;
    if (loaded.has(url)) continue;
    loaded.add(url);
    for (const dependency of byUrl.get(url)?.dependencies ?? []) {
      const target = dependency.code?.specifier;
      if (target === undefined) continue; // Type-only.
      if (dependency.isDynamic) dynamic.push(target);
      else queue.push(target);
    }
  }
  const npm = [...loaded].filter((url) => url.startsWith("npm:"));
  assert.deepEqual(npm, [], "no npm package is loaded by the embedded default");
  assert.ok(![...loaded].some((url) => /postgres_repository|redis_hub|auth\/jwt\.ts/.test(url)));
  assert.deepEqual(
    dynamic.map((url) => url.slice(url.indexOf("/lib/"))).sort(),
    ["/lib/auth/jwt.ts", "/lib/hub/redis_hub.ts", "/lib/storage/postgres_repository.ts"],
  );
});
