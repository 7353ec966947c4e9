/**
 * The Lua scripts behind leases and cross-instance work. Each runs atomically in Redis.
 *
 * Keys (P = sessions.key_prefix followed by "c:"; <s> = an OpenVPN server name):
 *   P lease:<s>   string  "<instance>#<token>" of the holder; PX = the lease
 *   P fence:<s>   counter the fencing token, bumped at each takeover
 *   P q:<s>       list    work keys waiting for the holder (LPUSH, taken from the right)
 *   P run:<s>     list    work keys taken by a holder and not finished
 *   P w:<s>:<k>   string  the work item (JSON); PX = its deadline plus a grace (work_queue.ts)
 *   P o:<s>:<k>   string  its outcome; PX = a short while, for the requester to read
 *   channel P n:<s>       "a new item": wakes the holder
 *   channel P d:<s>       "<k> has an outcome": wakes the instance waiting for it
 * Read, never written, by ACQUIRE: a bridge's claim on a server name outside any cluster
 * (server_name_claims.ts, serverNameClaimKey; not under P).
 *
 * Each starts with a shebang (`#!lua`), so Redis 7 decides before the script runs whether it may
 * run: one that may write is refused whole while Redis is over maxmemory (OOM), where one without
 * a shebang is stopped only at its first write that may grow memory, and only if nothing was
 * written before it; whatever ran up to there (a PUBLISH, a DEL) stays done. RENEW and RELEASE
 * only extend or delete a key (`flags=allow-oom`): a full Redis does not take away every lease,
 * and with it every management link. Keys are reached that are not in KEYS (TAKE, ACQUIRE's claim
 * key), which a standalone Redis allows; Redis Cluster is not supported.
 *
 * A script that fails midway is not undone, so each checks first and publishes before it writes:
 * an ACL user without the channels (`&<key_prefix>c:*`) is refused at the PUBLISH, before any
 * write (before, ENQUEUE had queued its item and then failed, so its caller was told "undelivered"
 * while the holder carried the item out).
 */

/**
 * KEYS: lease, fence, the server name's claim by a bridge outside the cluster
 * (server_name_claims.ts). ARGV: instance id, lease ms. Returns the new token; false when another
 * instance holds the lease; the claim's holder when a bridge outside the cluster claims the name,
 * which is not leased then: the two would end, unbind and kill each other's clients.
 */
export const ACQUIRE = `#!lua
local claimed = redis.call('GET', KEYS[3])
if claimed then return claimed end
if redis.call('EXISTS', KEYS[1]) == 1 then return false end
local token = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], ARGV[1] .. '#' .. token, 'PX', ARGV[2])
return token
`;

/** Compare-and-extend. KEYS: lease. ARGV: "<instance>#<token>", lease ms. */
export const RENEW = `#!lua flags=allow-oom
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
`;

/** Compare-and-delete. KEYS: lease. ARGV: "<instance>#<token>". */
export const RELEASE = `#!lua flags=allow-oom
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
return 1
`;

/**
 * Queues an item once per key: a request with the key of one queued, running or answered
 * joins it instead (work_item.ts, workKey: the same sign-in's answer; other keys are fresh
 * per request).
 * KEYS: item, outcome, queue. ARGV: key, item JSON, ttl ms, channel. Returns 1 when queued, 0
 * when joined.
 */
export const ENQUEUE = `#!lua
if redis.call('EXISTS', KEYS[1]) == 1 or redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
redis.call('PUBLISH', ARGV[4], '1')
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
redis.call('LPUSH', KEYS[3], ARGV[1])
return 1
`;

/**
 * Moves waiting keys, oldest first, into the running list while it holds fewer than ARGV[3],
 * and returns every running item as key, item, outcome ('' when absent) and the item's PTTL
 * (negative when absent): its deadline is measured by Redis's clock, the one clock every
 * instance shares, not by the requester's or the holder's wall clock. Items still
 * running when a holder dies are thus seen again by the next holder; the running list never
 * outgrows one batch, so none of them is hidden behind newer work (read from its head, a longer
 * list showed the newest, and the oldest waited while new work kept coming). KEYS: queue,
 * running. ARGV: P, server, batch size.
 */
export const TAKE = `#!lua
local limit = tonumber(ARGV[3])
for i = 1, limit - redis.call('LLEN', KEYS[2]) do
  if not redis.call('RPOPLPUSH', KEYS[1], KEYS[2]) then break end
end
local keys = redis.call('LRANGE', KEYS[2], -limit, -1)
local out = {}
for _, key in ipairs(keys) do
  local suffix = ':' .. ARGV[2] .. ':' .. key
  out[#out + 1] = key
  out[#out + 1] = redis.call('GET', ARGV[1] .. 'w' .. suffix) or ''
  out[#out + 1] = redis.call('GET', ARGV[1] .. 'o' .. suffix) or ''
  out[#out + 1] = redis.call('PTTL', ARGV[1] .. 'w' .. suffix)
end
return out
`;

/**
 * Records an outcome, only for the holder whose token is still the newest: a holder that lost
 * its lease (paused, cut off) cannot overwrite what its successor did. KEYS: fence, running,
 * outcome, item. ARGV: token, key, outcome, ttl ms, channel. Returns 1 when recorded.
 */
export const RECORD = `#!lua
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('PUBLISH', ARGV[5], ARGV[2])
redis.call('SET', KEYS[3], ARGV[3], 'PX', ARGV[4], 'NX')
redis.call('LREM', KEYS[2], 0, ARGV[2])
redis.call('DEL', KEYS[4])
return 1
`;
