/**
 * The Lua scripts of the shared ledger. Each runs atomically in Redis, so one
 * round trip checks and reserves every level a request belongs to (budgets of
 * key, team and customer; request and token limits), and another settles it.
 * All keys of one request carry the same hash tag (redis-keys.ts): one Redis
 * Cluster slot. Time is Redis's own (TIME), so instances with skewed clocks
 * agree on windows and leases. Every step is O(log n) in the entries kept,
 * but for dropping what expired (amortised O(1) per entry).
 *
 * Per budget level:  S  hash spend/tokens/requests of the current window
 *                    R  zset of reservations: member "<request id>|<usd>", score = lease expiry
 *                    H  hash: held = the sum of R
 * Per rate limit:    C  hash: sum (sliding) or level/ts (token bucket)
 *                    W  zset, sliding window log: member "<request id>|<amount>", score = time
 *                    F  zset of tokens in flight (token limits): "<request id>|<tokens>", score = lease expiry
 *                    G  hash: held = the sum of F
 * Per hash tag:      Q  zset of requests admitted and not settled: member request id, score = admission time
 *                    D  "<request id>" done marker, for settlements of requests admitted while Redis was away
 *
 * Settling removes the request from Q (or sets D): a settlement that arrives twice
 * (a retry after a timeout) is charged once.
 * @see https://redis.io/docs/latest/develop/interact/programmability/eval-intro/
 */

const COMMON = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)

local function amount(member)
  local bar = string.find(member, '|', 1, true)
  return tonumber(string.sub(member, bar + 1)) or 0
end

-- What the leases of zset z hold (their sum is kept in hash h): lapsed ones dropped first.
local function held(z, h)
  local sum = tonumber(redis.call('HGET', h, 'held') or '0')
  local lapsed = redis.call('ZRANGEBYSCORE', z, '-inf', now)
  if #lapsed > 0 then
    for _, member in ipairs(lapsed) do sum = sum - amount(member) end
    redis.call('ZREMRANGEBYSCORE', z, '-inf', now)
    if sum < 1e-9 or redis.call('ZCARD', z) == 0 then sum = 0 end
    redis.call('HSET', h, 'held', tostring(sum))
  end
  return sum
end

local function lease(z, h, member, n, ms)
  if redis.call('ZADD', z, now + ms, member) == 1 then redis.call('HINCRBYFLOAT', h, 'held', n) end
  redis.call('PEXPIRE', z, ms * 2)
  redis.call('PEXPIRE', h, ms * 2)
end

local function release(z, h, member)
  if redis.call('ZREM', z, member) == 1 then
    local left = tonumber(redis.call('HINCRBYFLOAT', h, 'held', -amount(member)))
    if left < 1e-9 or redis.call('ZCARD', z) == 0 then redis.call('HSET', h, 'held', 0) end
  end
end

-- Sliding window: drops entries that left the window, returns the sum of the others.
local function slide(c, w, window)
  local cutoff = now - window
  local old = redis.call('ZRANGEBYSCORE', w, '-inf', cutoff)
  if #old > 0 then
    local gone = 0
    for _, member in ipairs(old) do gone = gone + amount(member) end
    redis.call('ZREMRANGEBYSCORE', w, '-inf', cutoff)
    if redis.call('ZCARD', w) == 0 then
      redis.call('HSET', c, 'sum', 0)
      return 0
    end
    return redis.call('HINCRBY', c, 'sum', -gone)
  end
  return tonumber(redis.call('HGET', c, 'sum') or '0')
end

-- Sliding window: ms until its newest entry leaves it (0: empty).
local function window_reset(w, window)
  local last = redis.call('ZRANGE', w, -1, -1, 'WITHSCORES')
  if #last < 2 then return 0 end
  return math.max(0, tonumber(last[2]) + window - now)
end

