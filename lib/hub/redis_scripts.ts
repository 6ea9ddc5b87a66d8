/**
 * The Lua scripts of the Redis hub, run by `RedisLink`. Each runs atomically in Redis, so
 * presence counts, the event sequence and the publishes they decide on never interleave with
 * another node's.
 *
 * Keys and channels, under the prefix `P` (`REDIS_PREFIX`):
 *
 *   P seq                  counter; every join and every presence event takes the next value
 *   P nodes                set of the ids of registered nodes
 *   P node:<id>            heartbeat, expires after PRESENCE_TTL unless refreshed
 *   P node:<id>:pairs      set of "<u>:<p>" pairs on which node <id> holds endpoints
 *   P pair:<u>:<p>         hash <node id> -> how many endpoints user <u> holds on (u -> p) there
 *   P user:<u>             hash <node id> -> how many endpoints user <u> holds there, all pairs
 *   P ch:<id>              channel of node <id>: messages, presence events, catch-ups and pushed
 *                          v2 frames for its endpoints
 *   P revoke               channel of every node: revoked token hashes
 *
 * The scripts name keys they build themselves, so they need one Redis server (or a
 * primary with replicas), not Redis Cluster.
 *
 * Events are JSON, shaped as `redis_events.ts` defines them; the scripts build presence events
 * (`PresenceEvent`) with its `PRESENCE_EVENT_LUA`, and pass on message events as given.
 */
import { CATCH_UP_EVENT_LUA, PRESENCE_EVENT_LUA } from "./redis_events.ts";

const PRELUDE = `
local P = ARGV[1]
local function pairKey(u, p) return P .. 'pair:' .. u .. ':' .. p end
local function userKey(u) return P .. 'user:' .. u end

-- Publishes \`event\` to every node holding endpoints on (u -> p) but \`except\`; returns how
-- many nodes.
local function toPairNodes(u, p, except, event)
  local sent = 0
  for _, node in ipairs(redis.call('HKEYS', pairKey(u, p))) do
    if node ~= except then
      redis.call('PUBLISH', P .. 'ch:' .. node, event)
      sent = sent + 1
    end
  end
  return sent
end

-- Tells every node holding endpoints on (p -> u), except \`except\`, that u came online (1)
-- or went offline (0) on (u -> p); returns the event's sequence number.
local function announce(u, p, online, origin, except)
  local seq = redis.call('INCR', P .. 'seq')
  toPairNodes(p, u, except, ${PRESENCE_EVENT_LUA})
  return seq
end

-- Tells every node holding endpoints on (p -> u) to read what waits for them from u: node
-- \`origin\`, which held u's endpoints on (u -> p), may have stored messages it never published.
local function catchUp(u, p, origin)
  toPairNodes(p, u, origin, ${CATCH_UP_EVENT_LUA})
end

-- Removes every presence entry of node \`dead\`, announcing each user that thereby went
-- offline on a pair (after the catch-up, when \`catchUps\` is set, so the peers' sockets get
-- the messages before the 30099); returns how many went offline, and appends to \`offline\`
-- the ids of the users who thereby hold no endpoint anywhere.
local function reap(dead, offline, catchUps)
  local pairsKey = P .. 'node:' .. dead .. ':pairs'
  local gone = 0
  local users = {}
  for _, pair in ipairs(redis.call('SMEMBERS', pairsKey)) do
    local sep = string.find(pair, ':', 1, true)
    local u, p = string.sub(pair, 1, sep - 1), string.sub(pair, sep + 1)
    local own = pairKey(u, p)
    if catchUps then catchUp(u, p, dead) end
    redis.call('HDEL', own, dead)
    users[u] = true
    if u ~= p and redis.call('EXISTS', own) == 0 then
      announce(u, p, 0, dead, dead)
      gone = gone + 1
    end
  end
  for u in pairs(users) do
    redis.call('HDEL', userKey(u), dead)
    if redis.call('EXISTS', userKey(u)) == 0 then table.insert(offline, tonumber(u)) end
  end
  redis.call('DEL', pairsKey, P .. 'node:' .. dead)
  redis.call('SREM', P .. 'nodes', dead)
  return gone
end
`;

/** ARGV: prefix, node, ttl ms. Registers the node and starts its heartbeat. */
export const REGISTER = `${PRELUDE}
redis.call('SADD', P .. 'nodes', ARGV[2])
redis.call('SET', P .. 'node:' .. ARGV[2], '1', 'PX', ARGV[3])
return 1
`;

/**
 * ARGV: prefix, node, ttl ms. Refreshes the heartbeat; 0 when the node was reaped meanwhile
 * (others took it for dead), and then it must drop its endpoints and register again.
 */
export const HEARTBEAT = `${PRELUDE}
if redis.call('SISMEMBER', P .. 'nodes', ARGV[2]) == 0 then return 0 end
redis.call('SET', P .. 'node:' .. ARGV[2], '1', 'PX', ARGV[3])
return 1
`;

