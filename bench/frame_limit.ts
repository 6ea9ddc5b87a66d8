/**
 * Measures the largest WebSocket frame Deno's server accepts before the chat handler sees it,
 * and what happens above it. Run: deno run -A bench/frame_limit.ts
 */
const sizes = Deno.args.length > 0
  ? Deno.args.map(Number)
  : [64 * 1024 * 1024 - 1024, 64 * 1024 * 1024 - 1, 64 * 1024 * 1024, 80 * 1024 * 1024];

const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen() {} }, (request) => {
  const { socket, response } = Deno.upgradeWebSocket(request);
  socket.onmessage = (event) => socket.send(`seen ${(event.data as string).length}`);
  return response;
});

for (const size of sizes) {
  const ws = new WebSocket(`ws://127.0.0.1:${server.addr.port}/`);
  await new Promise((resolve) => (ws.onopen = resolve));
  const rssBefore = Deno.memoryUsage().rss;
  const result = await new Promise<string>((resolve) => {
    ws.onmessage = (event) => resolve(event.data);
    ws.onclose = (event) => resolve(`closed ${event.code} ${event.reason}`);
    ws.send("a".repeat(size));
  });
  const rssAfter = Deno.memoryUsage().rss;
  console.log(
    `${size} bytes (${(size / 1048576).toFixed(3)} MiB): ${result}; RSS +${
      ((rssAfter - rssBefore) / 1048576).toFixed(0)
    } MiB`,
  );
  if (ws.readyState === WebSocket.OPEN) {
    ws.close();
    await new Promise((resolve) => (ws.onclose = resolve));
  }
}
await server.shutdown();
