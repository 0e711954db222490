import { describe, expect, it } from 'vitest';
import { ConfigMirror, type MirrorRow, type MirrorSource } from './config-mirror.ts';

interface Value {
  id: string;
  key: string;
  version: number;
}

/**
 * A table in memory whose reads can be held back, to put reads and events in the orders that
 * replicas meet in a cluster (a read that started before a change finishing after it).
 */
class Table implements MirrorSource<Value> {
  readonly rows = new Map<string, { version: number; active: boolean; key: string }>();
  loadManyCalls: string[][] = [];
  pageCalls = 0;
  /** While set, reads wait for it (having taken their snapshot first). */
  gate: Promise<void> | undefined;

  put(id: string, version: number, active = true, key = `k-${id}`): void {
    this.rows.set(id, { version, active, key });
  }

  #row(id: string): MirrorRow<Value> | undefined {
    const row = this.rows.get(id);
    if (!row) return undefined;
    return {
      id,
      version: row.version,
      value: row.active ? { id, key: row.key, version: row.version } : null,
    };
  }

  async loadMany(ids: string[]): Promise<MirrorRow<Value>[]> {
    this.loadManyCalls.push(ids);
    const snapshot = ids.map((id) => this.#row(id)).filter((r): r is MirrorRow<Value> => r !== undefined);
    await this.gate;
    return snapshot;
  }

  async loadPage(afterId: string | null, limit: number): Promise<MirrorRow<Value>[]> {
    this.pageCalls++;
    const snapshot = [...this.rows.keys()]
      .sort()
      .filter((id) => afterId === null || id > afterId)
      .map((id) => this.#row(id)!)
      .filter((r) => r.value !== null)
      .slice(0, limit);
    await this.gate;
    return snapshot;
  }
}

function held(): { gate: Promise<void>; open: () => void } {
  let open!: () => void;
  const gate = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { gate, open };
}

function mirrorOf(table: Table, pageSize = 3) {
  return new ConfigMirror<Value>({
    source: table,
    keyOf: (v) => v.key,
    idOf: (v) => v.id,
    pageSize,
    onError: (error) => {
      throw error;
    },
  });
}

describe('ConfigMirror', () => {
  it('a read that started before a revocation and ends after it does not bring the row back', async () => {
    const table = new Table();
    table.put('a', 1);
    const mirror = mirrorOf(table);
    await mirror.reloadAll();
    table.put('a', 2);
    const slow = held();
    table.gate = slow.gate;
    const update = mirror.apply({ id: 'a', version: 2 });
    // The revocation commits and its event arrives while the update's read is under way.
    table.put('a', 3, false);
    await mirror.apply({ id: 'a', version: 3, dropped: true, final: true });
    expect(mirror.get('a')).toBeUndefined();
    slow.open();
    await update;
    expect(mirror.get('a')).toBeUndefined();
    expect(mirror.byKey('k-a')).toEqual([]);
  });

  it('an event older than what is held is not read at all', async () => {
    const table = new Table();
    table.put('a', 5);
    const mirror = mirrorOf(table);
    await mirror.reloadAll();
    await mirror.apply({ id: 'a', version: 4 });
    await mirror.apply({ id: 'a', version: 5 });
    expect(table.loadManyCalls).toEqual([]);
  });

  it('of two reads of different ages, the newer version stands whatever the order they end in', async () => {
    const table = new Table();
    table.put('a', 1, true, 'old');
    const mirror = mirrorOf(table);
    const slow = held();
    table.gate = slow.gate;
    const first = mirror.apply({ id: 'a', version: 1 });
    table.gate = undefined;
    table.put('a', 2, true, 'new');
    // The second read cannot start before the first ends (one read at a time), so it is queued.
    const second = mirror.apply({ id: 'a', version: 2 });
    slow.open();
    await Promise.all([first, second]);
    expect(mirror.get('a')?.key).toBe('new');
    expect(mirror.byKey('old')).toEqual([]);
  });

  it('a full reload keeps what events changed while it read its pages', async () => {
    const table = new Table();
    for (const id of ['a', 'b', 'c', 'd', 'e']) table.put(id, 1);
    const mirror = mirrorOf(table, 2);
    await mirror.reloadAll();
    const slow = held();
    table.gate = slow.gate;
    const reload = mirror.reloadAll();
    // The reload has its first page (a, b) in hand; then b is revoked and f created, with events.
    table.gate = undefined;
    table.put('b', 2, false);
    await mirror.apply({ id: 'b', version: 2, dropped: true, final: true });
    table.put('f', 1);
    await mirror.apply({ id: 'f', version: 1 });
    slow.open();
    await reload;
    expect(mirror.get('b')).toBeUndefined();
    expect(mirror.get('f')?.id).toBe('f');
    expect([...mirror.ids()].sort()).toEqual(['a', 'c', 'd', 'e', 'f']);
  });

  it('the full reload repairs what no event said: a row gone, a row added, a row changed', async () => {
    const table = new Table();
    table.put('a', 1);
    table.put('b', 1);
    const mirror = mirrorOf(table);
    await mirror.reloadAll();
    table.put('a', 2, false);
    table.put('b', 2, true, 'b-new');
    table.put('c', 1);
    await mirror.reloadAll();
    expect(mirror.get('a')).toBeUndefined();
    expect(mirror.byKey('b-new').map((v) => v.id)).toEqual(['b']);
    expect(mirror.get('c')?.id).toBe('c');
  });

  it('changes that arrive while a read runs are read together in the next one', async () => {
    const table = new Table();
    const mirror = mirrorOf(table, 1000);
    const slow = held();
    table.gate = slow.gate;
    table.put('first', 1);
    const waits = [mirror.apply({ id: 'first', version: 1 })];
    for (let i = 0; i < 100; i++) {
      table.put(`r${i}`, 1);
      waits.push(mirror.apply({ id: `r${i}`, version: 1 }));
    }
    slow.open();
    table.gate = undefined;
    await Promise.all(waits);
    expect(table.loadManyCalls.map((ids) => ids.length)).toEqual([1, 100]);
    expect(mirror.stats.held).toBe(101);
  });

  it('full reloads asked for together run at most once more than the one under way', async () => {
    const table = new Table();
    for (let i = 0; i < 10; i++) table.put(`r${i}`, 1);
    const mirror = mirrorOf(table, 5);
    await Promise.all(Array.from({ length: 20 }, () => mirror.reloadAll()));
    // 10 rows in pages of 5: three reads a reload (the last one finds the end), at most two reloads.
    expect(table.pageCalls).toBeLessThanOrEqual(6);
    expect(mirror.stats.fullReloads).toBeLessThanOrEqual(2);
  });

  it('a row that is read and not found is dropped for good', async () => {
    const table = new Table();
    table.put('a', 1);
    const mirror = mirrorOf(table);
    await mirror.reloadAll();
    table.rows.delete('a');
    await mirror.apply({ id: 'a' });
    expect(mirror.get('a')).toBeUndefined();
  });
});
