import { afterEach, describe, expect, it, vi } from 'vitest';
import { LogCapture } from '../../test/helpers/app.ts';
import { type Component, Components } from './components.ts';
import { createLogger } from './logger.ts';

/** A component that records its start and stop in `journal`. */
function recorded(name: string, journal: string[], extra: Partial<Component> = {}): Component {
  return {
    name,
    start: () => {
      journal.push(`start ${name}`);
    },
    stop: () => {
      journal.push(`stop ${name}`);
    },
    ...extra,
  };
}

const lines = (logs: LogCapture) => logs.lines.map((l) => JSON.parse(l) as Record<string, unknown>);

describe('Components', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('starts in the order given and stops in reverse, modules and single components alike', async () => {
    const journal: string[] = [];
    const components = new Components(createLogger('silent'));
    const pool = await components.start({
      name: 'pool',
      start: () => 'the pool',
      stop: () => void journal.push('stop pool'),
    });
    expect(pool).toBe('the pool');
    const services = await components.add({
      services: { cache: 'the cache' },
      components: { cache: recorded('cache', journal), monitor: recorded('monitor', journal) },
    });
    expect(services).toEqual({ cache: 'the cache' });
    await components.start(recorded('http', journal));
    expect(components.names()).toEqual(['pool', 'cache', 'monitor', 'http']);
    await components.stop();
    expect(journal).toEqual([
      'start cache',
      'start monitor',
      'start http',
      'stop http',
      'stop monitor',
      'stop cache',
      'stop pool',
    ]);
    // Stopping twice stops nothing twice.
    await components.stop();
    expect(journal.filter((j) => j === 'stop pool')).toHaveLength(1);
  });

  it('a failing start stops what already started, in reverse, not the one that failed, and throws its error', async () => {
    const journal: string[] = [];
    const components = new Components(createLogger('silent'));
    await components.start(recorded('database', journal));
    await components.start(recorded('cache', journal));
    const failing = recorded('metrics server', journal, {
      start: () => {
        journal.push('start metrics server');
        throw new Error('port in use');
      },
    });
    await expect(components.start(failing)).rejects.toThrow('port in use');
    expect(journal).toEqual([
      'start database',
      'start cache',
      'start metrics server',
      'stop cache',
      'stop database',
    ]);
    expect(components.names()).toEqual([]);
  });

  it('a stop that fails is logged with its name and the others still stop', async () => {
    const journal: string[] = [];
    const logs = new LogCapture();
    const components = new Components(createLogger('debug', logs));
    await components.start(recorded('first', journal));
    await components.start(
      recorded('broken', journal, {
        stop: () => {
          throw new Error('could not close');
        },
      }),
    );
    await components.stop();
    expect(journal).toEqual(['start first', 'start broken', 'stop first']);
    expect(lines(logs)).toContainEqual(
      expect.objectContaining({ level: 'warn', step: 'broken', msg: 'error during shutdown' }),
    );
  });

  it('names a stop step that is still running after the slow threshold, and goes on once it ends', async () => {
    vi.useFakeTimers();
    const logs = new LogCapture();
    const components = new Components(createLogger('debug', logs), { slowStopMs: 5_000 });
    let release: () => void = () => undefined;
    await components.start({ name: 'job queue', stop: () => new Promise<void>((r) => (release = r)) });
    const journal: string[] = [];
    await components.start(recorded('health monitor', journal));
    const stopped = components.stop();
    await vi.advanceTimersByTimeAsync(4_999);
    expect(lines(logs).filter((l) => l.level === 'warn')).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(lines(logs)).toContainEqual(
      expect.objectContaining({
        level: 'warn',
        step: 'job queue',
        msg: 'shutdown step still running after 5 s',
      }),
    );
    // Only the step that hangs is named; the one before it had stopped.
    expect(lines(logs).filter((l) => l.level === 'warn')).toHaveLength(1);
    expect(journal).toEqual(['start health monitor', 'stop health monitor']);
    release();
    await stopped;
    expect(lines(logs)).toContainEqual(expect.objectContaining({ step: 'job queue', msg: 'stopped' }));
  });
});
