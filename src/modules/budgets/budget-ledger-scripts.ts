/**
 * The budget ledger's Lua scripts. Each account is a hash (s: spent, r: reserved) and a sorted
 * set of holds (member "<id>:<amount>", score: when the hold lapses). KEYS come in pairs: hash,
 * holds. Holds that lapse (their replica died, or a reservation ran late) are released by the
 * next script that touches the account, and are left out of what a read reports.
 *
 * Amounts are integers of micro-units that Redis keeps as 64-bit integers, but Lua numbers are
 * doubles (exact only to 2^53) and Lua writes a number as "%.14g" ("1e+14", "-0"), which Redis
 * refuses as an integer. So the scripts never hand Redis a Lua number: amounts are parsed from
 * their decimal strings into two exact limbs (high digits, low 9 digits), added and compared
 * exactly, and written back as strings with HSET. No subtraction can go below zero and no sum
 * above Redis's maximum: every script checks everything first and writes only when all is well,
 * so a refusal leaves the ledger as it was.
 *
 * Scripts that change figures take a deadline in Redis time (ARGV, '0' for none): run after it,
 * they change nothing and answer an error starting with LATE. Their caller gave up (command
 * timeout) and decided alone; a late-running hold or settlement would count twice.
 */
export const LIB = `
local BASE = 1000000000
local function big(s)
  if s == false or s == nil then return { 0, 0 } end
  if type(s) ~= 'string' or #s > 19 or not (s == '0' or string.match(s, '^[1-9]%d*$')) then return nil end
  local n = #s
  if n <= 9 then return { 0, tonumber(s) } end
  return { tonumber(string.sub(s, 1, n - 9)), tonumber(string.sub(s, n - 8)) }
end
local function gt(a, b) return a[1] > b[1] or (a[1] == b[1] and a[2] > b[2]) end
local function add(a, b)
  local hi, lo = a[1] + b[1], a[2] + b[2]
  if lo >= BASE then return { hi + 1, lo - BASE } end
  return { hi, lo }
end
local function sub(a, b)
  if gt(b, a) then return { 0, 0 } end
  local hi, lo = a[1] - b[1], a[2] - b[2]
  if lo < 0 then return { hi - 1, lo + BASE } end
  return { hi, lo }
end
local function str(a)
  if a[1] == 0 then return string.format('%d', a[2]) end
  return string.format('%d%09d', a[1], a[2])
end
local ZERO = { 0, 0 }
local MAX = big('9223372036854775807')
local function bad(what) return redis.error_reply('ERR tollgate budget ledger: ' .. what) end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local function late(deadline)
  return deadline ~= '0' and now > tonumber(deadline)
end
local LATE = 'LATE ran after its caller gave up; nothing changed'
local function holdAmount(member)
  return big(string.match(member, ':(%d+)$') or '0')
end
local function lapsed(z)
  local members = redis.call('ZRANGEBYSCORE', z, '-inf', now)
  local total = ZERO
  for _, member in ipairs(members) do
    local amount = holdAmount(member)
    if amount then total = add(total, amount) end
  end
  return members, total
end
local function figures(h)
  local values = redis.call('HMGET', h, 's', 'r')
  return big(values[1]), big(values[2])
end
local function drop(z, members)
  for _, member in ipairs(members) do redis.call('ZREM', z, member) end
end
`;

/**
 * Holds on accounts, shared by RESERVE and the proxy's admission script. KEYS from `keyBase + 1`
 * come in pairs (hash, holds); ARGV from `argBase`: limit, blocks, ttl per account. `missing`
 * lists the accounts absent from Redis (to be seeded first); `planHolds` checks everything and
 * writes nothing (nil and an error reply on bad data), `commitHolds` writes: the lapsed holds
 * dropped, and the new hold added when `take` is true. Both return spent, reserved per account.
 */
export const HOLDS_LIB = `
local function missing(keyBase, count)
  local out = {}
  for i = 1, count do
    if redis.call('EXISTS', KEYS[keyBase + 2 * i - 1]) == 0 then out[#out + 1] = i end
  end
  return out
end
local function planHolds(keyBase, argBase, count, amount)
  local plan = {}
  local blocked = 0
  for i = 1, count do
    local h, z = KEYS[keyBase + 2 * i - 1], KEYS[keyBase + 2 * i]
    local base = argBase + (i - 1) * 3
    local limit, ttl = big(ARGV[base]), tonumber(ARGV[base + 2])
    if not limit or not ttl then return nil, bad('account ' .. i .. ' settings') end
    local spent, reserved = figures(h)
    if not spent or not reserved then return nil, bad('figures of ' .. h) end
    local members, gone = lapsed(z)
    reserved = sub(reserved, gone)
    if blocked == 0 and ARGV[base + 1] == '1' then
      if not gt(limit, spent) or (gt(amount, ZERO) and gt(add(add(spent, reserved), amount), limit)) then
        blocked = i
      end
    end
    if gt(add(reserved, amount), MAX) then return nil, bad('reserved would overflow on ' .. h) end
    plan[i] = { h = h, z = z, spent = spent, reserved = reserved, lapsed = members, ttl = ttl }
  end
  return plan, blocked
end
local function commitHolds(plan, take, amount, member, holdMs)
  local out = {}
  for i = 1, #plan do
    local p = plan[i]
    drop(p.z, p.lapsed)
    local reserved = p.reserved
    if take then
      reserved = add(reserved, amount)
      redis.call('ZADD', p.z, now + holdMs, member)
      redis.call('HSET', p.h, 'r', str(reserved))
      if p.ttl > 0 then
        redis.call('EXPIRE', p.h, p.ttl)
        redis.call('EXPIRE', p.z, p.ttl)
      end
    elseif #p.lapsed > 0 then
      redis.call('HSET', p.h, 'r', str(reserved))
    end
    out[#out + 1] = str(p.spent)
    out[#out + 1] = str(reserved)
  end
  return out
end
`;

