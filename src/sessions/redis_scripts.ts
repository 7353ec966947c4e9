/**
 * The Lua scripts behind the Redis store. Each runs atomically in Redis, so an entry and its
 * indexes always change together, a login is taken by exactly one caller across every bridge,
 * and the size bound is checked and the entry added in one step.
 *
 * Keys (P = sessions.key_prefix), all built here from ARGV[1]:
 *   P p:<id>            hash  pending login: d (JSON without OAuth state), o (encrypted OAuth
 *                             state), srv, cid; PX = until it expires plus a grace (redis_grace.ts)
 *   P pz                zset  pending ids by expiresAt (size bound, sweep, listing)
 *   P pv:<server>       zset  pending ids of one server by expiresAt (live counts)
 *   P pc:<cid>:<server> set   pending ids of one client (the cid, digits, comes first so the
 *                             name is unambiguous whatever the server name holds)
 *   P s:<sessionId>     hash  session: d (JSON without refresh token), t (encrypted refresh
 *                             token), v (version: random, new at every write of the entry,
 *                             written with it), srv, cid ('' = unbound), r (the run of
 *                             OpenVPN the cid belongs to, when known), sub, sid (when
 *                             known), user; PX = until it expires plus a grace (see
 *                             redis_store.ts)
 *   P sz                zset  session ids by expiresAt
 *   P sv:<server>       zset  session ids of one server by expiresAt (live counts)
 *   P sc:<server>       zset  ids of the bound sessions of a server, scored by cid: every one
 *                             bound to a cid is kept (after an OpenVPN restart a reused cid
 *                             names an old session not yet unbound beside a new one)
 *   P sb:<server>       hash  cid -> session id: what bridges wrote before sc: existed (one
 *                             session per cid); read and cleaned up, never written, so that
 *                             sessions bound before an upgrade are still found
 *   P su:<subject>, P si:<sid>, P sn:<username>   sets of session ids
 * Index sets and hashes get a TTL at least as long as their newest member's, so nothing
 * outlives its entries when no bridge sweeps; readers skip members whose entry is gone, and a
 * put trims its server's zset of members already expired.
 *
 * Redis Cluster is not supported: the scripts touch keys they build themselves.
 */

/**
 * Expired entries removed per script call, by `sweep` (redis_store.ts) and by a put into a full
 * table (has_room), so that no call holds Redis for long.
 */
export const SWEEP_BATCH = 1000;

