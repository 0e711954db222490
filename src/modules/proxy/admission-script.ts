/**
 * The admission script: one evaluation decides the client's rate limit, the provider's rate
 * limit and the budget holds of a call, so that an admitted call waits on one Redis round trip.
 * It keeps the very state the step-by-step path keeps (and reads): the rate-limit counters of
 * `RateLimits` (rate-limiter-flexible's keys, a counter with a PX expiry per window) and the
 * budget ledger's accounts and holds (budget-ledger-scripts.ts), so a fallback provider, the
 * console's headroom, settlements and replicas on either path see one set of figures.
 */
import { HOLDS_LIB, LIB } from '../budgets/budget-ledger-scripts.ts';

/**
 * A limit of `points` per window of `ms` plus `burst` per window of `burstMs`, as
 * `RateLimits.#take` decides it: every call counts in the steady window (opened by the first call
 * after the last one closed); one the steady window cannot take counts in the burst window. A
 * refused call counts too (rate-limiter-flexible's counters do), which changes no decision.
 * Returns allowed (1 or 0), remaining (what both windows still admit), reset ms.
 */
const RATE_LIB = `
local function counter(key, ms)
  redis.call('SET', key, 0, 'PX', ms, 'NX')
  local used = redis.call('INCRBY', key, 1)
  local ttl = redis.call('PTTL', key)
  if ttl == -1 then
    redis.call('PEXPIRE', key, ms)
    ttl = tonumber(ms)
  end
  return used, ttl
end
local function unused(key, points)
  local used = redis.call('GET', key)
  if not used then return points end
  return math.max(points - tonumber(used), 0)
end
local function take(steadyKey, burstKey, points, ms, burst, burstMs)
  local used, ttl = counter(steadyKey, ms)
  if used <= points then
    local extra = 0
    if burst > 0 then extra = unused(burstKey, burst) end
    return 1, points - used + extra, ttl
  end
  if burst == 0 then return 0, 0, math.max(ttl, 1) end
  local burstUsed, burstTtl = counter(burstKey, burstMs)
  if burstUsed <= burst then return 1, burst - burstUsed, ttl end
  return 0, 0, math.max(math.min(ttl, burstTtl), 1)
end
local function limitArgs(at)
  return tonumber(ARGV[at]), ARGV[at + 1], tonumber(ARGV[at + 2]), ARGV[at + 3]
end
`;

/** What the script answers when it decided (see ADMIT). */
export const ADMITTED = 0;
export const CLIENT_REFUSED = 1;
export const BUDGET_REFUSED = 2;
export const PROVIDER_REFUSED = 3;
/** Some budget accounts are not in Redis yet: seed them, then run the script again. */
export const ACCOUNTS_MISSING = -1;

/**
 * KEYS: client steady, client burst, provider steady, provider burst (any name when that limit
 * is not decided here), then a (hash, holds) pair per budget account.
 * ARGV: [1] deadline (Redis ms, '0' for none); [2-5] client: points ('0': not decided here),
 * period ms, burst, burst ms; [6-9] provider, the same; [10] accounts; [11] amount, [12]
 * requireExisting, [13] hold member, [14] hold ms; from [15] limit, blocks, ttl per account.
 *
 * In the order of the step-by-step path: the client's limit (a refusal stops there: no hold,
 * the provider's limit untouched), then the budgets (a refusal leaves the provider's limit
 * untouched: a fallback may serve the call), then the provider's limit (a refusal leaves no
 * hold: a fallback takes its own). Answers { -1, account indexes } before changing anything when
 * an account is missing and requireExisting is '1', else { code, client allowed, remaining,
 * reset ms, provider allowed, remaining, reset ms, blocked account index or 0, then spent,
 * reserved per account (when the budgets were decided) }.
 */
export const ADMIT = `${LIB}${HOLDS_LIB}${RATE_LIB}
if late(ARGV[1]) then return redis.error_reply(LATE) end
local count = tonumber(ARGV[10])
local amount = big(ARGV[11])
local holdMs = tonumber(ARGV[14])
if not count or not amount then return bad('admission amount ' .. tostring(ARGV[11])) end
if not holdMs or holdMs < 0 then return bad('hold time ' .. tostring(ARGV[14])) end
if count > 0 and ARGV[12] == '1' then
  local absent = missing(4, count)
  if #absent > 0 then return { -1, unpack(absent) } end
end
local out = { 0, 1, 0, 0, 1, 0, 0, 0 }
local points, ms, burst, burstMs = limitArgs(2)
if points > 0 then
  out[2], out[3], out[4] = take(KEYS[1], KEYS[2], points, ms, burst, burstMs)
  if out[2] == 0 then
    out[1] = 1
    return out
  end
end
local plan, blocked = planHolds(4, 15, count, amount)
if not plan then return blocked end
local code = 0
if blocked > 0 then
  code = 2
else
  points, ms, burst, burstMs = limitArgs(6)
  if points > 0 then
    out[5], out[6], out[7] = take(KEYS[3], KEYS[4], points, ms, burst, burstMs)
    if out[5] == 0 then code = 3 end
  end
end
out[1] = code
out[8] = blocked
local holds = commitHolds(plan, code == 0, amount, ARGV[13], holdMs)
for _, figure in ipairs(holds) do out[#out + 1] = figure end
return out
`;
