/**
 * Helpers for issue 12's tests: v2 chat sockets and inbox sockets opened so that their joins are
 * known to be done (on one node and across the cluster's nodes) before the test goes on.
 */
import { ApiKeys } from "../../lib/admin/api_keys.ts";
import { api, type TestServer } from "./server.ts";
import { ChatClient, type ConnectOptions } from "./ws_client.ts";
import { waitForAsync } from "./wait.ts";

/** Whether the hub counts `username` online (any socket on any node), via the admin API. */
export async function isOnline(server: TestServer, username: string): Promise<boolean> {
  const key = await adminKey(server);
  const answer = await api(server, "GET", `/v1/admin/users/${encodeURIComponent(username)}`, {
    headers: { authorization: `Bearer ${key}` },
  });
  return answer.json.body.online === true;
}

const KEYS = new WeakMap<TestServer, Promise<string>>();

/** An API key of the admin API for this server, made once. */
export function adminKey(server: TestServer): Promise<string> {
  let key = KEYS.get(server);
  if (key === undefined) {
    key = new ApiKeys(server.repository, Date.now).add(`tests-${crypto.randomUUID()}`).then(
      (added) => {
        if (!added.ok) throw new Error("could not add an API key");
        return added.key;
      },
    );
    KEYS.set(server, key);
  }
  return key;
}

/**
 * Opens `username`'s inbox socket and resolves once the hub counts it (the user must hold no
 * other socket, so that "online" means this one).
 */
export async function openInbox(
  server: TestServer,
  token: string,
  username: string,
  options: ConnectOptions = { v2: true },
): Promise<ChatClient> {
  const inbox = await ChatClient.connectInbox(server.wsUrl, token, options);
  await waitForAsync(() => isOnline(server, username), `${username}'s inbox to join`, 5000);
  return inbox;
}

/** Opens a v2 chat socket of the token's user to `peer`. */
export function openV2(server: TestServer, peer: string, token: string): Promise<ChatClient> {
  return ChatClient.connect(server.wsUrl, peer, token, { v2: true });
}

/** GET /v1/conversations as the token's user. */
export async function conversationsOf(server: TestServer, token: string, query = "") {
  const answer = await api(server, "GET", `/v1/conversations${query}`, { token });
  return answer;
}
