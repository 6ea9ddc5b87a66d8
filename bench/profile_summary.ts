/**
 * Summarises a V8 CPU profile (`.cpuprofile`, written by `deno run --cpu-prof`): the functions
 * with the most self time. Run: deno run --allow-read bench/profile_summary.ts <file> [top]
 */
import type { ProfileEntry } from "./results.ts";
import { round } from "./stats.ts";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples?: number[];
  timeDeltas?: number[];
}

/** The `top` functions by self time, as a share of all samples. */
export function summarizeProfile(profile: CpuProfile, top = 20): ProfileEntry[] {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfTime = new Map<number, number>();
  if (profile.samples !== undefined && profile.timeDeltas !== undefined) {
    // Weight each sample by the time until the next one, as DevTools does.
    for (let i = 0; i < profile.samples.length; i++) {
      const delta = profile.timeDeltas[i + 1] ?? 0;
      selfTime.set(profile.samples[i], (selfTime.get(profile.samples[i]) ?? 0) + delta);
    }
  } else {
    for (const node of profile.nodes) selfTime.set(node.id, node.hitCount ?? 0);
  }
  const total = [...selfTime.values()].reduce((sum, value) => sum + value, 0) || 1;
  const grouped = new Map<string, ProfileEntry & { time: number }>();
  for (const [id, time] of selfTime) {
    const frame = byId.get(id)?.callFrame;
    if (frame === undefined) continue;
    const name = frame.functionName || "(anonymous)";
    const file = frame.url.replace(/^.*\/(lib|bench|ext|node_modules)\//, "$1/");
    const where = file === "" ? "" : `${file}:${frame.lineNumber + 1}`;
    const key = `${name} ${where}`;
    const entry = grouped.get(key) ?? { name, where, selfPercent: 0, time: 0 };
    entry.time += time;
    grouped.set(key, entry);
  }
  return [...grouped.values()]
    .sort((a, b) => b.time - a.time)
    .slice(0, top)
    .map(({ name, where, time }) => ({ name, where, selfPercent: round((time / total) * 100) }));
}

/** Summarises the newest `.cpuprofile` in `dir`, or returns `null` when there is none. */
export function summarizeProfileDir(dir: string, top = 20): ProfileEntry[] | null {
  let newest: { path: string; mtime: number } | null = null;
  try {
    for (const entry of Deno.readDirSync(dir)) {
      if (!entry.name.endsWith(".cpuprofile")) continue;
      const path = `${dir}/${entry.name}`;
      const mtime = Deno.statSync(path).mtime?.getTime() ?? 0;
      if (newest === null || mtime > newest.mtime) newest = { path, mtime };
    }
  } catch {
    return null;
  }
  if (newest === null) return null;
  return summarizeProfile(JSON.parse(Deno.readTextFileSync(newest.path)), top);
}

if (import.meta.main) {
  const [file, top] = Deno.args;
  if (file === undefined) {
    console.error("Usage: deno run --allow-read bench/profile_summary.ts <file.cpuprofile> [top]");
    Deno.exit(2);
  }
  const entries = summarizeProfile(JSON.parse(Deno.readTextFileSync(file)), Number(top ?? 25));
  for (const entry of entries) {
    console.log(`${entry.selfPercent.toFixed(1).padStart(5)}%  ${entry.name}  ${entry.where}`);
  }
}