const HELPERS = `
local P = ARGV[1]
local function keep(key, ttl)
  if redis.call('PTTL', key) < tonumber(ttl) then redis.call('PEXPIRE', key, ttl) end
end
local function unindex_session(id)
  local f = redis.call('HMGET', P .. 's:' .. id, 'srv', 'cid', 'sub', 'sid', 'user')
  if not f[1] then return end
  redis.call('ZREM', P .. 'sv:' .. f[1], id)
  if f[2] ~= '' then
    redis.call('ZREM', P .. 'sc:' .. f[1], id)
    local legacy = P .. 'sb:' .. f[1]
    if redis.call('HGET', legacy, f[2]) == id then redis.call('HDEL', legacy, f[2]) end
  end
  if f[3] then redis.call('SREM', P .. 'su:' .. f[3], id) end
  if f[4] then redis.call('SREM', P .. 'si:' .. f[4], id) end
  if f[5] then redis.call('SREM', P .. 'sn:' .. f[5], id) end
end
local function drop_session(id)
  unindex_session(id)
  redis.call('ZREM', P .. 'sz', id)
  return redis.call('DEL', P .. 's:' .. id)
end
local function drop_pending(id)
  local key = P .. 'p:' .. id
  local f = redis.call('HMGET', key, 'srv', 'cid')
  if f[1] then
    redis.call('SREM', P .. 'pc:' .. f[2] .. ':' .. f[1], id)
    redis.call('ZREM', P .. 'pv:' .. f[1], id)
  end
  redis.call('ZREM', P .. 'pz', id)
  return redis.call('DEL', key)
end
-- Removes entries that expired before the time given: now for sessions, the grace before now for
-- pending logins (pending_grace.ts, PENDING_GRACE_MS). seen, when given, is called with each
-- id before its entry goes.
local function sweep(zset, drop, before, limit, seen)
  local ids
  if limit then
    ids = redis.call('ZRANGEBYSCORE', zset, '-inf', '(' .. before, 'LIMIT', 0, limit)
  else
    ids = redis.call('ZRANGEBYSCORE', zset, '-inf', '(' .. before)
  end
  for _, id in ipairs(ids) do
    if seen then seen(id) end
    drop(id)
  end
  return #ids
end
local function add_by_server(zset, score, id, ttl, now)
  redis.call('ZREMRANGEBYSCORE', zset, '-inf', '(' .. now)
  redis.call('ZADD', zset, score, id)
  keep(zset, ttl)
end
-- A full table loses one batch of its expired entries, not all of them: room for one entry
-- is all a put needs, and a script that removed every entry expired since the last sweep held
-- every bridge's Redis for as long as that took. The sessions it removes are not handed on as a
-- sweep's are (SWEEP): their refresh tokens are left to expire at the IdP.
local function has_room(zset, id, max, drop, before)
  if redis.call('ZSCORE', zset, id) or redis.call('ZCARD', zset) < max then return true end
  sweep(zset, drop, before, ${SWEEP_BATCH})
  return redis.call('ZCARD', zset) < max
end
-- A listing of a whole store, one page per call: a script holds every bridge's Redis while it
-- runs (one that read 100,000 sessions held it for 1.4-2 s and timed out). ARGV: P, now, the
-- cursor (score and id of the last entry of the page before; '' for the first page), the page
-- size. Pages run in expiry order, then by id (a zset's order). Returns the cursor of the next
-- page ('' '' after the last one), then the fields named of each live entry of this page. A
-- cursor entry gone or moved meanwhile restarts the page at its score: entries of that score
-- come again (the caller drops repeats), none is skipped.
local function list_page(zset_name, prefix, fields)
  local zset, now, after_score, after_id = P .. zset_name, ARGV[2], ARGV[3], ARGV[4]
  local limit = tonumber(ARGV[5])
  local start = redis.call('ZCOUNT', zset, '-inf', '(' .. now)
  if after_id ~= '' then
    local rank = redis.call('ZRANK', zset, after_id)
    if rank and redis.call('ZSCORE', zset, after_id) == after_score then
      start = math.max(start, rank + 1)
    else
      start = math.max(start, redis.call('ZCOUNT', zset, '-inf', '(' .. after_score))
    end
  end
  local ids = redis.call('ZRANGE', zset, start, start + limit - 1, 'WITHSCORES')
  local out = { '', '' }
  if #ids == 2 * limit then out[1] = ids[#ids]; out[2] = ids[#ids - 1] end
  for i = 1, #ids, 2 do
    local v = redis.call('HMGET', P .. prefix .. ids[i], unpack(fields))
    if v[1] then
      for f = 1, #fields do out[#out + 1] = v[f] end
    end
  end
  return out
end
local function live_fields(zset, prefix, id, now, a, b)
  local score = redis.call('ZSCORE', zset, id)
  if not score or tonumber(score) < tonumber(now) then return nil end
  local v = redis.call('HMGET', P .. prefix .. id, a, b)
  if not v[1] then return nil end
  return v
end
`;

/**
 * ARGV: P, max, now, the expiry before which a full store may remove logins (now less the
 * grace, pending_grace.ts), then for each pending login: id, expiresAt, ttlMs, server, cid, data,
 * encrypted OAuth ('' = none). Adds them in order, each as if alone; returns 1 for each one
 * added, 0 for each one refused because the store is full.
 */
const PUT_PENDINGS = `
local max, now, before = tonumber(ARGV[2]), ARGV[3], ARGV[4]
local added = {}
for i = 5, #ARGV, 7 do
  local id, expires, ttl, server, cid = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4]
  if has_room(P .. 'pz', id, max, drop_pending, before) then
    drop_pending(id)
    local key = P .. 'p:' .. id
    redis.call('HSET', key, 'd', ARGV[i + 5], 'srv', server, 'cid', cid)
    if ARGV[i + 6] ~= '' then redis.call('HSET', key, 'o', ARGV[i + 6]) end
    redis.call('PEXPIRE', key, ttl)
    redis.call('ZADD', P .. 'pz', expires, id)
    add_by_server(P .. 'pv:' .. server, expires, id, ttl, now)
    local client = P .. 'pc:' .. cid .. ':' .. server
    redis.call('SADD', client, id)
    keep(client, ttl)
    added[#added + 1] = 1
  else
    added[#added + 1] = 0
  end
end
return added
`;

