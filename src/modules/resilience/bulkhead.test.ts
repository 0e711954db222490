import { TaskCancelledError } from 'cockatiel';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { BulkheadFullError, Bulkheads } from './bulkhead.ts';

const settings = { maxConcurrent: 2, maxQueue: 1, maxQueueWaitMs: 500 };

describe('bulkheads', () => {
  afterEach(() => vi.useRealTimers());

  it('admits up to the cap, queues a few, and refuses the rest at once', async () => {
    const bulkheads = new Bulkheads();
    const a = await bulkheads.enter('p', settings);
    await bulkheads.enter('p', settings);
    const queued = bulkheads.enter('p', settings);
    await expect(bulkheads.enter('p', settings)).rejects.toMatchObject({
      name: 'BulkheadFullError',
      queued: false,
    });
    expect(bulkheads.status('p')).toMatchObject({ active: 2, queued: 1 });
    a();
    a(); // a second release frees nothing more
    const release = await queued;
    expect(bulkheads.status('p')).toMatchObject({ active: 2, queued: 0 });
    release();
    await new Promise((resolve) => setImmediate(resolve));
    expect(bulkheads.status('p')).toMatchObject({ active: 1 });
  });

  it('gives up a queued wait after maxQueueWaitMs', async () => {
    vi.useFakeTimers();
    const bulkheads = new Bulkheads();
    await bulkheads.enter('p', settings);
    await bulkheads.enter('p', settings);
    const queued = bulkheads.enter('p', settings);
    const settled = expect(queued).rejects.toBeInstanceOf(BulkheadFullError);
    await vi.advanceTimersByTimeAsync(500);
    await settled;
  });

  it('keeps providers apart', async () => {
    const bulkheads = new Bulkheads();
    await bulkheads.enter('slow', { ...settings, maxQueue: 0 });
    await bulkheads.enter('slow', { ...settings, maxQueue: 0 });
    await expect(bulkheads.enter('slow', { ...settings, maxQueue: 0 })).rejects.toBeInstanceOf(
      BulkheadFullError,
    );
    await expect(bulkheads.enter('fast', settings)).resolves.toBeTypeOf('function');
  });

  it('ends a queued wait when the caller\u2019s signal aborts', async () => {
    const bulkheads = new Bulkheads();
    await bulkheads.enter('p', settings);
    await bulkheads.enter('p', settings);
    const controller = new AbortController();
    const queued = bulkheads.enter('p', settings, controller.signal);
    controller.abort();
    await expect(queued).rejects.toBeInstanceOf(TaskCancelledError);
  });
});
