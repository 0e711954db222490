import { RateLimiterMemory, RateLimiterRedis, type RateLimiterRes } from 'rate-limiter-flexible';
import type { Logger } from '../../shared/logger.ts';
import { type RedisGate, RedisScriptError } from './shared-state.ts';

/**
 * The counter script: rate-limiter-flexible's, with the expiry in milliseconds (periods can be
 * 100 ms; the library's script works in whole seconds and skips itself below one second) and a
 * deadline. ARGV: points, period ms, deadline (Redis ms, '0' for none). An increment that Redis
 * runs after its caller gave up (the caller timed out and its replica's share decided the call)
 * changes nothing: otherwise a frozen Redis wakes up to a backlog of increments for calls that
 * were never counted against it, and refuses calls that the real rate allows.
 */
const INCR_SCRIPT = `
if ARGV[3] ~= '0' then
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  if now > tonumber(ARGV[3]) then return redis.error_reply('LATE the caller gave up on this increment') end
end
local ms = ARGV[2]
redis.call('set', KEYS[1], 0, 'PX', ms, 'NX')
local consumed = redis.call('incrby', KEYS[1], ARGV[1])
local ttl = redis.call('pttl', KEYS[1])
if ttl == -1 then
  redis.call('pexpire', KEYS[1], ms)
  ttl = tonumber(ms)
end
return {consumed, ttl}`;

/** The store methods of the library that are not in its type declarations. */
interface Store {
  _upsert(rlKey: string, points: number, msDuration: number, forceExpire: boolean): Promise<unknown>;
  _get(rlKey: string): Promise<unknown>;
}
const store = RateLimiterRedis.prototype as unknown as Store;

type IncrCommand = {
  tollgateRateIncr(key: string, points: string, ms: string, deadline: string): Promise<unknown>;
};

/** Script failures are bugs: logged at error level, at most once a minute per limiter prefix. */
const lastBugLog = new Map<string, number>();

/**
 * rate-limiter-flexible's Redis limiter, with every command sent through the Redis gate (so a
 * known-unresponsive Redis costs nothing: the insurance limiter answers at once) and the
 * counter script above. Private methods of the library are overridden; they are its documented
 * store contract (`_upsert` returns [consumed, ttl ms], `_get` the same or null).
 */
class GatedRateLimiterRedis extends RateLimiterRedis {
  readonly #gate: RedisGate;
  readonly #logger: Logger;

  constructor(opts: ConstructorParameters<typeof RateLimiterRedis>[0], gate: RedisGate, logger: Logger) {
    super({ ...opts, storeClient: gate.redis });
    this.#gate = gate;
    this.#logger = logger;
    gate.redis.defineCommand('tollgateRateIncr', { numberOfKeys: 1, lua: INCR_SCRIPT });
  }

  async _upsert(rlKey: string, points: number, msDuration: number, forceExpire = false): Promise<unknown> {
    const ms = String(Math.max(1, Math.round(msDuration)));
    try {
      return await this.#gate.run('rate limit', (redis) =>
        forceExpire
          ? store._upsert.call(this, rlKey, points, msDuration, true)
          : (redis as unknown as IncrCommand).tollgateRateIncr(
              rlKey,
              String(points),
              ms,
              this.#gate.deadline(),
            ),
      );
    } catch (error) {
      this.#reportBug(error);
      throw error;
    }
  }

  async _get(rlKey: string): Promise<unknown> {
    try {
      return await this.#gate.run('rate limit read', () => store._get.call(this, rlKey));
    } catch (error) {
      this.#reportBug(error);
      throw error;
    }
  }

  #reportBug(error: unknown): void {
    if (!(error instanceof RedisScriptError)) return;
    const now = Date.now();
    if (now - (lastBugLog.get(this.keyPrefix) ?? 0) < 60_000) return;
    lastBugLog.set(this.keyPrefix, now);
    this.#logger.error(
      { err: error, script: error.script, keyPrefix: this.keyPrefix },
      'rate limit script failed (a bug): this replica enforces its share of the limit meanwhile',
    );
  }
}

export type SharedLimiter = Pick<RateLimiterMemory, 'consume' | 'get'> & { points: number };
export type { RateLimiterRes };

/**
 * The one rate-limiter factory (proxy limits and the API guard): `points` per `durationMs`,
 * shared by every replica through Redis when a gate is given, with an in-process insurance
 * limiter allowing this replica's share (points ÷ replicas) while Redis is unavailable.
 */
export function createSharedLimiter(options: {
  gate: RedisGate | undefined;
  logger: Logger;
  keyPrefix: string;
  points: number;
  durationMs: number;
  replicas: number;
}): SharedLimiter {
  const { gate, keyPrefix, points } = options;
  const duration = options.durationMs / 1000;
  if (!gate) return new RateLimiterMemory({ keyPrefix, points, duration });
  return new GatedRateLimiterRedis(
    {
      storeClient: gate.redis,
      keyPrefix,
      points,
      duration,
      insuranceLimiter: new RateLimiterMemory({
        keyPrefix: `${keyPrefix}:ins`,
        points: Math.max(1, Math.floor(points / options.replicas)),
        duration,
      }),
    },
    gate,
    options.logger,
  );
}
