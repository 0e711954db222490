import { type Redis, ReplyError } from 'ioredis';
import type { Logger } from '../../shared/logger.ts';
import { COMMAND_TIMEOUT_MS } from '../../shared/redis.ts';

/** Redis cannot be asked now (down, frozen, or known to be unresponsive): use the local fallback. */
export class RedisUnavailableError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'RedisUnavailableError';
  }
}

/**
 * Redis answered, with an error: a bug in a script or command of ours (or data it cannot read),
 * or our code around the command threw; not an outage. Callers log it at error level and still keep their promise locally.
 */
export class RedisScriptError extends Error {
  readonly script: string;
  constructor(script: string, cause: Error) {
    super(`redis script "${script}" failed: ${cause.message}`, { cause });
    this.name = 'RedisScriptError';
    this.script = script;
  }
}

// Replies that say the server cannot serve right now rather than that our command is wrong.
const UNAVAILABLE_REPLY = /^(LOADING|BUSY|MASTERDOWN|TRYAGAIN|CLUSTERDOWN|READONLY|OOM|NOSCRIPT)\b/;
/** ioredis's and the socket's ways of saying that Redis could not be reached or did not answer. */
const OUTAGE_MESSAGE =
  /timed out|Connection is closed|isn't writeable|max retries|not ready|ECONN|EPIPE|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|ENOTFOUND|EAI_AGAIN/i;
/** A script refused to run because its caller had already given up (see `deadline()`). */
const LATE_REPLY = /^LATE\b/;
/** Leaves a command this long to bring its answer back before its caller's timeout fires. */
const DEADLINE_MARGIN_MS = 100;
const PROBE_INTERVAL_MS = 1_000;
/** Clock samples are taken this often while Redis answers, to follow drift. */
const CLOCK_SAMPLE_INTERVAL_MS = 30_000;

/**
 * Shared state in Redis with a local fallback and one degraded signal: every Redis user on the
 * request path (rate limits, budget ledger, API guard, circuit snapshots, event bus) sends its
 * commands through here. Once a command times out (or the connection drops), the gate closes:
 * later commands fail at once with RedisUnavailableError, so each user goes straight to its
 * local fallback, and a frozen Redis costs the first call its command timeout instead of every
 * call a timeout per Redis step. A background probe (PING every second) reopens the gate when
 * Redis answers again, and tells the listeners (the budget ledger hands over what it did alone).
 *
 * The gate also knows Redis's clock (sampled with TIME), so that scripts can be given a deadline
 * in Redis's time: a command that runs after its caller gave up (Redis was frozen, and wakes up
 * with a backlog) does nothing, instead of counting a call that was decided elsewhere.
 */
export class RedisGate {
  readonly redis: Redis;
  readonly #logger: Logger;
  readonly #probeIntervalMs: number;
  #tripped = false;
  #probing: NodeJS.Timeout | undefined;
  #sampling: NodeJS.Timeout | undefined;
  #stopped = false;
  /** Redis's clock minus ours, in ms; null until measured. */
  #clockOffsetMs: number | null = null;
  readonly #listeners: (() => void)[] = [];
  readonly #onReady = () => {
    if (this.#tripped) void this.#probe();
  };
  readonly #onClose = () => this.#trip('connection closed');

