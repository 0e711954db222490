import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { Reloader } from './reloader.ts';

/**
 * A row as a mirror sees it: its version, and what is held of it (null when it is not held any
 * more: a revoked client, a revoked key). A row that no longer exists has version Infinity.
 */
export interface MirrorRow<V> {
  id: string;
  version: number;
  value: V | null;
}

/** Where a mirror reads its rows. */
export interface MirrorSource<V> {
  /** The rows with these ids as they are now (an id without a row is gone for good). */
  loadMany(ids: string[]): Promise<MirrorRow<V>[]>;
  /** The held rows whose id comes after `afterId` (every one when null), by id, at most `limit`. */
  loadPage(afterId: string | null, limit: number): Promise<MirrorRow<V>[]>;
}

/** What a change event tells a mirror. */
export interface MirrorChange {
  id: string;
  /** The row's version after the change, when the publisher knows it. */
  version?: number | undefined;
  /** The row stopped being held: it leaves at once, before any read. */
  dropped?: boolean;
  /** ...and never comes back (a revoked client, a deleted provider). */
  final?: boolean;
}

/** Counters for tests, metrics and benchmarks: what the mirror has done since it started. */
export interface MirrorStats {
  /** Full (paged) reloads completed. */
  fullReloads: number;
  /** Pages read by full reloads. */
  pagesLoaded: number;
  /** Queries that loaded changed rows by id. */
  rowLoads: number;
  /** Rows read by those queries. */
  rowsLoaded: number;
  /** Rows held now. */
  held: number;
  /** The longest the mirror held the event loop in one step (one page or one batch of rows), in ms. */
  longestStepMs: number;
  /** The same step's CPU time on the main thread, in ms: on a busy machine, what the wall time is not. */
  longestStepCpuMs: number;
}

interface Held<V> {
  version: number;
  value: V;
}

/** A row's state as one read saw it, for merging reads of different ages. */
interface Seen<V> {
  version: number;
  value: V | null;
}

export interface MirrorOptions<V> {
  source: MirrorSource<V>;
  /** The secondary key a value is found by (a client key's prefix, a provider's slug). */
  keyOf: (value: V) => string;
  idOf: (value: V) => string;
  /** Rows per page of a full reload and per query of changed rows. */
  pageSize?: number;
  onError: (error: unknown, what: 'reload' | 'rows') => void;
}

/** Small enough that one page is a few ms of work on a busy machine; 100,000 rows take 200 queries. */
const DEFAULT_PAGE_SIZE = 500;

/**
 * An in-memory copy of a configuration table that costs O(1) per change. A change event names
 * one row: the mirror drops it at once when the event says it stopped being held, and otherwise
 * reads that row alone; changes that arrive together are read in one query. Versions decide
 * between reads of different ages (events cross replicas out of order): an older version never
 * replaces a newer one, and a row dropped for good stays dropped. The full reload, the safety
 * net for events lost while Redis was away, reads pages by id, yielding to the event loop between
 * pages, builds the new copy aside and swaps it in at once, keeping what events changed while it
 * read when that is newer.
 */
