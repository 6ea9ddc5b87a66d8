/**
 * What a node does when Redis goes away and comes back, against a Redis server of the test's
 * own (so the shared one is never stopped): sockets close with 1013, /readyz answers 503
 * naming the hub, new sockets are refused with 1013, and once Redis is back everything works
 * again with presence rebuilt.
 */
import assert from "node:assert/strict";
import { api, registerAndLogin } from "../support/server.ts";
import { ChatClient } from "../support/ws_client.ts";
import { spawnDeno } from "../support/process.ts";
import { PrivateRedis, redisServerInstalled } from "../support/private_redis.ts";
import {
  dropSchema,
  freePort,
  SERVICES_REQUIRED,
  servicesReachable,
  TEST_DATABASE_URL,
  testSchema,
} from "../support/services.ts";
import { waitForAsync } from "../support/wait.ts";

const installed = await redisServerInstalled();
if (!installed) {
  const note = "redis-server is not installed: the Redis outage test";
  if (SERVICES_REQUIRED) console.error(`REQUIRE_SERVICES=1 and ${note} will fail`);
  else console.warn(`note: skipping the Redis outage test: redis-server is not installed`);
}
const reachable = (installed || SERVICES_REQUIRED) &&
  await servicesReachable(["postgres"], "the Redis outage test");

Deno.test({
  name: "cluster: when Redis goes away sockets close with 1013 and /readyz names the hub; " +
    "when it is back the node serves again",
  ignore: !reachable,
  async fn() {
    const schema = testSchema();
    try {
      await using redis = new PrivateRedis(freePort());
      await redis.start();
      await using node = spawnDeno({
        env: {
          DATABASE_URL: TEST_DATABASE_URL,
          DATABASE_SCHEMA: schema,
          REDIS_URL: redis.url,
          PRESENCE_TTL: "3s",
        },
      });
      const server = await node.listening();
      const tom = await registerAndLogin(server, "Tom");
      const jack = await registerAndLogin(server, "Jack");
      const tomSocket = await ChatClient.connect(server.wsUrl, "Jack", tom);
      const jackSocket = await ChatClient.connect(server.wsUrl, "Tom", jack);
      await tomSocket.expect(30098);
      await jackSocket.expect(30098);

      await redis.kill();
      assert.equal((await tomSocket.closed()).code, 1013);
      assert.equal((await jackSocket.closed()).code, 1013);
      const notReady = await api(server, "GET", "/readyz");
      assert.equal(notReady.httpStatus, 503);
      assert.deepEqual(notReady.json, {
        status: 10011,
        msg: "Not ready: hub down",
        body: { database: "up", hub: "down" },
      });
      // The process is up, and what needs only the database still works.
      assert.equal((await api(server, "GET", "/healthz")).httpStatus, 200);
      const history = await api(server, "GET", "/v1/chat/Jack/messages", { token: tom });
      assert.equal(history.httpStatus, 200);
      // A new chat socket is refused until Redis is back.
      await using refused = await ChatClient.connect(server.wsUrl, "Jack", tom);
      assert.equal((await refused.closed()).code, 1013);

      await redis.start();
      await waitForAsync(
        async () => (await api(server, "GET", "/readyz")).httpStatus === 200,
        "the node to be ready again",
        10_000,
      );
      await using tomAgain = await ChatClient.connect(server.wsUrl, "Jack", tom);
      await using jackAgain = await ChatClient.connect(server.wsUrl, "Tom", jack);
      assert.equal((await tomAgain.expect(30098)).msg, "Target user Jack login");
      assert.equal((await jackAgain.expect(30098)).msg, "Target user Tom login");
      tomAgain.sendMessage("back");
      assert.equal((await jackAgain.expect(30001)).body.msg, "back");
      await node.waitForLine(/ error hub\.redis_down /, "the hub.redis_down line");
      await node.waitForLine(/ info hub\.redis_back /, "the hub.redis_back line");
      assert.equal((await node.stop()).code, 0, node.output);
    } finally {
      await dropSchema(schema);
    }
  },
});
