/**
 * Cluster mode: two service nodes on this machine sharing PostgreSQL and Redis, against one
 * embedded node (SQLite, in-process hub) under the same load. Both run unpinned (every core):
 * this is what the recommended way of using more cores gives here. Every pair has one side on
 * each node, so every message crosses nodes (stored in PostgreSQL, published through Redis).
 * The cluster's users are registered over HTTP into its own fresh schema, half on each node.
 */
import { type ServerKind, ServerProcess } from "./server_process.ts";
import { round } from "./stats.ts";
import { now } from "./worker_protocol.ts";
import type { ClusterResult, ThroughputFigures } from "./results.ts";
import type { Workload } from "./bench_options.ts";
import { benchUserName, forEachBounded, login, register } from "./user_setup.ts";
import { benchUsers } from "./user_setup.ts";
import { measurePairs } from "./pairs_scenario.ts";
import {
  type BenchContext,
  type MeasuredServer,
  planPairs,
  RssSampler,
  withServer,
} from "./scenario_support.ts";
import {
  clusterEnv,
  type ClusterServices,
  clusterServices,
  clusterUnavailable,
  dropClusterData,
} from "./cluster_services.ts";

const NODES = 2;
const SETUP_CONCURRENCY = 8;

/** The nodes of a cluster, measured as one server. */
class ClusterNodes implements MeasuredServer {
  readonly nodes: readonly ServerProcess[];

  constructor(nodes: readonly ServerProcess[]) {
    this.nodes = nodes;
  }

  get pids(): readonly number[] {
    return this.nodes.map((node) => node.pid);
  }

  get httpBase(): string {
    return this.nodes[0].httpBase;
  }

  get wsBase(): string {
    return this.nodes[0].wsBase;
  }

  get logLines(): { stdout: number; stderr: number } {
    const counts = this.nodes.map((node) => node.logLines);
    return {
      stdout: counts.reduce((sum, c) => sum + c.stdout, 0),
      stderr: counts.reduce((sum, c) => sum + c.stderr, 0),
    };
  }

  get errors(): readonly string[] {
    return this.nodes.flatMap((node) => node.errors);
  }

  cpuMs(): number {
    return this.nodes.reduce((sum, node) => sum + node.cpuMs(), 0);
  }

  rssKiB(): number {
    return this.nodes.reduce((sum, node) => sum + node.rssKiB(), 0);
  }

  async stop(): Promise<number[]> {
    return await Promise.all(this.nodes.map((node) => node.stop()));
  }
}

/** The embedded service (one process, unpinned) under `workload`. */
function measureEmbedded(
  context: BenchContext,
  id: string,
  load: { plan: [number, number][]; messages: number; workload: Workload },
  failures: string[],
): Promise<ThroughputFigures> {
  return withServer(context, "service", id, async (server, sampler) => {
    const { figures, problems } = await measurePairs(context, "service", server, sampler, load);
    failures.push(...problems.map((p) => `embedded ${p}`));
    return figures;
  }, false);
}

/** Starts the nodes and registers and logs in the cluster's users (half on each node). */
async function startCluster(
  context: BenchContext,
  services: ClusterServices,
  users: number,
): Promise<{ nodes: ClusterNodes; context: BenchContext; setupMs: number }> {
  const env = clusterEnv(services);
  const node = async (index: number) =>
    ServerProcess.start({
      kind: "service",
      dbPath: "",
      cores: null,
      env,
      profileDir: await context.profileDir(`cluster-node${index + 1}`),
    });
  // One node migrates the fresh schema before the others start.
  const first = await node(0);
  const rest = await Promise.all(Array.from({ length: NODES - 1 }, (_, i) => node(i + 1)));
  const nodes = new ClusterNodes([first, ...rest]);
  const started = now();
  const tokens: string[] = new Array(users);
  const base = (i: number) => nodes.nodes[i % NODES].httpBase;
  await forEachBounded(0, users, SETUP_CONCURRENCY, (i) => register(base(i), benchUserName(i)));
  await forEachBounded(0, users, SETUP_CONCURRENCY, async (i) => {
    tokens[i] = await login(base(i + 1), benchUserName(i));
  });
  const clustered = { ...context, users: benchUsers(tokens) };
  return { nodes, context: clustered, setupMs: round(now() - started) };
}

/** Both sides of every pair on different nodes, under each workload in turn. */
async function measureCluster(
  context: BenchContext,
  nodes: ClusterNodes,
  load: { plan: [number, number][]; messages: number; workload: Workload },
  failures: string[],
): Promise<ThroughputFigures> {
  const sampler = new RssSampler(nodes);
  try {
    const sides = { a: nodes.nodes[0].wsBase, b: nodes.nodes[1].wsBase };
    const kind: ServerKind = "service";
    const { figures, problems } = await measurePairs(context, kind, nodes, sampler, {
      ...load,
      sides,
    });
    failures.push(...problems.map((p) => `cluster ${p}`));
    return figures;
  } finally {
    sampler.stop();
  }
}

/**
 * For each workload: the embedded service, then two nodes with every message crossing them.
 * Skipped (with a note) when PostgreSQL or Redis is unreachable.
 */
export async function clusterScenario(
  context: BenchContext,
  workloads: readonly Workload[],
  pairs: number,
  messages: number,
  notes: string[],
): Promise<ClusterResult[]> {
  const services = clusterServices();
  const unavailable = await clusterUnavailable(services);
  if (unavailable !== null) {
    notes.push(`Cluster mode skipped: PostgreSQL or Redis unreachable (${unavailable}).`);
    return [];
  }
  const plan = planPairs(pairs * 2, pairs);
  const results: ClusterResult[] = [];
  let cluster: Awaited<ReturnType<typeof startCluster>> | null = null;
  try {
    cluster = await startCluster(context, services, pairs * 2);
    for (const workload of workloads) {
      const id = `cluster_${workload.name}_${pairs}x${messages}`;
      const load = { plan, messages, workload };
      const failures: string[] = [];
      context.log(`${id}: ${pairs} pairs x ${messages} messages, ${workload.label}`);
      const embedded = await measureEmbedded(context, id, load, failures);
      const clustered = await measureCluster(cluster.context, cluster.nodes, load, failures);
      results.push({
        id,
        title: `${pairs} pairs x ${messages} messages per client, ${workload.label}`,
        workload: workload.name,
        params: { pairs, messagesPerClient: messages, window: workload.window, nodes: NODES },
        embedded,
        cluster: clustered,
        setupMs: cluster.setupMs,
        ok: failures.length === 0,
        failures,
      });
    }
  } finally {
    const codes = await cluster?.nodes.stop();
    if (codes?.some((code) => code !== 0)) context.log(`  cluster nodes exited with ${codes}`);
    await dropClusterData(services).catch((error) =>
      context.log(`  could not drop the cluster's data: ${error}`)
    );
  }
  return results;
}
