/**
 * What the benchmark reads from the operating system: process memory and CPU time from `/proc`,
 * the machine's details, CPU pinning with `taskset`, and the open-file limit.
 */

/** The machine a run was measured on. */
export interface MachineInfo {
  readonly cpuModel: string;
  readonly cores: number;
  readonly memoryGiB: number;
  readonly kernel: string;
  readonly os: string;
  readonly deno: string;
  readonly v8: string;
  readonly typescript: string;
  /** Whether server and generator were pinned to different cores. */
  readonly pinned: boolean;
  readonly serverCores: string;
  readonly generatorCores: string;
  /** Open files allowed to the benchmark and the server (soft limit after raising it). */
  readonly openFileLimit: number;
  /** File system holding the benchmark's databases, e.g. `ext4 /dev/vda`. */
  readonly databaseFilesystem: string;
}

/** Clock ticks per second of `/proc/<pid>/stat` times (`getconf CLK_TCK`, 100 on Linux). */
const CLOCK_TICKS_PER_SECOND = 100;

// Deno grants `/proc` only with --allow-all; anything but a vanished file is a loud error.
function readText(path: string): string | null {
  try {
    return Deno.readTextFileSync(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return null;
    throw error;
  }
}

function statusField(pid: number, field: string): number | null {
  const text = readText(`/proc/${pid}/status`);
  const match = text === null ? null : new RegExp(`^${field}:\\s+(\\d+) kB$`, "m").exec(text);
  return match === null ? null : Number(match[1]);
}

/** Resident memory of a process in KiB (`VmRSS`), or `null` when it cannot be read. */
export function rssKiB(pid: number): number | null {
  return statusField(pid, "VmRSS");
}

/** Peak resident memory of a process in KiB (`VmHWM`), or `null`. */
export function peakRssKiB(pid: number): number | null {
  return statusField(pid, "VmHWM");
}

/** CPU time (user + system, all threads) a process has used, in ms, or `null`. */
export function cpuMs(pid: number): number | null {
  const text = readText(`/proc/${pid}/stat`);
  if (text === null) return null;
  // The command name may hold spaces; the fields after it are plain.
  const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return ((utime + stime) * 1000) / CLOCK_TICKS_PER_SECOND;
}

/** CPU time all tasks on the machine have used (user + nice + system), in ms, from `/proc/stat`. */
export function machineTaskCpuMs(): number {
  const line = (readText("/proc/stat") ?? "").split("\n").find((l) => l.startsWith("cpu "));
  if (line === undefined) return NaN;
  const [user, nice, system] = line.trim().split(/\s+/).slice(1, 4).map(Number);
  return ((user + nice + system) * 1000) / CLOCK_TICKS_PER_SECOND;
}

/**
 * Measures the CPU that processes other than `own` use over a phase: the benchmark shares the
 * machine, and a figure taken while something else ran is worth less. Kernel time spent on
 * interrupts (loopback TCP) is not counted.
 */
export class ForeignLoad {
  readonly #own: readonly number[];
  #machine0 = 0;
  #own0 = 0;
  #wall0 = 0;

  constructor(ownPids: readonly number[]) {
    this.#own = ownPids;
    this.start();
  }

  /** Starts (again) from now. */
  start(): void {
    this.#machine0 = machineTaskCpuMs();
    this.#own0 = this.#ownMs();
    this.#wall0 = performance.now();
  }

  /** Other processes' CPU since `start`, in % of one core. */
  percent(): number {
    const wall = performance.now() - this.#wall0;
    const foreign = machineTaskCpuMs() - this.#machine0 - (this.#ownMs() - this.#own0);
    return wall <= 0 ? 0 : Math.max(0, (foreign / wall) * 100);
  }

  #ownMs(): number {
    return this.#own.reduce((sum, pid) => sum + (cpuMs(pid) ?? 0), 0);
  }
}

/**
 * Waits (at most `maxWaitMs`) until other processes use under `thresholdPercent` of a core
 * over a half-second sample; returns the last sample.
 */
