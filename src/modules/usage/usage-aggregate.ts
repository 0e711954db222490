import { emptyHistogram, HISTOGRAM_BUCKETS, percentile } from './latency-histogram.ts';
import type { Outcome } from './usage-event.entity.ts';

/** Outcomes that count as a served call; every other outcome is a failure. */
export const SUCCESS_OUTCOMES: readonly Outcome[] = ['SUCCESS', 'FALLBACK'];

/** The additive figures of a set of calls, in the order rollups store them. */
export const SUM_FIELDS = [
  'calls',
  'totalMsSum',
  'upstreamCalls',
  'upstreamMsSum',
  'promptTokens',
  'completionTokens',
  'cachedTokens',
  'costMicros',
  'pricedWithoutTokens',
  'requestBytes',
  'responseBytes',
] as const;
export type Sums = Record<(typeof SUM_FIELDS)[number], number>;

/** Sums over a set of calls: what rollups store per row and reports add up. */
export interface UsageTotals extends Sums {
  byOutcome: Map<Outcome, number>;
  totalHist: number[];
  upstreamHist: number[];
}

/** One aggregated row from SQL (raw events or rollups), for one outcome. */
export interface AggregateRow extends Sums {
  outcome: Outcome;
}

export function emptyTotals(): UsageTotals {
  const sums = Object.fromEntries(SUM_FIELDS.map((f) => [f, 0])) as Sums;
  return { ...sums, byOutcome: new Map(), totalHist: emptyHistogram(), upstreamHist: emptyHistogram() };
}

function addSums(target: Sums, source: Sums): void {
  for (const field of SUM_FIELDS) target[field] += source[field];
}

export function addRow(totals: UsageTotals, row: AggregateRow): void {
  addSums(totals, row);
  totals.byOutcome.set(row.outcome, (totals.byOutcome.get(row.outcome) ?? 0) + row.calls);
}

export function addHistogram(target: number[], source: readonly (number | null)[]): void {
  for (let b = 0; b < HISTOGRAM_BUCKETS; b++) target[b]! += Number(source[b] ?? 0);
}

export function addTotals(target: UsageTotals, source: UsageTotals): void {
  addSums(target, source);
  for (const [outcome, n] of source.byOutcome)
    target.byOutcome.set(outcome, (target.byOutcome.get(outcome) ?? 0) + n);
  addHistogram(target.totalHist, source.totalHist);
  addHistogram(target.upstreamHist, source.upstreamHist);
}

/** What a report shows for a set of calls. */
export interface UsageSummary {
  calls: number;
  successes: number;
  failures: number;
  failuresByOutcome: { outcome: Outcome; calls: number }[];
  errorRate: number;
  latencyMs: Percentiles;
  upstreamLatencyMs: Percentiles;
  promptTokens: number;
  completionTokens: number;
  cachedTokens: number;
  costMicros: number;
  pricedWithoutTokens: number;
  requestBytes: number;
  responseBytes: number;
}

export interface Percentiles {
  p50: number | null;
  p95: number | null;
  p99: number | null;
  mean: number | null;
}

export function summarize(totals: UsageTotals): UsageSummary {
  let successes = 0;
  const failuresByOutcome: { outcome: Outcome; calls: number }[] = [];
  for (const [outcome, calls] of totals.byOutcome) {
    if (SUCCESS_OUTCOMES.includes(outcome)) successes += calls;
    else if (calls > 0) failuresByOutcome.push({ outcome, calls });
  }
  failuresByOutcome.sort((a, b) => b.calls - a.calls || a.outcome.localeCompare(b.outcome));
  const failures = totals.calls - successes;
  return {
    calls: totals.calls,
    successes,
    failures,
    failuresByOutcome,
    errorRate: totals.calls === 0 ? 0 : Math.round((failures / totals.calls) * 10_000) / 10_000,
    latencyMs: percentiles(totals.totalHist, totals.totalMsSum, totals.calls),
    upstreamLatencyMs: percentiles(totals.upstreamHist, totals.upstreamMsSum, totals.upstreamCalls),
    promptTokens: totals.promptTokens,
    completionTokens: totals.completionTokens,
    cachedTokens: totals.cachedTokens,
    costMicros: totals.costMicros,
    pricedWithoutTokens: totals.pricedWithoutTokens,
    requestBytes: totals.requestBytes,
    responseBytes: totals.responseBytes,
  };
}

function percentiles(histogram: number[], sum: number, count: number): Percentiles {
  return {
    p50: percentile(histogram, 0.5),
    p95: percentile(histogram, 0.95),
    p99: percentile(histogram, 0.99),
    mean: count === 0 ? null : Math.round((sum / count) * 100) / 100,
  };
}
