import { lazy, Suspense, useMemo } from 'react';
import { formatMicros, formatMs, formatNumber, formatRatio } from '../../components/format.ts';
import { Loading } from '../../components/ui.tsx';
import type { UsageRange } from '../../gql/graphql.ts';
import type { ChartSeries } from './TimeSeriesChart.tsx';

/** uPlot is fetched the first time a chart is drawn, not with the console. */
const TimeSeriesChart = lazy(() => import('./TimeSeriesChart.tsx'));

export const RANGES: { value: UsageRange; label: string }[] = [
  { value: 'LAST_DAY', label: '24 hours' },
  { value: 'LAST_WEEK', label: '7 days' },
  { value: 'LAST_MONTH', label: '30 days' },
];

export interface UsageTotals {
  calls: number;
  failures: number;
  errorRate: number;
  costMicros: number;
  latencyMs: { p50?: number | null; p95?: number | null; p99?: number | null };
}

export interface UsagePoint {
  start: string;
  summary: { calls: number; failures: number; costMicros: number; latencyMs: { p95?: number | null } };
}

export function RangePicker({
  value,
  onChange,
  id,
}: {
  value: UsageRange;
  onChange: (r: UsageRange) => void;
  id: string;
}) {
  return (
    <div className="range-picker">
      <label htmlFor={id} className="visually-hidden">
        Range
      </label>
      <select id={id} value={value} onChange={(e) => onChange(e.target.value as UsageRange)}>
        {RANGES.map((r) => (
          <option key={r.value} value={r.value}>
            Last {r.label}
          </option>
        ))}
      </select>
    </div>
  );
}

/** Totals as figures, then calls/failures and p95 latency over time (the figures are the text alternative). */
export function UsageView({
  totals,
  series,
  label,
}: {
  totals: UsageTotals;
  series: UsagePoint[];
  label: string;
}) {
  const chart = useMemo(() => {
    const times = series.map((p) => new Date(p.start).getTime());
    const lines: ChartSeries[] = [
      {
        label: 'Successes',
        values: series.map((p) => p.summary.calls - p.summary.failures),
        color: '#0b64c0',
        style: 'bars',
      },
      { label: 'Failures', values: series.map((p) => p.summary.failures), color: '#b91c1c', style: 'bars' },
      {
        label: 'p95 latency',
        values: series.map((p) => (p.summary.calls > 0 ? (p.summary.latencyMs.p95 ?? null) : null)),
        color: '#a15c07',
        style: 'line',
        rightAxis: true,
        format: (v) => formatMs(v),
      },
    ];
    return { times, lines };
  }, [series]);

  return (
    <>
      <dl className="figures" data-testid="usage-totals" data-calls={totals.calls}>
        <div>
          <dt>Calls</dt>
          <dd>{formatNumber(totals.calls)}</dd>
        </div>
        <div>
          <dt>Failures</dt>
          <dd>{formatNumber(totals.failures)}</dd>
        </div>
        <div>
          <dt>Error rate</dt>
          <dd>{formatRatio(totals.errorRate)}</dd>
        </div>
        <div>
          <dt>Cost</dt>
          <dd>{formatMicros(totals.costMicros)}</dd>
        </div>
        <div>
          <dt>p50 / p95 / p99</dt>
          <dd>
            {formatMs(totals.latencyMs.p50)} / {formatMs(totals.latencyMs.p95)} /{' '}
            {formatMs(totals.latencyMs.p99)}
          </dd>
        </div>
      </dl>
      {totals.calls === 0 ? (
        <p className="muted chart-empty">No calls in this range.</p>
      ) : (
        <Suspense fallback={<Loading label="Loading chart" />}>
          <TimeSeriesChart times={chart.times} series={chart.lines} label={label} />
        </Suspense>
      )}
    </>
  );
}