export class ConfigMirror<V> {
  readonly #source: MirrorSource<V>;
  readonly #keyOf: (value: V) => string;
  readonly #idOf: (value: V) => string;
  readonly #pageSize: number;
  #byId = new ShardedMap<Held<V>>();
  #byKey = new ShardedMap<V[]>();
  /** Rows dropped, by the version they were dropped at (Infinity: for good), and when. */
  readonly #dropped = new Map<string, { version: number; epoch: number }>();
  /** Counts full reloads started: a drop older than the last swapped-in reload can be forgotten. */
  #epoch = 0;
  /** Rows changed by events while a full reload reads (undefined when none is running). */
  #touched: Set<string> | undefined;
  readonly #pending = new Set<string>();
  readonly #rows: Reloader<void>;
  readonly #full: Reloader<void>;
  readonly #stats = {
    fullReloads: 0,
    pagesLoaded: 0,
    rowLoads: 0,
    rowsLoaded: 0,
    longestStepMs: 0,
    longestStepCpuMs: 0,
  };

  constructor(options: MirrorOptions<V>) {
    this.#source = options.source;
    this.#keyOf = options.keyOf;
    this.#idOf = options.idOf;
    this.#pageSize = options.pageSize ?? DEFAULT_PAGE_SIZE;
    this.#rows = new Reloader(
      () => this.#loadPending(),
      () => undefined,
      (error) => options.onError(error, 'rows'),
    );
    this.#full = new Reloader(
      () => this.#reloadAll(),
      () => undefined,
      (error) => options.onError(error, 'reload'),
    );
  }

  get stats(): MirrorStats {
    return { ...this.#stats, held: this.#byId.size };
  }

  get(id: string): V | undefined {
    return this.#byId.get(id)?.value;
  }

  /** The values found by a secondary key (empty when none). */
  byKey(key: string): readonly V[] {
    return this.#byKey.get(key) ?? [];
  }

  ids(): IterableIterator<string> {
    return this.#byId.keys();
  }

  /**
   * Reloads every row, page by page; resolves after a reload that started after this call.
   * Requests made while one runs share the next one.
   */
  reloadAll(): Promise<void> {
    return this.#full.run();
  }

  /**
   * Applies one change: resolves once this mirror holds the row as it was at least as late as
   * the change (at once when the change drops it or is older than what is held).
   */
  apply(change: MirrorChange): Promise<void> {
    if (change.dropped) {
      // Without a version, the event still outranks what is held now (it was published after).
      const version = change.final
        ? Number.POSITIVE_INFINITY
        : (change.version ?? Math.max(0, this.#knownVersion(change.id)));
      this.#drop(change.id, version);
      // Dropped for good needs no read; otherwise the read confirms what the row is now.
      if (change.final) return Promise.resolve();
    } else if (change.version !== undefined && this.#knownVersion(change.id) >= change.version) {
      return Promise.resolve();
    }
    this.#pending.add(change.id);
    return this.#rows.run();
  }

  /** Drops every held value found by `key` for good (a deleted provider's keys). */
  dropByKey(key: string): void {
    for (const value of [...this.byKey(key)]) this.#drop(this.#idOf(value), Number.POSITIVE_INFINITY);
  }

  #step(startedAt: { wall: number; cpu: number }): void {
    const now = stepClock();
    this.#stats.longestStepMs = Math.max(this.#stats.longestStepMs, now.wall - startedAt.wall);
    this.#stats.longestStepCpuMs = Math.max(this.#stats.longestStepCpuMs, now.cpu - startedAt.cpu);
  }

  /** The newest version this mirror knows of a row (held or dropped), or -1. */
  #knownVersion(id: string): number {
    return this.#byId.get(id)?.version ?? this.#dropped.get(id)?.version ?? -1;
  }

  #drop(id: string, version: number): void {
    const held = this.#byId.get(id);
    if (held && held.version > version) return;
    if (held) {
      this.#byId.delete(id);
      unindex(this.#byKey, this.#keyOf(held.value), held.value);
    }
    const known = this.#dropped.get(id);
    if (!known || known.version < version) this.#dropped.set(id, { version, epoch: this.#epoch });
    this.#touched?.add(id);
  }

  /** Reads the rows changed since the last read, a page at a time. */
  async #loadPending(): Promise<void> {
    while (this.#pending.size > 0) {
      const ids = [...this.#pending].slice(0, this.#pageSize);
      for (const id of ids) this.#pending.delete(id);
      // Should this fail, the ids are not retried: the next event or the safety-net reload reads them.
      const rows = await this.#source.loadMany(ids);
      this.#stats.rowLoads++;
      this.#stats.rowsLoaded += rows.length;
      const at = stepClock();
      const found = new Set<string>();
      for (const row of rows) {
        found.add(row.id);
        this.#applyRow(row);
      }
      for (const id of ids) {
        if (!found.has(id)) this.#drop(id, Number.POSITIVE_INFINITY);
      }
      this.#step(at);
      if (this.#pending.size > 0) await yieldToEventLoop();
    }
  }

  #applyRow(row: MirrorRow<V>): void {
    if (row.value === null) {
      this.#drop(row.id, row.version);
      return;
    }
    const dropped = this.#dropped.get(row.id);
    if (dropped && dropped.version >= row.version) return;
    const held = this.#byId.get(row.id);
    if (held && held.version > row.version) return;
    if (held) unindex(this.#byKey, this.#keyOf(held.value), held.value);
    this.#byId.set(row.id, { version: row.version, value: row.value });
    index(this.#byKey, this.#keyOf(row.value), row.value);
    this.#dropped.delete(row.id);
    this.#touched?.add(row.id);
  }

  /** Builds a new copy page by page, then swaps it in, keeping newer changes made meanwhile. */
  async #reloadAll(): Promise<void> {
    const epoch = ++this.#epoch;
    const touched = new Set<string>();
    this.#touched = touched;
    try {
      const byId = new ShardedMap<Held<V>>();
      const byKey = new ShardedMap<V[]>();
      let after: string | null = null;
      for (;;) {
        const page = await this.#source.loadPage(after, this.#pageSize);
        this.#stats.pagesLoaded++;
        const at = stepClock();
        for (const row of page) {
          if (row.value === null) continue;
          byId.set(row.id, { version: row.version, value: row.value });
          index(byKey, this.#keyOf(row.value), row.value);
        }
        this.#step(at);
        if (page.length < this.#pageSize) break;
        after = page.at(-1)!.id;
        await yieldToEventLoop();
      }
      const at = stepClock();
      for (const id of touched) this.#keepNewer(id, byId, byKey);
      this.#step(at);
      this.#byId = byId;
      this.#byKey = byKey;
      // A drop recorded before this reload began was in the database before its first read.
      for (const [id, drop] of this.#dropped) if (drop.epoch < epoch) this.#dropped.delete(id);
      this.#stats.fullReloads++;
    } finally {
      if (this.#touched === touched) this.#touched = undefined;
    }
  }

  /** Where an event changed a row while the pages were read, the newer of the two stands. */
  #keepNewer(id: string, byId: ShardedMap<Held<V>>, byKey: ShardedMap<V[]>): void {
    const live = this.#seenLive(id);
    const loaded = byId.get(id);
    if (!live || (loaded && loaded.version > live.version)) return;
    if (loaded) {
      byId.delete(id);
      unindex(byKey, this.#keyOf(loaded.value), loaded.value);
    }
    if (live.value !== null) {
      byId.set(id, { version: live.version, value: live.value });
      index(byKey, this.#keyOf(live.value), live.value);
    }
  }

  #seenLive(id: string): Seen<V> | undefined {
    const held = this.#byId.get(id);
    if (held) return held;
    const dropped = this.#dropped.get(id);
    return dropped ? { version: dropped.version, value: null } : undefined;
  }
}

/** Wall and main-thread CPU time, in ms. */
function stepClock(): { wall: number; cpu: number } {
  const cpu = process.threadCpuUsage();
  return { wall: performance.now(), cpu: (cpu.user + cpu.system) / 1000 };
}

const SHARDS = 64;

/**
 * A Map split in 64: a Map that grows past a power of two rehashes every entry at once, which at
 * 100,000 rows held the event loop for 30 ms in the middle of a page; a shard rehashes 1/64 of it.
 */
class ShardedMap<T> {
  readonly #shards = Array.from({ length: SHARDS }, () => new Map<string, T>());
  #size = 0;

  #shard(key: string): Map<string, T> {
    let h = 0;
    for (let i = 0; i < key.length; i += 4) h = (h * 31 + key.charCodeAt(i)) | 0;
    return this.#shards[(h >>> 0) % SHARDS]!;
  }

  get size(): number {
    return this.#size;
  }

  get(key: string): T | undefined {
    return this.#shard(key).get(key);
  }

  set(key: string, value: T): void {
    const shard = this.#shard(key);
    if (!shard.has(key)) this.#size++;
    shard.set(key, value);
  }

  delete(key: string): void {
    if (this.#shard(key).delete(key)) this.#size--;
  }

  *keys(): IterableIterator<string> {
    for (const shard of this.#shards) yield* shard.keys();
  }
}

function index<V>(byKey: ShardedMap<V[]>, key: string, value: V): void {
  const list = byKey.get(key);
  if (list) list.push(value);
  else byKey.set(key, [value]);
}

function unindex<V>(byKey: ShardedMap<V[]>, key: string, value: V): void {
  const list = byKey.get(key);
  if (!list) return;
  const kept = list.filter((v) => v !== value);
  if (kept.length > 0) byKey.set(key, kept);
  else byKey.delete(key);
}