/**
 * ARGV: P, id, now, expiresAt, server, cid, data, encrypted OAuth ('' = none), the browser
 * binding's hash ('' = none). Writes the data of the same login (server, cid and deadline
 * unchanged) only if it is still there and live, and not begun in another browser (a stored
 * binding hash that differs); returns 1 then, else 0 and writes nothing. Its indexes and TTL
 * stay as they are.
 */
const UPDATE_PENDING = `
local key = P .. 'p:' .. ARGV[2]
local f = redis.call('HMGET', key, 'srv', 'cid', 'b')
local deadline = redis.call('ZSCORE', P .. 'pz', ARGV[2])
if not f[1] or f[1] ~= ARGV[5] or f[2] ~= ARGV[6] or not deadline then return 0 end
if tonumber(deadline) ~= tonumber(ARGV[4]) or tonumber(deadline) < tonumber(ARGV[3]) then
  return 0
end
if f[3] and f[3] ~= ARGV[9] then return 0 end
redis.call('HSET', key, 'd', ARGV[7])
if ARGV[8] ~= '' then redis.call('HSET', key, 'o', ARGV[8]) else redis.call('HDEL', key, 'o') end
if ARGV[9] ~= '' then redis.call('HSET', key, 'b', ARGV[9]) else redis.call('HDEL', key, 'b') end
return 1
`;

/**
 * ARGV: P, id, now. Returns [data, encrypted OAuth] of a live login, which is gone afterwards,
 * or nil. One past its deadline is refused and left where it is (its key outlives the deadline,
 * pending_grace.ts): the deadline's delete must find it to deny the client.
 */
const TAKE_PENDING = `
local v = live_fields(P .. 'pz', 'p:', ARGV[2], ARGV[3], 'd', 'o')
if not v then return false end
drop_pending(ARGV[2])
return v
`;

/** ARGV: P, id. Returns 1 when the login was there. */
const DELETE_PENDING = `return drop_pending(ARGV[2])`;

/** ARGV: P, server, cid. Returns how many logins were removed. */
const DELETE_PENDING_BY_CID = `
local client = P .. 'pc:' .. ARGV[3] .. ':' .. ARGV[2]
local removed = 0
for _, id in ipairs(redis.call('SMEMBERS', client)) do removed = removed + drop_pending(id) end
redis.call('DEL', client)
return removed
`;

/** ARGV: P, now, cursor score, cursor id, limit: one page of live logins (list_page). */
const LIST_PENDING = `return list_page('pz', 'p:', { 'd', 'o' })`;

/**
 * ARGV: P, max, now, then for each session: id, expiresAt, ttlMs, server, cid ('' = unbound),
 * subject, has sid ('1'/'0'), sid, username, data, encrypted refresh token ('' = none),
 * version, the version whose token to keep ('' = none), createdAt, '1' for an update (the
 * entry must be there, live, with that createdAt) or '0' for a put, and for an update the
 * version the caller read ('' = not known): the entry must still be at it, and the run of
 * OpenVPN its cid belongs to ('' = none: Session.openvpnRun, listed with its binding). Bridges sharing
 * the store lock a session only within their own process: one that wrote back what it read
 * before another bridge's write (a rebind, a rotated refresh token) would undo that write.
 * createdAt has a field of its own ('c'), compared as text: decoding the data in Redis cost a
 * whole JSON parse per update, and lua-cjson refuses a lone surrogate that JSON.stringify
 * writes as an escape. Entries written before 'c' existed are decoded, protected, once.
 * Writes them in order, each as if alone; returns 1 for each one written, 0 for each one
 * refused because the store is full, 2 for each one that asked to keep the token of a version
 * the entry no longer has (or that has none): nothing is written, and the bridge sends it
 * again with its token; 3 for each update whose entry is not there, not live, another
 * sign-in's (SessionStore.updateSession), or written since the version read: nothing is
 * written. The only script that writes a session's d and t: the entry is written whole, with
 * its new version (a reader holding the old one must see the change, redis_decoded.ts).
 */
