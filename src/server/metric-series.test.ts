import { Counter, Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { FastCounter, FastHistogram } from './metric-series.ts';

const BUCKETS = [0.001, 0.01, 0.1, 1];

describe('metric series', () => {
  it('a histogram scrapes exactly as prom-client’s own histogram with the same observations', async () => {
    const ours = new Registry();
    const theirs = new Registry();
    const fast = new FastHistogram('call_seconds', 'Call time.', ['provider'], BUCKETS, ours);
    const reference = new Histogram({
      name: 'call_seconds',
      help: 'Call time.',
      labelNames: ['provider'],
      buckets: BUCKETS,
      registers: [theirs],
    });
    const observations: [string, number][] = [
      ['nvd', 0.0004],
      ['nvd', 0.001],
      ['nvd', 0.05],
      ['kev', 0.5],
      ['nvd', 3],
      ['kev', 0.0099],
    ];
    for (const [provider, value] of observations) {
      fast.series(provider).observe(value);
      reference.observe({ provider }, value);
    }
    expect(await ours.metrics()).toBe(await theirs.metrics());
  });

  it('a counter keeps one series per label combination', async () => {
    const ours = new Registry();
    const theirs = new Registry();
    const fast = new FastCounter('calls_total', 'Calls.', ['provider', 'outcome'], ours);
    const reference = new Counter({
      name: 'calls_total',
      help: 'Calls.',
      labelNames: ['provider', 'outcome'],
      registers: [theirs],
    });
    const ok = fast.series('nvd', 'SUCCESS');
    ok.inc();
    ok.inc(2);
    fast.series('nvd', 'TIMEOUT').inc();
    expect(fast.series('nvd', 'SUCCESS')).toBe(ok);
    reference.inc({ provider: 'nvd', outcome: 'SUCCESS' }, 3);
    reference.inc({ provider: 'nvd', outcome: 'TIMEOUT' });
    expect(await ours.metrics()).toBe(await theirs.metrics());
  });

  it('reset empties every series', async () => {
    const registry = new Registry();
    const fast = new FastCounter('calls_total', 'Calls.', ['provider'], registry);
    fast.series('nvd').inc();
    registry.resetMetrics();
    expect(await registry.metrics()).not.toContain('calls_total{');
  });
});