/**
 * ARGV: prefix, node, user, peer. Counts one more endpoint of user on (user -> peer) at node.
 * Returns {seq, first, peerOnline, userFirst}: `first` when it is the user's first endpoint on
 * the pair in the whole cluster (then the peer's endpoints are told, if the peer is online),
 * `seq` the point in the event sequence the endpoint starts from, `userFirst` when it is the
 * user's first endpoint anywhere. {-1, 0, 0, 0} when the node is not registered (it was reaped).
 */
export const JOIN = `${PRELUDE}
local node, u, p = ARGV[2], ARGV[3], ARGV[4]
if redis.call('SISMEMBER', P .. 'nodes', node) == 0 then return {-1, 0, 0, 0} end
local own = pairKey(u, p)
local first = redis.call('EXISTS', own) == 0
redis.call('HINCRBY', own, node, 1)
redis.call('SADD', P .. 'node:' .. node .. ':pairs', u .. ':' .. p)
local userFirst = redis.call('EXISTS', userKey(u)) == 0 and 1 or 0
redis.call('HINCRBY', userKey(u), node, 1)
if u == p then return {0, 0, 0, userFirst} end
local peerOnline = redis.call('EXISTS', pairKey(p, u))
local seq
if first and peerOnline == 1 then
  seq = announce(u, p, 1, node, node)
else
  seq = redis.call('INCR', P .. 'seq')
end
return {seq, first and 1 or 0, peerOnline, userFirst}
`;

/**
 * ARGV: prefix, node, user, peer. Counts one endpoint less. Returns {seq, 1, userLast} when it
 * was the user's last on the pair in the cluster (the peer's endpoints on other nodes are told;
 * the caller tells its own), else {0, 0, userLast}; `userLast` when it was the user's last
 * endpoint anywhere.
 */
export const LEAVE = `${PRELUDE}
local node, u, p = ARGV[2], ARGV[3], ARGV[4]
local own = pairKey(u, p)
local count = tonumber(redis.call('HGET', own, node) or '0')
if count <= 0 then return {0, 0, 0} end
if count == 1 then
  redis.call('HDEL', own, node)
  redis.call('SREM', P .. 'node:' .. node .. ':pairs', u .. ':' .. p)
else
  redis.call('HSET', own, node, count - 1)
end
if redis.call('HINCRBY', userKey(u), node, -1) <= 0 then redis.call('HDEL', userKey(u), node) end
local userLast = redis.call('EXISTS', userKey(u)) == 0 and 1 or 0
if u == p or redis.call('EXISTS', own) == 1 then return {0, 0, userLast} end
return {announce(u, p, 0, node, node), 1, userLast}
`;

/**
 * ARGV: prefix, node, from, to, event. Publishes a message event to every other node holding
 * endpoints on (to -> from); returns how many nodes.
 */
export const PUBLISH = `${PRELUDE}
return toPairNodes(ARGV[4], ARGV[3], ARGV[2], ARGV[5])
`;

/**
 * ARGV: prefix, node, user, peer, event. Publishes a push event (a frame for the v2 endpoints
 * on (user -> peer)) to every other node holding endpoints on that pair; returns how many nodes.
 */
export const PUSH = `${PRELUDE}
return toPairNodes(ARGV[3], ARGV[4], ARGV[2], ARGV[5])
`;

/**
 * ARGV: prefix, node. Reaps every other registered node whose heartbeat expired, and has the
 * peers' endpoints of every pair it held catch up from storage; returns {how many users thereby
 * went offline on a pair, {ids of users thereby offline everywhere}}.
 */
export const REAP_EXPIRED = `${PRELUDE}
local gone = 0
local offline = {}
for _, node in ipairs(redis.call('SMEMBERS', P .. 'nodes')) do
  if node ~= ARGV[2] and redis.call('EXISTS', P .. 'node:' .. node) == 0 then
    gone = gone + reap(node, offline, true)
  end
end
return {gone, offline}
`;

/**
 * ARGV: prefix, node, catch up ('1' or '0'). Removes the node's own entries, e.g. when it stops
 * ('0': it published everything it stored) or when it was cut off from Redis ('1': the peers'
 * endpoints catch up, as for a reaped node); returns as `REAP_EXPIRED` does.
 */
export const REAP_SELF = `${PRELUDE}
local offline = {}
return {reap(ARGV[2], offline, ARGV[3] == '1'), offline}
`;

/** ARGV: prefix, node, user, peer. 1 when user holds an endpoint on (user -> peer), else 0. */
export const ON_PAIR = `${PRELUDE}
return redis.call('EXISTS', pairKey(ARGV[3], ARGV[4]))
`;

/**
 * ARGV: prefix, node, user, peer. 1 when a node other than `node` holds an endpoint of user on
 * (user -> peer), else 0. The pair's hash has a field per node with at least one endpoint there.
 */
export const ON_PAIR_ELSEWHERE = `${PRELUDE}
local own = pairKey(ARGV[3], ARGV[4])
local nodes = redis.call('HLEN', own)
if nodes == 0 then return 0 end
if nodes > 1 then return 1 end
return redis.call('HEXISTS', own, ARGV[2]) == 1 and 0 or 1
`;

/** ARGV: prefix, node, user. 1 when user holds an endpoint anywhere, else 0. */
export const ONLINE = `${PRELUDE}
return redis.call('EXISTS', userKey(ARGV[3]))
`;