const PUT_SESSIONS = `
local max, now = tonumber(ARGV[2]), ARGV[3]
local function add(set, id, ttl) redis.call('SADD', set, id); keep(set, ttl) end
local written = {}
for i = 4, #ARGV, 17 do
  local id, expires, ttl, server, cid = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4]
  local sub, has_sid, sid, user = ARGV[i + 5], ARGV[i + 6], ARGV[i + 7], ARGV[i + 8]
  local key, token, held, created = P .. 's:' .. id, ARGV[i + 10], ARGV[i + 12], ARGV[i + 13]
  local gone = false
  if ARGV[i + 14] == '1' then
    local deadline = redis.call('ZSCORE', P .. 'sz', id)
    local stored = redis.call('HGET', key, 'c')
    local same = stored == created
    if not stored then
      local data = redis.call('HGET', key, 'd')
      local ok, decoded = false, nil
      if data then ok, decoded = pcall(cjson.decode, data) end
      same = ok and type(decoded) == 'table' and decoded.createdAt == tonumber(created)
    end
    gone = not same or not deadline or tonumber(deadline) < tonumber(now)
    local read = ARGV[i + 15]
    if not gone and read ~= '' then gone = redis.call('HGET', key, 'v') ~= read end
  end
  if held ~= '' and not gone then
    local stored = redis.call('HMGET', key, 'v', 't')
    if stored[1] == held and stored[2] then token = stored[2] else token = false end
  end
  if gone then
    written[#written + 1] = 3
  elseif not token then
    written[#written + 1] = 2
  elseif has_room(P .. 'sz', id, max, drop_session, now) then
    unindex_session(id)
    redis.call('DEL', key)
    redis.call('HSET', key, 'd', ARGV[i + 9], 'v', ARGV[i + 11], 'srv', server, 'cid', cid,
      'sub', sub, 'user', user, 'c', created)
    if has_sid == '1' then redis.call('HSET', key, 'sid', sid) end
    if ARGV[i + 16] ~= '' then redis.call('HSET', key, 'r', ARGV[i + 16]) end
    if token ~= '' then redis.call('HSET', key, 't', token) end
    redis.call('PEXPIRE', key, ttl)
    redis.call('ZADD', P .. 'sz', expires, id)
    add_by_server(P .. 'sv:' .. server, expires, id, ttl, now)
    if cid ~= '' then
      local bound = P .. 'sc:' .. server
      redis.call('ZADD', bound, cid, id)
      keep(bound, ttl)
    end
    add(P .. 'su:' .. sub, id, ttl)
    if has_sid == '1' then add(P .. 'si:' .. sid, id, ttl) end
    add(P .. 'sn:' .. user, id, ttl)
    written[#written + 1] = 1
  else
    written[#written + 1] = 0
  end
end
return written
`;

/**
 * ARGV: P, then for each session an id and the version the reader holds ('' = none). Returns
 * one element for each in turn: nil where Redis holds the version the reader sent (a REAUTH of a
 * session this bridge decoded: one nil to decode, not three values and a copy of the version the
 * reader sent), else [data, encrypted token, version], all three nil where the entry is absent.
 */
const GET_SESSIONS = `
local out = {}
for i = 2, #ARGV, 2 do
  local key = P .. 's:' .. ARGV[i]
  local v = redis.call('HGET', key, 'v')
  if v and v == ARGV[i + 1] then
    out[#out + 1] = false
  else
    local f = redis.call('HMGET', key, 'd', 't')
    out[#out + 1] = {f[1], f[2], v}
  end
end
return out
`;

/**
 * ARGV: P, id. Returns where the session's client was bound as it went (server, cid, run) and
 * its encrypted refresh token ('' for none), or nil when it was not there: another bridge may
 * have rebound it, or rotated its token, since the caller read it (SessionStore.deleteSession).
 */
const DELETE_SESSION = `
local at = redis.call('HMGET', P .. 's:' .. ARGV[2], 'srv', 'cid', 'r', 't')
if drop_session(ARGV[2]) == 0 then return false end
return {at[1] or '', at[2] or '', at[3] or '', at[4] or ''}
`;

