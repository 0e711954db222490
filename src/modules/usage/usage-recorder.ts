import { type Kysely, sql } from 'kysely';
import type { Orm } from '../../db/orm.ts';
import type { Logger } from '../../shared/logger.ts';
import { uuid7 } from '../../shared/uuid7.ts';
import type { Outcome } from './usage-event.entity.ts';

export interface UsageRecord {
  requestId: string;
  providerId: string | null;
  providerSlug: string;
  servedByProviderId: string | null;
  keyId: string | null;
  clientId: string | null;
  method: string;
  pathTemplate: string;
  status: number;
  outcome: Outcome;
  attempts: number;
  fallback: string | null;
  totalMs: number;
  upstreamMs: number | null;
  requestBytes: number;
  responseBytes: number;
  model: string | null;
  promptTokens: number | null;
  completionTokens: number | null;
  cachedTokens: number | null;
  costMicros: number | null;
  pricedWithoutTokens: boolean;
}

const BATCH = 2000;
/** Dropped or written rows are cut from the front of the buffer once this many have gathered. */
const COMPACT_AFTER = 4096;

/** A usage event as stored: its id and time (Unix ms) are set. */
export type StoredUsageEvent = UsageRecord & { id: string; at: number };

/** Each stored column, the record field it comes from, and its SQL type. */
const FIELDS: [column: string, field: keyof StoredUsageEvent, type: string][] = [
  ['id', 'id', 'uuid'],
  ['at', 'at', 'double precision'],
  ['request_id', 'requestId', 'varchar'],
  ['provider_id', 'providerId', 'uuid'],
  ['provider_slug', 'providerSlug', 'varchar'],
  ['served_by_provider_id', 'servedByProviderId', 'uuid'],
  ['key_id', 'keyId', 'varchar'],
  ['client_id', 'clientId', 'uuid'],
  ['method', 'method', 'varchar'],
  ['path_template', 'pathTemplate', 'varchar'],
  ['status', 'status', 'int'],
  ['outcome', 'outcome', 'text'],
  ['attempts', 'attempts', 'int'],
  ['fallback', 'fallback', 'varchar'],
  ['total_ms', 'totalMs', 'double precision'],
  ['upstream_ms', 'upstreamMs', 'double precision'],
  ['request_bytes', 'requestBytes', 'bigint'],
  ['response_bytes', 'responseBytes', 'bigint'],
  ['model', 'model', 'varchar'],
  ['prompt_tokens', 'promptTokens', 'int'],
  ['completion_tokens', 'completionTokens', 'int'],
  ['cached_tokens', 'cachedTokens', 'int'],
  ['cost_micros', 'costMicros', 'bigint'],
  ['priced_without_tokens', 'pricedWithoutTokens', 'boolean'],
];

/**
 * A usage event as it waits in the buffer: its values in FIELDS order (id first, null until the
 * event is first written). An array rather than the record: it is what gets serialised, and
 * JSON.stringify writes an array of primitives about twice as fast as an object with 24 keys.
 */
type UsageRow = (string | number | boolean | null)[];

export function usageRow(record: UsageRecord, at: number, id: string | null = null): UsageRow {
  return [
    id,
    at,
    record.requestId,
    record.providerId,
    record.providerSlug,
    record.servedByProviderId,
    record.keyId,
    record.clientId,
    record.method,
    record.pathTemplate,
    record.status,
    record.outcome,
    record.attempts,
    record.fallback,
    record.totalMs,
    record.upstreamMs,
    record.requestBytes,
    record.responseBytes,
    record.model,
    record.promptTokens,
    record.completionTokens,
    record.cachedTokens,
    record.costMicros,
    record.pricedWithoutTokens,
  ];
}

/**
 * Buffers usage events in memory and writes them in batches, off the request path. When
 * PostgreSQL is down the buffer holds them (bounded: past `bufferMax` the oldest are dropped
 * and counted) and the next flush writes them. Each event carries its own id and the insert
 * ignores ids already written, so a batch retried after an uncertain failure is written once.
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
        await insertUsageRows(this.#orm.em.fork().getKysely() as Kysely<unknown>, batch);
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

const INSERT_COLUMNS = FIELDS.map(([column]) => column).join(', ');
const SELECT_VALUES = FIELDS.map(([column, , type], i) =>
  column === 'at' ? `to_timestamp((e->>${i})::double precision / 1000)` : `(e->>${i})::${type}`,
).join(', ');

/** Inserts usage events given as records (tests, benchmarks, imports): the same statement. */
export async function insertUsageEvents(db: Kysely<unknown>, events: StoredUsageEvent[]): Promise<void> {
  await insertUsageRows(
    db,
    events.map((e) => usageRow(e, e.at, e.id)),
  );
}

/**
 * One INSERT per batch whose rows travel as a single JSON parameter, an array of arrays
 * serialised by the native JSON.stringify and expanded by PostgreSQL. This costs the gateway
 * about a microsecond per event, far less than binding 24 parameters (or 24 arrays) per row.
 * The parameter is read as jsonb, parsed once: `->>` on plain json re-reads the text for every
 * field, which cost PostgreSQL about 100 µs of CPU per event against about 30 µs this way.
 */
async function insertUsageRows(db: Kysely<unknown>, rows: UsageRow[]): Promise<void> {
  // The same statement counts a write against each hour it touched, which tells the rollup
  // job (and reports) that those hours changed.
  const query = sql`with written as (
      insert into usage_events (${sql.raw(INSERT_COLUMNS)})
      select ${sql.raw(SELECT_VALUES)} from jsonb_array_elements(${JSON.stringify(rows)}::jsonb) as e
      on conflict (id) do nothing
      returning at)
    insert into usage_hours (hour, writes)
    select distinct date_trunc('hour', at, 'UTC'), 1 from written
    on conflict (hour) do update set writes = usage_hours.writes + 1`;
  await query.execute(db);
}