-- Token bucket: the level now (refilled at limit per window).
local function level(c, limit, window)
  local v = redis.call('HMGET', c, 'level', 'ts')
  local lv = tonumber(v[1])
  local ts = tonumber(v[2])
  if lv == nil or ts == nil then return limit end
  if now > ts then lv = lv + (now - ts) * limit / window end
  if lv > limit then lv = limit end
  return lv
end

local function take(c, limit, window, n)
  local lv = level(c, limit, window) - n
  redis.call('HSET', c, 'level', tostring(lv), 'ts', now)
  redis.call('PEXPIRE', c, window * 2)
end

-- Adds an amount to a sliding window log; false when the member was there already.
local function log_add(c, w, window, at, member, n)
  local added = redis.call('ZADD', w, at, member) == 1
  if added then redis.call('HINCRBY', c, 'sum', n) end
  redis.call('PEXPIRE', w, window * 2)
  redis.call('PEXPIRE', c, window * 2)
  return added
end

-- Limit j: its keys C W F G (from KEYS[c0 + 1]) and its kind, algorithm, limit and window (from ARGV[l0 + 1]).
local function limit_at(c0, l0, j)
  local kb = c0 + (j - 1) * 4
  local ab = l0 + (j - 1) * 4
  return KEYS[kb + 1], KEYS[kb + 2], KEYS[kb + 3], KEYS[kb + 4], ARGV[ab + 1], ARGV[ab + 2], tonumber(ARGV[ab + 3]), tonumber(ARGV[ab + 4])