  constructor(deps: { redis: Redis; logger: Logger; probeIntervalMs?: number }) {
    this.redis = deps.redis;
    this.#logger = deps.logger;
    this.#probeIntervalMs = deps.probeIntervalMs ?? PROBE_INTERVAL_MS;
    this.redis.on('ready', this.#onReady);
    this.redis.on('close', this.#onClose);
  }

  /** Measures Redis's clock and keeps it measured. Not awaited by anything on the request path. */
  async start(): Promise<void> {
    await this.#sampleClock().catch(() => undefined);
    const sample = () => {
      this.#sampling = setTimeout(async () => {
        if (this.available) await this.#sampleClock().catch(() => undefined);
        if (!this.#stopped) sample();
      }, CLOCK_SAMPLE_INTERVAL_MS);
      this.#sampling.unref();
    };
    sample();
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#probing);
    clearTimeout(this.#sampling);
    this.redis.off('ready', this.#onReady);
    this.redis.off('close', this.#onClose);
  }

  /** True when commands are sent to Redis (connected, and not known to be unresponsive). */
  get available(): boolean {
    return !this.#tripped && this.redis.status === 'ready';
  }

  /** The one degraded signal: true while Redis's users decide from their local fallbacks. */
  get degraded(): boolean {
    return !this.available;
  }

  /** Runs `listener` each time Redis answers again after the gate was closed. */
  onRecovered(listener: () => void): void {
    this.#listeners.push(listener);
  }

  /**
   * Redis time (ms) after which a command sent now has been given up by its caller (its command
   * timeout, less a margin for the answer to travel back); '0' (none) until the clock is known.
   * Scripts compare it with redis.call('TIME') and refuse to run late.
   */
  deadline(): string {
    if (this.#clockOffsetMs === null) return '0';
    return String(Math.floor(Date.now() + this.#clockOffsetMs + COMMAND_TIMEOUT_MS - DEADLINE_MARGIN_MS));
  }

  /**
   * Runs `command` unless the gate is closed. Connection failures and timeouts close the gate and
   * become RedisUnavailableError; an error reply (a script's bug) becomes RedisScriptError and
   * leaves the gate open (Redis is fine).
   */
  async run<T>(name: string, command: (redis: Redis) => Promise<T>): Promise<T> {
    if (!this.available) throw new RedisUnavailableError(`redis unavailable (skipped ${name})`);
    try {
      return await command(this.redis);
    } catch (error) {
      throw this.classify(name, error);
    }
  }

  /** What a failed Redis command means: an outage (closing the gate) or a bug. */
  classify(name: string, error: unknown): Error {
    if (error instanceof RedisUnavailableError || error instanceof RedisScriptError) return error;
    const err = error instanceof Error ? error : new Error(String(error));
    if (err instanceof ReplyError && LATE_REPLY.test(err.message)) {
      // Redis ran it after the deadline: it was stalled, and the command changed nothing.
      return new RedisUnavailableError(`redis ran ${name} too late`, { cause: err });
    }
    const outage =
      err instanceof ReplyError
        ? UNAVAILABLE_REPLY.test(err.message)
        : OUTAGE_MESSAGE.test(err.message) || err.name === 'MaxRetriesPerRequestError';
    // Anything else (an error reply, or an exception in our own code around the command) is a bug.
    if (!outage) return new RedisScriptError(name, err);
    this.#trip(err.message);
    return new RedisUnavailableError(`redis unavailable (${name}): ${err.message}`, { cause: err });
  }

  #trip(reason: string): void {
    // A client closed on purpose (shutdown) is no outage.
    if (this.#tripped || this.#stopped || this.redis.status === 'end') return;
    this.#tripped = true;
    this.#logger.warn(
      { err: reason },
      'redis unresponsive: limits, budgets and events use their local fallbacks until it answers',
    );
    this.#scheduleProbe();
  }

  #scheduleProbe(): void {
    clearTimeout(this.#probing);
    if (this.#stopped) return;
    this.#probing = setTimeout(() => void this.#probe(), this.#probeIntervalMs);
    this.#probing.unref();
  }

  async #probe(): Promise<void> {
    if (!this.#tripped || this.#stopped) return;
    if (this.redis.status !== 'ready') {
      this.#scheduleProbe();
      return;
    }
    try {
      await this.#sampleClock();
    } catch {
      this.#scheduleProbe();
      return;
    }
    if (!this.#tripped) return;
    this.#tripped = false;
    clearTimeout(this.#probing);
    this.#logger.info('redis answers again: limits, budgets and events are shared again');
    for (const listener of this.#listeners) {
      try {
        listener();
      } catch (error) {
        this.#logger.error({ err: error }, 'redis recovery listener failed');
      }
    }
  }

  /** One TIME round trip: Redis's clock against ours, within half the round trip. */
  async #sampleClock(): Promise<void> {
    const sent = Date.now();
    const [seconds, micros] = (await this.redis.time()) as [string | number, string | number];
    const received = Date.now();
    const redisMs = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
    // A slow sample says little about the clock: keep the previous one.
    if (this.#clockOffsetMs === null || received - sent < 50) {
      this.#clockOffsetMs = redisMs - Math.round((sent + received) / 2);
    }
  }
}