export async function waitForQuiet(
  ownPids: readonly number[],
  thresholdPercent: number,
  maxWaitMs: number,
): Promise<number> {
  const deadline = performance.now() + maxWaitMs;
  for (;;) {
    const load = new ForeignLoad(ownPids);
    await new Promise((resolve) => setTimeout(resolve, 500));
    const percent = load.percent();
    if (percent < thresholdPercent || performance.now() >= deadline) return percent;
  }
}

/** Whether `taskset` can be run here. */
export async function hasTaskset(): Promise<boolean> {
  try {
    const { success } = await new Deno.Command("taskset", {
      args: ["-V"],
      stdout: "null",
      stderr: "null",
    })
      .output();
    return success;
  } catch {
    return false;
  }
}

/** Pins every thread of process `pid` to `cores` (e.g. `"1"` or `"0,1"`); `false` on failure. */
export async function pinProcess(pid: number, cores: string): Promise<boolean> {
  try {
    const { success } = await new Deno.Command("taskset", {
      args: ["-a", "-p", "-c", cores, String(pid)],
      stdout: "null",
      stderr: "null",
    }).output();
    return success;
  } catch {
    return false;
  }
}

/** The soft and hard open-file limits of this process, from `/proc/self/limits`. */
export function openFileLimits(): { soft: number; hard: number } {
  const text = readText("/proc/self/limits") ?? "";
  const match = /^Max open files\s+(\d+|unlimited)\s+(\d+|unlimited)/m.exec(text);
  const parse = (value: string | undefined) =>
    value === undefined ? 1024 : value === "unlimited" ? Number.MAX_SAFE_INTEGER : Number(value);
  return { soft: parse(match?.[1]), hard: parse(match?.[2]) };
}

/**
 * Raises this process's soft open-file limit towards `wanted` (at most the hard limit) with
 * `prlimit`; children started afterwards inherit it. Returns the soft limit now in force.
 */
export async function raiseOpenFileLimit(wanted: number): Promise<number> {
  const { soft, hard } = openFileLimits();
  if (soft >= wanted) return soft;
  const target = Math.min(wanted, hard);
  try {
    await new Deno.Command("prlimit", {
      args: ["--pid", String(Deno.pid), `--nofile=${target}:${hard}`],
      stdout: "null",
      stderr: "null",
    }).output();
  } catch {
    // No prlimit: keep the current limit; the caller sizes scenarios to it.
  }
  return openFileLimits().soft;
}

function filesystemOf(path: string): string {
  const mounts = (readText("/proc/mounts") ?? "").trim().split("\n").map((line) => line.split(" "));
  let best: string[] | null = null;
  for (const mount of mounts) {
    const point = mount[1];
    if (point === undefined) continue;
    const inside = path === point || path.startsWith(point.endsWith("/") ? point : `${point}/`);
    if (inside && (best === null || point.length > best[1].length)) best = mount;
  }
  return best === null ? "unknown" : `${best[2]} ${best[0]} (${best[1]})`;
}

/** Describes this machine; `databaseDir` is where the benchmark keeps its SQLite files. */
export function machineInfo(
  databaseDir: string,
  pinning: { pinned: boolean; serverCores: string; generatorCores: string },
  openFileLimit: number,
): MachineInfo {
  const cpuinfo = readText("/proc/cpuinfo") ?? "";
  const meminfo = readText("/proc/meminfo") ?? "";
  const memKiB = Number(/^MemTotal:\s+(\d+) kB$/m.exec(meminfo)?.[1] ?? "0");
  return {
    cpuModel: /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim() ?? "unknown",
    cores: navigator.hardwareConcurrency,
    memoryGiB: Math.round((memKiB / 1048576) * 10) / 10,
    kernel: Deno.osRelease(),
    os: `${Deno.build.os} ${Deno.build.arch}`,
    deno: Deno.version.deno,
    v8: Deno.version.v8,
    typescript: Deno.version.typescript,
    pinned: pinning.pinned,
    serverCores: pinning.serverCores,
    generatorCores: pinning.generatorCores,
    openFileLimit,
    databaseFilesystem: filesystemOf(databaseDir),
  };
}