/**
 * ARGV: amount, requireExisting, holdMember, holdMs, deadline, then per account: limit, blocks,
 * ttl. With requireExisting = '1', an account missing from Redis (a new period, or Redis lost its
 * data) stops the script with { -1, indexes... } so that the caller can seed it first.
 * Returns { blocked account index or 0, then spent, reserved per account }.
 */
export const RESERVE = `${LIB}${HOLDS_LIB}
if late(ARGV[5]) then return redis.error_reply(LATE) end
local amount = big(ARGV[1])
local holdMs = tonumber(ARGV[4])
if not amount then return bad('amount ' .. tostring(ARGV[1])) end
if not holdMs or holdMs < 0 then return bad('hold time ' .. tostring(ARGV[4])) end
local accounts = #KEYS / 2
if ARGV[2] == '1' then
  local absent = missing(0, accounts)
  if #absent > 0 then return { -1, unpack(absent) } end
end
local plan, blocked = planHolds(0, 6, accounts, amount)
if not plan then return blocked end
local out = commitHolds(plan, blocked == 0, amount, ARGV[3], holdMs)
table.insert(out, 1, blocked)
return out
`;

/**
 * ARGV: holdMember, actual, deadline, then per account: ttl. Releases the hold (unless it
 * already lapsed or never landed) and adds the actual cost. Returns spent, reserved per account.
 */
export const SETTLE = `${LIB}
if late(ARGV[3]) then return redis.error_reply(LATE) end
local member = ARGV[1]
local amount = holdAmount(member)
local actual = big(ARGV[2])
if not amount then return bad('hold ' .. tostring(member)) end
if not actual then return bad('actual cost ' .. tostring(ARGV[2])) end
local plan = {}
for i = 1, #KEYS / 2 do
  local h, z = KEYS[2 * i - 1], KEYS[2 * i]
  local ttl = tonumber(ARGV[3 + i])
  if not ttl then return bad('account ' .. i .. ' ttl') end
  local spent, reserved = figures(h)
  if not spent or not reserved then return bad('figures of ' .. h) end
  local members, gone = lapsed(z)
  reserved = sub(reserved, gone)
  -- A hold that lapsed was released with the lapsed ones above; only a live one is released here.
  local score = redis.call('ZSCORE', z, member)
  if score and tonumber(score) > now then reserved = sub(reserved, amount) end
  spent = add(spent, actual)
  if gt(spent, MAX) then return bad('spent would overflow on ' .. h) end
  plan[i] = { h = h, z = z, spent = spent, reserved = reserved, lapsed = members, ttl = ttl }
end
local out = {}
for i = 1, #plan do
  local p = plan[i]
  drop(p.z, p.lapsed)
  redis.call('ZREM', p.z, member)
  redis.call('HSET', p.h, 's', str(p.spent), 'r', str(p.reserved))
  if p.ttl > 0 then redis.call('EXPIRE', p.h, p.ttl) end
  out[#out + 1] = str(p.spent)
  out[#out + 1] = str(p.reserved)
end
return out
`;

/** Spent and reserved per account, leaving out holds that have lapsed. Changes nothing. */
export const READ = `${LIB}
local out = {}
for i = 1, #KEYS / 2 do
  local spent, reserved = figures(KEYS[2 * i - 1])
  if not spent or not reserved then return bad('figures of ' .. KEYS[2 * i - 1]) end
  local _, gone = lapsed(KEYS[2 * i])
  out[#out + 1] = str(spent)
  out[#out + 1] = str(sub(reserved, gone))
end
return out
`;

/**
 * KEYS: hash, holds. ARGV: spent, ttl. Starts an account unless it exists already. Returns
 * { 1 if it was started here else 0, spent, reserved (lapsed holds left out) }.
 */
export const SEED = `${LIB}
if not big(ARGV[1]) then return bad('spent ' .. tostring(ARGV[1])) end
local created = 0
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('HSET', KEYS[1], 's', ARGV[1], 'r', '0')
  if tonumber(ARGV[2]) > 0 then redis.call('EXPIRE', KEYS[1], ARGV[2]) end
  created = 1
end
local spent, reserved = figures(KEYS[1])
if not spent or not reserved then return bad('figures of ' .. KEYS[1]) end
local _, gone = lapsed(KEYS[2])
return { created, str(spent), str(sub(reserved, gone)) }
`;

/**
 * KEYS: hashes. ARGV: deadline, then the spend owed to each account (settled by this replica
 * while Redis was unavailable). An account that no longer exists is skipped: it is started again
 * from PostgreSQL, whose figure already holds that spend. Returns how many accounts were paid.
 */
export const PAY = `${LIB}
if late(ARGV[1]) then return redis.error_reply(LATE) end
local plan = {}
for i = 1, #KEYS do
  local owed = big(ARGV[1 + i])
  if not owed then return bad('owed ' .. tostring(ARGV[1 + i])) end
  if redis.call('EXISTS', KEYS[i]) == 1 then
    local spent = figures(KEYS[i])
    if not spent then return bad('figures of ' .. KEYS[i]) end
    spent = add(spent, owed)
    if gt(spent, MAX) then return bad('spent would overflow on ' .. KEYS[i]) end
    plan[#plan + 1] = { KEYS[i], str(spent) }
  end
end
for _, p in ipairs(plan) do redis.call('HSET', p[1], 's', p[2]) end
return #plan
`;
