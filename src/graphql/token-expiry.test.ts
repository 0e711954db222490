import { afterEach, describe, expect, it, vi } from 'vitest';
import { untilExpiry } from './token-expiry.ts';

const DAY = 86_400_000;

/** A source with no event, ever (a quiet, filtered subscription). */
async function* quiet(): AsyncGenerator<string> {
  await new Promise(() => undefined);
}

describe('untilExpiry', () => {
  afterEach(() => vi.useRealTimers());

  it('ends at the expiry of a token valid for longer than setTimeout can wait, not before', async () => {
    vi.useFakeTimers();
    const stream = untilExpiry(quiet(), new Date(Date.now() + 30 * DAY), () => 'expired');
    let outcome: IteratorResult<string> | undefined;
    void stream.next().then((r) => {
      outcome = r;
    });
    await vi.advanceTimersByTimeAsync(29 * DAY);
    expect(outcome).toBeUndefined();
    await vi.advanceTimersByTimeAsync(DAY + 1);
    expect(outcome).toEqual({ done: false, value: 'expired' });
    expect(await stream.next()).toEqual({ done: true, value: undefined });
  });

  it('passes events on until the source ends', async () => {
    async function* two() {
      yield 'a';
      yield 'b';
    }
    const stream = untilExpiry(two(), new Date(Date.now() + DAY), () => 'expired');
    expect(await stream.next()).toEqual({ done: false, value: 'a' });
    expect(await stream.next()).toEqual({ done: false, value: 'b' });
    expect((await stream.next()).done).toBe(true);
  });
});