/**
 * ARGV: P, server, cid, now, what ('id' or 'data'). Returns the id of the live session bound
 * there that expires first, the oldest sign-in (ties by id), or its data, which names the id
 * exactly (redis_store.ts); or nil. A member whose entry is gone, or bound elsewhere now (by a
 * bridge that wrote only sb:), is dropped from sc:.
 */
const FIND_SESSION_ID_BY_CID = `
local server, cid, now = ARGV[2], ARGV[3], tonumber(ARGV[4])
local bound = P .. 'sc:' .. server
local ids = redis.call('ZRANGEBYSCORE', bound, cid, cid)
local legacy = redis.call('HGET', P .. 'sb:' .. server, cid)
if legacy then ids[#ids + 1] = legacy end
local found, found_expiry
for _, id in ipairs(ids) do
  local expiry = redis.call('ZSCORE', P .. 'sz', id)
  local at = redis.call('HMGET', P .. 's:' .. id, 'srv', 'cid')
  if not expiry or at[1] ~= server or at[2] ~= cid then
    redis.call('ZREM', bound, id)
    if id == legacy then redis.call('HDEL', P .. 'sb:' .. server, cid) end
  else
    expiry = tonumber(expiry)
    if expiry >= now and (not found or expiry < found_expiry
      or (expiry == found_expiry and id < found)) then
      found, found_expiry = id, expiry
    end
  end
end
if not found then return false end
if ARGV[5] == 'data' then return redis.call('HGET', P .. 's:' .. found, 'd') end
return found
`;

/** ARGV: P, index key without prefix (e.g. 'su:<subject>'), now. Returns [data, token, ...]. */
const FIND_SESSIONS_IN_INDEX = `
local set = P .. ARGV[2]
local out = {}
for _, id in ipairs(redis.call('SMEMBERS', set)) do
  if not redis.call('ZSCORE', P .. 'sz', id) then
    redis.call('SREM', set, id)
  else
    local v = live_fields(P .. 'sz', 's:', id, ARGV[3], 'd', 't')
    if v then out[#out + 1] = v[1]; out[#out + 1] = v[2] end
  end
end
return out
`;

/**
 * ARGV: P, now, cursor score, cursor id, limit: one page of live sessions (list_page), their
 * data only: a listing has no use for the encrypted refresh tokens (types.ts, ListedSession).
 */
const LIST_SESSIONS = `return list_page('sz', 's:', { 'd' })`;

/**
 * ARGV: P, server, now, cursor ('0' for the first page), page size, index ('sc' or the legacy
 * 'sb'). One page of the live bound sessions of a server, through ZSCAN (HSCAN) of that index
 * (in one call, 100,000 of them held Redis for 360-780 ms): [next cursor ('0' after the last
 * page), sessionId, cid, run of OpenVPN ('' = none), ...]. A binding may come in two pages; one
 * present throughout comes in at least one.
 */
const LIST_BINDINGS = `
local index, page = ARGV[6], nil
if index == 'sc' then
  page = redis.call('ZSCAN', P .. 'sc:' .. ARGV[2], ARGV[4], 'COUNT', ARGV[5])
else
  page = redis.call('HSCAN', P .. 'sb:' .. ARGV[2], ARGV[4], 'COUNT', ARGV[5])
end
local bound, out = page[2], { page[1] }
for i = 1, #bound, 2 do
  -- ZSCAN gives member, score (id, cid); HSCAN field, value (cid, id).
  local id, cid = bound[i], bound[i + 1]
  if index ~= 'sc' then id, cid = cid, id end
  local score = redis.call('ZSCORE', P .. 'sz', id)
  if score and tonumber(score) >= tonumber(ARGV[3]) then
    out[#out + 1] = id; out[#out + 1] = cid
    out[#out + 1] = redis.call('HGET', P .. 's:' .. id, 'r') or ''
  end
end
return out
`;

/** ARGV: P, server, now. Returns [live sessions, live pending logins] of that server. */
const COUNT_LIVE = `
return {
  redis.call('ZCOUNT', P .. 'sv:' .. ARGV[2], ARGV[3], '+inf'),
  redis.call('ZCOUNT', P .. 'pv:' .. ARGV[2], ARGV[3], '+inf'),
}
`;

