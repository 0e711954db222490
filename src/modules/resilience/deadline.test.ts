import { afterEach, describe, expect, it, vi } from 'vitest';
import { Deadline, sleep } from './deadline.ts';

describe('deadline', () => {
  afterEach(() => vi.useRealTimers());

  it('aborts its signal when the time passes and tells its listeners', async () => {
    vi.useFakeTimers();
    const deadline = new Deadline(1000, 0);
    const expired = vi.fn();
    deadline.onExpire(expired);
    expect(deadline.allows(999, 0)).toBe(true);
    expect(deadline.allows(1000, 0)).toBe(false);
    await vi.advanceTimersByTimeAsync(999);
    expect(deadline.aborted).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(deadline.aborted).toBe(true);
    expect(expired).toHaveBeenCalledOnce();
    const late = vi.fn();
    deadline.onExpire(late);
    expect(late).toHaveBeenCalledOnce();
  });

  it('stops a backoff wait when the deadline passes', async () => {
    vi.useFakeTimers();
    const deadline = new Deadline(100);
    const wait = sleep(1000, deadline.signal, () => new Error('deadline'));
    const settled = expect(wait).rejects.toThrow('deadline');
    await vi.advanceTimersByTimeAsync(100);
    await settled;
  });

  it('a cleared deadline never fires', async () => {
    vi.useFakeTimers();
    const deadline = new Deadline(100);
    deadline.clear();
    await vi.advanceTimersByTimeAsync(1000);
    expect(deadline.aborted).toBe(false);
  });
});
