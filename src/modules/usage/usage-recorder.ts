import type { Kysely } from 'kysely';
import type { Orm } from '../../db/orm.ts';
import type { Logger } from '../../shared/logger.ts';
import { uuid7 } from '../../shared/uuid7.ts';
import { type UsageRecord, type UsageRow, usageRow, writeUsageRows } from './usage-rows.ts';

const BATCH = 2000;
/** Dropped or written rows are cut from the front of the buffer once this many have gathered. */
const COMPACT_AFTER = 4096;

/**
 * Buffers usage events in memory and writes them in batches, off the request path. When
 * PostgreSQL is down the buffer holds them (bounded: past `bufferMax` the oldest are dropped
 * and counted) and the next flush writes them. Each event carries its own id, given at its first
 * write and kept, so a batch retried after an uncertain failure is written once (writeUsageRows).
 *
 * The buffer is an array with a moving start: `#start` and `#base` count events since the
 * recorder began, `#rows[0]` is event number `#base`, and events before `#start` are written or
 * dropped. Dropping then costs nothing per call even when the buffer is full, and a flush knows
 * exactly which events it wrote although drops and new records move the buffer meanwhile.
 */
export class UsageRecorder {
  readonly #orm: Orm;
  readonly #logger: Logger;
  readonly #bufferMax: number;
  #rows: UsageRow[] = [];
  #base = 0;
  #start = 0;
  #timer: NodeJS.Timeout | undefined;
  #flushing: Promise<void> | undefined;
  dropped = 0;
  written = 0;
  #listeners: ((record: UsageRecord) => void)[] = [];

  constructor(deps: { orm: Orm; logger: Logger; bufferMax: number }) {
    this.#orm = deps.orm;
    this.#logger = deps.logger;
    this.#bufferMax = deps.bufferMax;
  }

  get buffered(): number {
    return this.#base + this.#rows.length - this.#start;
  }

  start(intervalMs: number): void {
    this.#timer = setInterval(() => void this.flush(), intervalMs);
    this.#timer.unref();
  }

  /** In-process observers (live counters, metrics); they must be cheap. */
  onRecord(listener: (record: UsageRecord) => void): void {
    this.#listeners.push(listener);
  }

  record(record: UsageRecord): void {
    this.#rows.push(usageRow(record, Date.now()));
    const excess = this.buffered - this.#bufferMax;
    if (excess > 0) {
      this.#start += excess;
      this.dropped += excess;
      this.#compact();
    }
    for (const listener of this.#listeners) listener(record);
  }

  /** Writes everything buffered; concurrent calls share one run. */
  flush(): Promise<void> {
    this.#flushing ??= this.#flushAll().finally(() => {
      this.#flushing = undefined;
    });
    return this.#flushing;
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.flush();
    if (this.buffered > 0) {
      this.#logger.error({ unwritten: this.buffered }, 'usage events could not be written before shutdown');
    }
  }

  async #flushAll(): Promise<void> {
    while (this.buffered > 0) {
      const from = this.#start;
      const to = Math.min(this.#base + this.#rows.length, from + BATCH);
      const batch = this.#rows.slice(from - this.#base, to - this.#base);
      // Ids are given when an event is first written (off the request path) and kept for retries.
      for (const row of batch) row[0] ??= uuid7(row[1] as number);
      try {
        await writeUsageRows(
          await this.#orm.em.getConnection().getNativeClient(),
          this.#orm.em.fork().getKysely() as Kysely<unknown>,
          batch,
        );
      } catch (error) {
        this.#logger.warn(
          { err: (error as Error).message, buffered: this.buffered },
          'usage flush failed; will retry',
        );
        return;
      }
      // Drops (a full buffer) may have moved the start into or past this batch meanwhile: never
      // move it back, and the events of this batch counted as dropped were written after all.
      this.dropped -= Math.max(0, Math.min(this.#start, to) - from);
      this.#start = Math.max(this.#start, to);
      this.written += batch.length;
      this.#compact();
    }
  }

  /** Cuts written and dropped events from the front of the array once enough have gathered. */
  #compact(): void {
    const done = this.#start - this.#base;
    if (done >= COMPACT_AFTER && done * 2 >= this.#rows.length) {
      this.#rows = this.#rows.slice(done);
      this.#base = this.#start;
    }
  }
}