end
`;

/** Settling one request (settle), and the settlements a call starts with (settle_all). */
const SETTLE = `
local function settle(k0, p0)
  local id = ARGV[p0 + 1]
  local mode = ARGV[p0 + 2]
  local cost = tonumber(ARGV[p0 + 3])
  local tokens = tonumber(ARGV[p0 + 4])
  local usd = ARGV[p0 + 5]
  local reserved_tokens = ARGV[p0 + 6]
  local na = tonumber(ARGV[p0 + 7])
  local nl = tonumber(ARGV[p0 + 8])
  local done_ttl = ARGV[p0 + 9]
  local admitted = tonumber(ARGV[p0 + 10])
  local a0 = p0 + 10
  local l0 = a0 + na
  local c0 = k0 + 2 + na * 3
  if mode == 'r' then
    if redis.call('ZREM', KEYS[k0 + 1], id) == 0 then return {0} end
  else
    if not redis.call('SET', KEYS[k0 + 2], '1', 'NX', 'PX', done_ttl) then return {0} end
    -- An admission that timed out here may still have run: its reservations go too.
    redis.call('ZREM', KEYS[k0 + 1], id)
  end
  local out = {1}
  for i = 1, na do
    local b = k0 + 2 + (i - 1) * 3
    local s, r, h = KEYS[b + 1], KEYS[b + 2], KEYS[b + 3]
    release(r, h, id .. '|' .. usd)
    local spend
    if cost > 0 then spend = redis.call('HINCRBYFLOAT', s, 'spend', ARGV[p0 + 3]) else spend = redis.call('HGET', s, 'spend') or '0' end
    if tokens > 0 then redis.call('HINCRBY', s, 'tokens', tokens) end
    redis.call('HINCRBY', s, 'requests', 1)
    if ARGV[a0 + i] ~= '' then redis.call('PEXPIREAT', s, ARGV[a0 + i]) end
    out[#out + 1] = spend
  end
  for j = 1, nl do
    local c, w, f, g, kind, alg, limit, window = limit_at(c0, l0, j)
    if kind == 't' then
      release(f, g, id .. '|' .. reserved_tokens)
      if tokens > 0 then
        if alg == 's' then
          log_add(c, w, window, now, id .. '|' .. tokens, tokens)
        else
          take(c, limit, window, tokens)
        end
      end
    elseif mode == 'l' and admitted > now - window then
      -- Counted locally while Redis was away: the request joins the shared window when it admitted.
      if alg == 's' then
        log_add(c, w, window, math.min(admitted, now), id .. '|1', 1)
      else
        take(c, limit, window, 1)
      end
    end
  end
  return out
end

-- The settlements at the head of KEYS and ARGV (ARGV[1]: how many): their replies, and where what follows starts.
local function settle_all()
  local replies = {}
  local k0 = 0
  local p0 = 1
  for n = 1, tonumber(ARGV[1]) do
    replies[n] = settle(k0, p0)
    local na = tonumber(ARGV[p0 + 7])
    local nl = tonumber(ARGV[p0 + 8])
    k0 = k0 + 2 + na * 3 + nl * 4
    p0 = p0 + 10 + na + nl * 4
  end
  return replies, k0, p0
end
`;

/**
 * Admission, after the settlements of its hash tag that were waiting (as SETTLE_SCRIPT takes them: they
 * release their reservations before this check, in the same round trip). Then KEYS: Q, then per account
 * S R H, then per limit C W F G. ARGV: request id, lease ms, reserved usd (string), reserved tokens,
 * account count, limit count, forced ('1': reserve even over a limit, for a request the instance admitted
 * already, see optimistic-admission.ts; '' check), then per account: limit usd ('' none); then per limit:
 * kind (r|t), algorithm (s|b), limit, window ms.
 * Returns {admission, settlement replies} where admission is {1, spends..., helds..., readings} |
 * {2, limit index, wait ms, readings} | {3, account index, spend, held} | {4, as 1: forced, and a limit was
 * reached}, and readings are remaining and reset ms per limit.
 */
export const ADMIT_SCRIPT = `${COMMON}${SETTLE}
local settled, K, P = settle_all()

local function admit()
  local id = ARGV[P + 1]
  local lease_ms = tonumber(ARGV[P + 2])
  local usd = ARGV[P + 3]
  local tokens = tonumber(ARGV[P + 4])
  local na = tonumber(ARGV[P + 5])
  local nl = tonumber(ARGV[P + 6])
  local forced = ARGV[P + 7] == '1'
  local over = false
  local a0 = P + 7
  local l0 = a0 + na
  local c0 = K + 1 + na * 3

  -- Budgets: refused when spend plus what calls in flight reserved reaches the limit.
  local spends = {}
  local helds = {}
  for i = 1, na do
    local s, r, h = KEYS[K + 1 + (i - 1) * 3 + 1], KEYS[K + 1 + (i - 1) * 3 + 2], KEYS[K + 1 + (i - 1) * 3 + 3]
    local spend = tonumber(redis.call('HGET', s, 'spend') or '0')
    local held_usd = held(r, h)
    spends[i] = spend
    helds[i] = held_usd
    local limit = ARGV[a0 + i]
    if limit ~= '' and spend + held_usd >= tonumber(limit) then
      if not forced then return {3, i - 1, tostring(spend), tostring(held_usd)} end
      over = true
    end
  end

  -- Rate limits: each read once; the longest wait among those that are full.
  local used = {}
  local reset = {}
  local worst = -1
  local worst_wait = 0
  for j = 1, nl do
    local c, w, f, g, kind, alg, limit, window = limit_at(c0, l0, j)
    local counted
    if alg == 's' then
      counted = slide(c, w, window)
      -- A request limit's reset is read only if the request is refused (admitted, it is the window).
      if kind == 't' then reset[j] = window_reset(w, window) else reset[j] = false end
    else
      counted = limit - level(c, limit, window)
      reset[j] = counted > 0 and math.ceil(counted * window / limit) or 0
    end
    if kind == 't' then used[j] = counted + held(f, g) else used[j] = counted end
    if used[j] + 1 > limit then
      local wait
      if alg == 's' then
        wait = window
        local sum = used[j]
        local entries = redis.call('ZRANGE', w, 0, 999, 'WITHSCORES')
        for e = 1, #entries, 2 do
          sum = sum - amount(entries[e])
          if sum + 1 <= limit then
            wait = math.max(1, tonumber(entries[e + 1]) + window - now)
            break
          end
        end
      else
        wait = math.max(1, math.ceil((used[j] + 1 - limit) * window / limit))
      end
      if wait > worst_wait then
        worst = j
        worst_wait = wait
      end
    end
  end

  -- Appends remaining and reset ms of every limit.
  local function readings(out)
    for j = 1, nl do
      local _, w, _, _, _, _, limit, window = limit_at(c0, l0, j)
      if reset[j] == false then reset[j] = window_reset(w, window) end
      out[#out + 1] = math.max(0, math.floor(limit - used[j]))
      out[#out + 1] = math.floor(reset[j])
    end
    return out
  end

  if worst > 0 then
    if not forced then return readings({2, worst - 1, math.floor(worst_wait)}) end
    over = true
  end

  -- Admitted: reserve on every level.
  redis.call('ZREMRANGEBYSCORE', KEYS[K + 1], '-inf', now - 86400000)
  redis.call('ZADD', KEYS[K + 1], now, id)
  redis.call('PEXPIRE', KEYS[K + 1], 86400000)
  local amount_usd = tonumber(usd)
  for i = 1, na do
    if amount_usd > 0 then
      lease(KEYS[K + 1 + (i - 1) * 3 + 2], KEYS[K + 1 + (i - 1) * 3 + 3], id .. '|' .. usd, amount_usd, lease_ms)
      helds[i] = helds[i] + amount_usd
    end
  end
  for j = 1, nl do
    local c, w, f, g, kind, alg, limit, window = limit_at(c0, l0, j)
    if kind == 'r' then
      if alg == 's' then
        log_add(c, w, window, now, id .. '|1', 1)
        reset[j] = window
      else
        take(c, limit, window, 1)
        reset[j] = math.ceil((limit - level(c, limit, window)) * window / limit)
      end
      used[j] = used[j] + 1
    elseif tokens > 0 then
      lease(f, g, id .. '|' .. ARGV[P + 4], tokens, lease_ms)
      used[j] = used[j] + tokens
    end
  end
  local out = {over and 4 or 1}
  for i = 1, na do out[#out + 1] = tostring(spends[i]) end
  for i = 1, na do out[#out + 1] = tostring(helds[i]) end
  return readings(out)
end

return {admit(), settled}
`;

/**
 * Settlements, several in one call (one hash tag: one slot). ARGV[1]: how many; then each settlement's
 * keys and arguments follow the previous one's.
 * Per settlement, KEYS: Q, D, then per account S R H, then per limit C W F G (every limit of the admission).
 * ARGV: request id, mode ('r': admitted by Redis; 'l': admitted locally while Redis was away),
 * cost usd, tokens, reserved usd (string, as admitted), reserved tokens (string, as admitted), account count,
 * limit count, done-marker ttl ms, admitted at (epoch ms, mode 'l'), then per account: S expiry ('' none);
 * then per limit: kind, algorithm, limit, window ms.
 * Returns, per settlement, {0} when the request was settled already, else {1, spend per account...}.
 */
export const SETTLE_SCRIPT = `${COMMON}${SETTLE}
return (settle_all())
`;

/**
 * Seeds one window's spend from the store when Redis has none (a fresh or flushed Redis).
 * KEYS: S. ARGV: spend, tokens, requests, S expiry ('' none). Returns 1 when seeded.
 */
export const SEED_SCRIPT = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'spend', ARGV[1], 'tokens', ARGV[2], 'requests', ARGV[3])
if ARGV[4] ~= '' then redis.call('PEXPIREAT', KEYS[1], ARGV[4]) end
return 1
`;

/**
 * Reads one budget level (the management API, metrics). KEYS: S R H.
 * Returns {spend, tokens, requests, held}.
 */
export const READ_SCRIPT = `${COMMON}
local v = redis.call('HMGET', KEYS[1], 'spend', 'tokens', 'requests')
return {v[1] or '0', v[2] or '0', v[3] or '0', tostring(held(KEYS[2], KEYS[3]))}
`;