/**
 * ARGV: P, now, the expiry before which logins go (now less the grace, pending_grace.ts), limit,
 * '1' to hand on the sessions removed that held a refresh token ('0': not). Removes up to
 * `limit` expired logins and sessions: [pending, sessions], then, when asked, the id, data and
 * encrypted refresh token of each such session (SessionStore.sweep). A session without a token
 * costs one more HGET; one whose key ran out (no bridge swept it within SESSION_GRACE_MS) is
 * not handed on: its token is gone with it.
 */
const SWEEP = `
local limit = tonumber(ARGV[4])
local out = { 0, 0 }
local function hand_on(id)
  local key = P .. 's:' .. id
  local token = redis.call('HGET', key, 't')
  if not token then return end
  local data = redis.call('HGET', key, 'd')
  if data then out[#out + 1] = id; out[#out + 1] = data; out[#out + 1] = token end
end
out[1] = sweep(P .. 'pz', drop_pending, ARGV[3], limit)
out[2] = sweep(P .. 'sz', drop_session, ARGV[2], limit, ARGV[5] == '1' and hand_on or nil)
return out
`;

/**
 * ARGV: P, lock name, token, ttlMs. Takes the lock if nobody holds it: 1, else 0. It runs out
 * after ttlMs, so a holder that died frees it.
 */
const LOCK = `
if redis.call('SET', P .. 'lk:' .. ARGV[2], ARGV[3], 'NX', 'PX', ARGV[4]) then return 1 end
return 0
`;

/** ARGV: P, lock name, token. Frees the lock if this token still holds it. */
const UNLOCK = `
local key = P .. 'lk:' .. ARGV[2]
if redis.call('GET', key) == ARGV[3] then return redis.call('DEL', key) end
return 0
`;

/**
 * Each script's first line, which Redis 7.0 and later (and Valkey) read before running it. A
 * script without one is checked for OOM only at its first command that may grow memory, and
 * only if it wrote nothing before: every put here writes first with a DEL or ZREM (which
 * cannot grow memory, so are not checked), and so wrote on past maxmemory. With it, OOM is
 * checked as the script starts.
 *  - WRITES: may grow memory; refused as a whole with OOM (store unavailable, fail closed).
 *  - REMOVES: reads, and removes (DEL, ZREM, SREM, HDEL) and nothing else, so run even at OOM,
 *    as without a first line: a sweep, a delete, a logout or revoke frees memory, and a full
 *    Redis refusing them would keep what they end. Never give this flag to a script that adds
 *    or sets anything: `allow-oom` lets every command through.
 *  - READS: writes nothing (Redis refuses a write in it); runs at OOM and on a replica.
 * Keys stay undeclared (numberOfKeys 0): Redis checks declared keys only in a cluster, which the
 * store does not support.
 */
const WRITES = "#!lua";
const REMOVES = "#!lua flags=allow-oom";
const READS = "#!lua flags=no-writes";

const BODIES = {
  putPendings: [WRITES, PUT_PENDINGS],
  updatePending: [WRITES, UPDATE_PENDING],
  takePending: [REMOVES, TAKE_PENDING],
  deletePending: [REMOVES, DELETE_PENDING],
  deletePendingByCid: [REMOVES, DELETE_PENDING_BY_CID],
  listPending: [READS, LIST_PENDING],
  putSessions: [WRITES, PUT_SESSIONS],
  getSessions: [READS, GET_SESSIONS],
  deleteSession: [REMOVES, DELETE_SESSION],
  findSessionIdByCid: [REMOVES, FIND_SESSION_ID_BY_CID],
  findSessionsInIndex: [REMOVES, FIND_SESSIONS_IN_INDEX],
  listSessions: [READS, LIST_SESSIONS],
  listBindings: [READS, LIST_BINDINGS],
  countLive: [READS, COUNT_LIVE],
  sweep: [REMOVES, SWEEP],
  lock: [WRITES, LOCK],
  unlock: [REMOVES, UNLOCK],
} as const;

export type ScriptName = keyof typeof BODIES;

/**
 * Every script: its first line, then the shared helpers (each script is a separate Lua chunk).
 */
export const SCRIPTS: Record<ScriptName, string> = Object.fromEntries(
  Object.entries(BODIES).map(([name, [flags, body]]) => [name, flags + "\n" + HELPERS + body]),
) as Record<ScriptName, string>;
