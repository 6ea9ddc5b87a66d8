/**
 * Issue 11's storage flood, measured: one account with 20 sockets writes 4096-emoji messages to
 * a user who is offline, each socket at the sustained rate the service allows (MSG_RATE, 10/s),
 * against a fresh service on a temporary SQLite file; prints the database's growth per second
 * (the file and its WAL) and what the sockets were told.
 *
 *   deno run -A tools/storage_flood.ts [seconds=30] [SETTING=value ...]
 *   deno run -A tools/storage_flood.ts 30 QUOTA_DAILY_MESSAGES=0 QUOTA_DAILY_BYTES=0 \
 *     QUOTA_WAITING_MESSAGES=0          # without quotas: as before them
 */
import { spawnDeno, tempDir } from "../tests/support/process.ts";
import { api, login } from "../tests/support/server.ts";

const SOCKETS = 20;
const EMOJI_MESSAGE = "😀".repeat(4096);

const [seconds = "30", ...settings] = Deno.args;
const env = Object.fromEntries(settings.map((pair) => pair.split("=", 2)));

await using dir = await tempDir();
const dbPath = `${dir.path}/chat.db`;
await using service = spawnDeno({ env: { DB_PATH: dbPath, ...env } });
const server = await service.listening();
for (const username of ["attacker", "victim"]) {
  await api(server, "POST", "/v1/user", { body: { username, password: "password123" } });
}
const token = await login(server, "attacker");

const told = new Map<number, number>();
const sockets: WebSocket[] = [];
for (let i = 0; i < SOCKETS; i++) {
  const socket = new WebSocket(`${server.wsUrl}/v1/chat/victim?token=${token}`);
  socket.onmessage = (event) => {
    const status = JSON.parse(event.data).status as number;
    told.set(status, (told.get(status) ?? 0) + 1);
  };
  await new Promise((resolve) => socket.onopen = resolve);
  sockets.push(socket);
}

async function databaseBytes(): Promise<number> {
  let bytes = 0;
  for (const suffix of ["", "-wal"]) {
    bytes += await Deno.stat(dbPath + suffix).then((info) => info.size, () => 0);
  }
  return bytes;
}

let sent = 0;
const sender = setInterval(() => {
  for (const socket of sockets) {
    if (socket.readyState === WebSocket.OPEN) {
      socket.send(JSON.stringify({ msg: EMOJI_MESSAGE, id: `m${++sent}` }));
    }
  }
}, 100);

const start = await databaseBytes();
console.log(`settings: ${settings.join(" ") || "(defaults)"}; ${SOCKETS} sockets at 10/s each`);
console.log("second  database MB  grew MB/s  stored  refused(30007/30008)");
let previous = start;
for (let second = 1; second <= Number(seconds); second++) {
  await new Promise((resolve) => setTimeout(resolve, 1000));
  const now = await databaseBytes();
  const refused = (told.get(30007) ?? 0) + (told.get(30008) ?? 0);
  console.log(
    `${String(second).padStart(6)}  ${(now / 1e6).toFixed(2).padStart(11)}  ` +
      `${((now - previous) / 1e6).toFixed(2).padStart(9)}  ${
        String(told.get(30010) ?? 0).padStart(6)
      }  ${String(refused).padStart(6)} (${told.get(30007) ?? 0}/${told.get(30008) ?? 0})`,
  );
  previous = now;
}
clearInterval(sender);
const end = await databaseBytes();
console.log(
  `mean growth: ${((end - start) / 1e6 / Number(seconds)).toFixed(3)} MB/s over ${seconds} s; ` +
    `other answers: ${JSON.stringify(Object.fromEntries(told))}`,
);
for (const socket of sockets) socket.close();
await new Promise((resolve) => setTimeout(resolve, 200));
