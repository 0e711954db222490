/**
 * Counters and histograms for the proxy's per-call figures, registered in a prom-client Registry
 * like any other metric. Each label combination is a series object the caller keeps, so counting
 * a call is an addition and observing a latency is a bucket scan. (prom-client's own `labels()`
 * children hash their labels on every `inc`/`observe`: several microseconds per proxied call.)
 */
import type { Registry } from 'prom-client';

interface MetricValue {
  labels: Record<string, string | number>;
  value: number;
  metricName?: string;
}

abstract class SeriesMetric<S> {
  readonly aggregator = 'sum';
  readonly name: string;
  readonly help: string;
  readonly labelNames: readonly string[];
  readonly #series = new Map<string, { labels: Record<string, string>; series: S }>();

  constructor(name: string, help: string, labelNames: readonly string[], registry: Registry) {
    this.name = name;
    this.help = help;
    this.labelNames = labelNames;
    registry.registerMetric(this as never);
  }

  abstract readonly type: 'counter' | 'histogram';
  protected abstract create(): S;
  protected abstract values(labels: Record<string, string>, series: S): MetricValue[];

  /** The series for these label values (in `labelNames` order); keep it, it is the fast path. */
  series(...values: string[]): S {
    const key = values.join('\u0000');
    let entry = this.#series.get(key);
    if (!entry) {
      const labels: Record<string, string> = {};
      this.labelNames.forEach((name, i) => {
        labels[name] = values[i] ?? '';
      });
      entry = { labels, series: this.create() };
      this.#series.set(key, entry);
    }
    return entry.series;
  }

  get(): { name: string; help: string; type: string; aggregator: string; values: MetricValue[] } {
    const values: MetricValue[] = [];
    for (const { labels, series } of this.#series.values()) values.push(...this.values(labels, series));
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  reset(): void {
    this.#series.clear();
  }
}

export class CounterSeries {
  value = 0;
  inc(by = 1): void {
    this.value += by;
  }
}

export class FastCounter extends SeriesMetric<CounterSeries> {
  readonly type = 'counter';
  protected create(): CounterSeries {
    return new CounterSeries();
  }
  protected values(labels: Record<string, string>, series: CounterSeries): MetricValue[] {
    return [{ labels, value: series.value }];
  }
}

export class HistogramSeries {
  readonly bounds: readonly number[];
  /** Observations per bucket (not cumulative); above the last bound they count only in `count`. */
  readonly counts: number[];
  sum = 0;
  count = 0;
  constructor(bounds: readonly number[]) {
    this.bounds = bounds;
    this.counts = bounds.map(() => 0);
  }
  observe(value: number): void {
    this.sum += value;
    this.count++;
    const bounds = this.bounds;
    for (let i = 0; i < bounds.length; i++) {
      if (value <= (bounds[i] as number)) {
        this.counts[i] = (this.counts[i] as number) + 1;
        return;
      }
    }
  }
}

export class FastHistogram extends SeriesMetric<HistogramSeries> {
  readonly type = 'histogram';
  readonly buckets: readonly number[];
  constructor(
    name: string,
    help: string,
    labelNames: readonly string[],
    buckets: readonly number[],
    registry: Registry,
  ) {
    super(name, help, labelNames, registry);
    this.buckets = buckets;
  }
  protected create(): HistogramSeries {
    return new HistogramSeries(this.buckets);
  }
  protected values(labels: Record<string, string>, series: HistogramSeries): MetricValue[] {
    const out: MetricValue[] = [];
    let cumulative = 0;
    this.buckets.forEach((le, i) => {
      cumulative += series.counts[i] ?? 0;
      out.push({ labels: { le, ...labels }, value: cumulative, metricName: `${this.name}_bucket` });
    });
    out.push({ labels: { le: '+Inf', ...labels }, value: series.count, metricName: `${this.name}_bucket` });
    out.push({ labels, value: series.sum, metricName: `${this.name}_sum` });
    out.push({ labels, value: series.count, metricName: `${this.name}_count` });
    return out;
  }
}
