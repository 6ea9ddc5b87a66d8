/**
 * A cluster of real server processes (`main.ts`) on one fresh PostgreSQL schema and Redis key
 * prefix, both dropped at the end: for the tests that kill, restart or cut off a node.
 */
import { type ChildDeno, type Listening, spawnDeno } from "./process.ts";
import {
  dropRedisPrefix,
  dropSchema,
  TEST_DATABASE_URL,
  TEST_REDIS_URL,
  testRedisPrefix,
  testSchema,
} from "./services.ts";

/** One node: its process and where it listens. */
export interface Node {
  readonly child: ChildDeno;
  readonly server: Listening;
}

/** A cluster of real processes on one fresh schema and key prefix. */
export class ProcessCluster implements AsyncDisposable {
  readonly schema = testSchema();
  readonly prefix = testRedisPrefix();
  readonly nodes: Node[] = [];

  /** `env` adds settings to every node, e.g. `PRESENCE_TTL`. */
  constructor(readonly extraEnv: Record<string, string> = {}) {}

  /** Starts one more node and waits until it listens. */
  async start(env: Record<string, string> = {}): Promise<Node> {
    const child = spawnDeno({
      env: {
        DATABASE_URL: TEST_DATABASE_URL,
        DATABASE_SCHEMA: this.schema,
        REDIS_URL: TEST_REDIS_URL,
        REDIS_PREFIX: this.prefix,
        // The tests send in bursts; the rate limits have tests of their own.
        MSG_RATE: "100000",
        MSG_BURST: "100000",
        AUTH_MAX_PER_IP: "100000",
        ...this.extraEnv,
        ...env,
      },
    });
    try {
      const node = { child, server: await child.listening() };
      this.nodes.push(node);
      return node;
    } catch (error) {
      await child[Symbol.asyncDispose]();
      throw error;
    }
  }

  /** Starts `count` nodes at once (they migrate the schema concurrently). */
  startMany(count: number): Promise<Node[]> {
    return Promise.all(Array.from({ length: count }, () => this.start()));
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await Promise.all(this.nodes.map((node) => node.child[Symbol.asyncDispose]()));
    await dropSchema(this.schema);
    await dropRedisPrefix(this.prefix);
  }
}
