/**
 * The chat service with `synchronous=NORMAL`, for measuring that lever without changing the
 * service: the same `lib/` code as `main.ts`, composed the same way, but the repository opened
 * with `{ synchronous: "NORMAL" }`. Started by `deno task bench --service=normal`.
 */
import { dirname } from "node:path";
import { parseConfig } from "../lib/config.ts";
import { createLogger } from "../lib/log.ts";
import { SqliteRepository } from "../lib/storage/sqlite_repository.ts";
import { MemoryHub } from "../lib/hub/memory_hub.ts";
import { startService } from "../lib/service.ts";

const log = createLogger((line, level) => {
  if (level === "info") console.log(line);
  else console.error(line);
});
const config = parseConfig(Deno.env.toObject());
Deno.mkdirSync(dirname(config.dbPath), { recursive: true });
const repository = new SqliteRepository(config.dbPath, { synchronous: "NORMAL" });
const stop = Promise.withResolvers<void>();
Deno.addSignalListener("SIGTERM", () => stop.resolve());
Deno.addSignalListener("SIGINT", () => stop.resolve());
const service = await startService({ config, repository, hub: new MemoryHub(), log });
await stop.promise;
await service.stop();
await repository.close();
Deno.exit(0);
