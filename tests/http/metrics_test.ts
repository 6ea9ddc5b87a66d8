import assert from "node:assert/strict";
import { api, registerAndLogin, startTestServer, TEST_BACKEND } from "../support/server.ts";
import { ChatClient } from "../support/ws_client.ts";
import { formatJsonLogLine } from "../../lib/log.ts";

function sample(text: string, name: string): number | null {
  const line = text.split("\n").find((l) => l.startsWith(`${name} `));
  return line === undefined ? null : Number(line.slice(name.length + 1));
}

Deno.test({
  name:
    "GET /metrics reports connections, users, messages, rejections, auth failures, latency and lag",
  // Metrics are per node; on the two-node cluster backend the sockets are spread over both.
  ignore: TEST_BACKEND === "cluster",
}, async () => {
  await using server = await startTestServer();
  const tom = await registerAndLogin(server, "Tom");
  const jack = await registerAndLogin(server, "Jack");
  await api(server, "POST", "/v1/user/token", {
    body: { username: "Tom", password: "wrong-pass" },
  });
  const bad = await ChatClient.connect(server.wsUrl, "Jack", "not-a-token");
  await bad.closed();
  await using toJack = await ChatClient.connect(server.wsUrl, "Jack", tom);
  await using toTom = await ChatClient.connect(server.wsUrl, "Tom", jack);
  await toJack.expect(30098);
  await toTom.expect(30098);
  toJack.sendMessage("one", "1");
  toJack.socket.send('{"msg":42,"id":"2"}');
  await toJack.expect(30010);
  await toJack.expect(30004);
  await toTom.expect(30001);

  const response = await fetch(`${server.baseUrl}/metrics`);
  assert.equal(response.status, 200);
  assert.match(response.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
  const text = await response.text();
  assert.equal(sample(text, "chat_open_connections"), 2);
  assert.equal(sample(text, "chat_online_users"), 2);
  assert.equal(sample(text, "chat_messages_stored_total"), 1);
  assert.equal(sample(text, "chat_messages_delivered_total"), 1);
  assert.equal(sample(text, 'chat_frames_rejected_total{reason="msg_type"}'), 1);
  assert.equal(sample(text, 'chat_auth_failures_total{kind="login"}'), 1);
  assert.equal(sample(text, 'chat_auth_failures_total{kind="token"}'), 1);
  assert.equal(sample(text, "chat_delivery_latency_seconds_count"), 1);
  assert.equal(sample(text, 'chat_delivery_latency_seconds_bucket{le="+Inf"}'), 1);
  assert.ok((sample(text, "chat_event_loop_lag_seconds") ?? -1) >= 0);
  // Every metric has HELP and TYPE lines, and every sample line is `name{labels} number`.
  for (const line of text.trim().split("\n")) {
    assert.match(line, /^(# (HELP|TYPE) \w+ .+|\w+(\{[^}]*\})? -?[\d.e+-]+)$/, line);
  }
});

Deno.test("JSON log lines are objects with time, level and event first, fields after", () => {
  const line = formatJsonLogLine(new Date(0), "info", "chat.open", {
    user: "Tom",
    conn: 3,
    level: "overwritten?",
    skipped: undefined,
  });
  assert.equal(
    line,
    '{"time":"1970-01-01T00:00:00.000Z","level":"info","event":"chat.open","user":"Tom","conn":3}',
  );
});
