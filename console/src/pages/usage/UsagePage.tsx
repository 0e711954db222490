import { type FormEvent, useMemo, useState } from 'react';
import { useQuery } from 'urql';
import { formatMicros, formatMs, formatNumber, formatRatio } from '../../components/format.ts';
import { downloadText, Field, fieldErrorsByField, Outcome } from '../../components/ops-kit.tsx';
import { EmptyState, ErrorNotice, Loading, PageHeader, Panel } from '../../components/ui.tsx';
import type { ConsoleUsageQuery, UsageDimension, UsageRange } from '../../gql/graphql.ts';
import { graphql } from '../../gql/index.ts';
import { type ChartSeries, TimeChart } from './TimeChart.tsx';
import { usageCsv } from './usage-csv.ts';

const UsageQuery = graphql(`
  query ConsoleUsage($range: UsageRange, $from: DateTime, $to: DateTime, $groupBy: [UsageDimension!]) {
    overall: usage(range: $range, from: $from, to: $to) {
      __typename
      ... on UsageReport {
        from
        to
        bucket
        totals {
          calls
          successes
          failures
          errorRate
          costMicros
          latencyMs { p50 p95 p99 }
        }
        groups {
          series {
            start
            summary { calls failures costMicros latencyMs { p50 p95 p99 } }
          }
        }
      }
      ... on ValidationError { message fieldErrors { path message } }
    }
    grouped: usage(range: $range, from: $from, to: $to, groupBy: $groupBy) {
      __typename
      ... on UsageReport {
        groups {
          providerId
          provider { id slug name }
          clientId
          client { id name }
          keyId
          model
          outcome
          summary {
            calls
            successes
            failures
            errorRate
            costMicros
            promptTokens
            completionTokens
            latencyMs { p50 p95 p99 }
          }
          series {
            start
            summary { calls successes failures errorRate costMicros latencyMs { p50 p95 p99 } }
          }
        }
      }
    }
  }
`);

type Report = Extract<ConsoleUsageQuery['overall'], { __typename: 'UsageReport' }>;
type Group = Extract<ConsoleUsageQuery['grouped'], { __typename: 'UsageReport' }>['groups'][number];

const RANGES: { value: UsageRange | 'CUSTOM'; label: string }[] = [
  { value: 'LAST_HOUR', label: 'Last hour' },
  { value: 'LAST_DAY', label: '24 hours' },
  { value: 'LAST_WEEK', label: '7 days' },
  { value: 'LAST_MONTH', label: '30 days' },
  { value: 'CUSTOM', label: 'Custom' },
];

const GROUPS: { value: UsageDimension | 'NONE'; label: string }[] = [
  { value: 'NONE', label: 'Nothing' },
  { value: 'PROVIDER', label: 'Provider' },
  { value: 'CLIENT', label: 'Client' },
  { value: 'OUTCOME', label: 'Outcome' },
  { value: 'MODEL', label: 'Model' },
  { value: 'KEY', label: 'Provider key' },
];

function labelOf(group: Group, dimension: UsageDimension): string {
  switch (dimension) {
    case 'PROVIDER':
      return group.provider?.slug ?? group.providerId ?? '(none)';
    case 'CLIENT':
      return group.client?.name ?? group.clientId ?? '(no client)';
    case 'OUTCOME':
      return group.outcome ?? '(none)';
    case 'MODEL':
      return group.model ?? '(no model)';
    default:
      return group.keyId ?? '(no key)';
  }
}

const PALETTE = ['#2563eb', '#dc2626', '#0d9488', '#7c3aed', '#d97706'];
const fmtCount = (v: number) => formatNumber(Math.round(v * 100) / 100);
const fmtUsd = (v: number) => formatMicros(v);
const fmtMs = (v: number) => formatMs(v);

function Charts({ report }: { report: Report }) {
  const charts = useMemo(() => {
    const series = report.groups[0]?.series ?? [];
    const times = series.map((p) => Date.parse(p.start));
    const pick = (f: (s: (typeof series)[number]['summary']) => number | null | undefined) =>
      series.map((p) => f(p.summary) ?? null);
    const calls: ChartSeries[] = [
      { label: 'Calls', color: PALETTE[0]!, values: pick((s) => s.calls) },
      { label: 'Failures', color: PALETTE[1]!, values: pick((s) => s.failures), dashed: true },
    ];
    const errors: ChartSeries[] = [
      {
        label: 'Error rate',
        color: PALETTE[1]!,
        values: pick((s) => (s.calls > 0 ? s.failures / s.calls : null)),
      },
    ];
    const cost: ChartSeries[] = [{ label: 'Cost', color: PALETTE[2]!, values: pick((s) => s.costMicros) }];
    const latency: ChartSeries[] = [
      { label: 'p50', color: PALETTE[0]!, values: pick((s) => s.latencyMs.p50) },
      { label: 'p95', color: PALETTE[4]!, values: pick((s) => s.latencyMs.p95) },
      { label: 'p99', color: PALETTE[1]!, values: pick((s) => s.latencyMs.p99) },
    ];
    return { times, calls, errors, cost, latency };
  }, [report]);
  const per = report.bucket === 'HOUR' ? 'per hour' : 'per day';
  return (
    <div className="chart-grid">
      <Panel title={`Calls and failures ${per}`} className="chart-panel" labelledBy="chart-calls">
        <div className="chart-body">
          <TimeChart
            title="Calls and failures over time"
            times={charts.times}
            series={charts.calls}
            format={fmtCount}
          />
        </div>
      </Panel>
      <Panel title={`Error rate ${per}`} className="chart-panel" labelledBy="chart-errors">
        <div className="chart-body">
          <TimeChart
            title="Error rate over time"
            times={charts.times}
            series={charts.errors}
            format={(v) => formatRatio(v, 0)}
          />
        </div>
      </Panel>
      <Panel title={`Cost ${per}`} className="chart-panel" labelledBy="chart-cost">
        <div className="chart-body">
          <TimeChart title="Cost over time" times={charts.times} series={charts.cost} format={fmtUsd} />
        </div>
      </Panel>
      <Panel title="Latency p50 / p95 / p99" className="chart-panel" labelledBy="chart-latency">
        <div className="chart-body">
          <TimeChart
            title="Latency percentiles over time"
            times={charts.times}
            series={charts.latency}
            format={fmtMs}
          />
        </div>
      </Panel>
    </div>
  );
}

function Totals({ report }: { report: Report }) {
  const t = report.totals;
  return (
    <div className="stat-row">
      <div className="stat">
        <div className="stat-label">Calls</div>
        <div className="stat-value" data-stat="calls">
          {formatNumber(t.calls)}
        </div>
        <div className="stat-sub">{formatNumber(t.successes)} succeeded</div>
      </div>
      <div className="stat">
        <div className="stat-label">Failures</div>
        <div className="stat-value">{formatNumber(t.failures)}</div>
        <div className="stat-sub">{formatRatio(t.errorRate)} error rate</div>
      </div>
      <div className="stat">
        <div className="stat-label">Cost</div>
        <div className="stat-value">{formatMicros(t.costMicros)}</div>
        <div className="stat-sub">settled calls only</div>
      </div>
      <div className="stat">
        <div className="stat-label">Latency p50</div>
        <div className="stat-value">{formatMs(t.latencyMs.p50)}</div>
        <div className="stat-sub">
          p95 {formatMs(t.latencyMs.p95)} · p99 {formatMs(t.latencyMs.p99)}
        </div>
      </div>
    </div>
  );
}

function GroupTable({ groups, groupBy }: { groups: Group[]; groupBy: UsageDimension | null }) {
  return (
    <div className="table-wrap">
      <table className="table" aria-label="Usage by group">
        <thead>
          <tr>
            <th scope="col">{groupBy ? GROUPS.find((g) => g.value === groupBy)?.label : 'Calls'}</th>
            <th scope="col" className="num">
              Calls
            </th>
            <th scope="col" className="num">
              Succeeded
            </th>
            <th scope="col" className="num">
              Failed
            </th>
            <th scope="col" className="num">
              Error rate
            </th>
            <th scope="col" className="num">
              Cost
            </th>
            <th scope="col" className="num">
              p50
            </th>
            <th scope="col" className="num">
              p95
            </th>
            <th scope="col" className="num">
              p99
            </th>
            <th scope="col" className="num">
              Tokens in / out
            </th>
          </tr>
        </thead>
        <tbody>
          {groups.map((g, i) => {
            const s = g.summary;
            const label = groupBy ? labelOf(g, groupBy) : 'All calls';
            return (
              // biome-ignore lint/suspicious/noArrayIndexKey: groups have no id; their order is the server's
              <tr key={`${label}-${i}`} data-group={label}>
                <th scope="row" className={groupBy === 'KEY' || groupBy === 'OUTCOME' ? 'mono' : ''}>
                  {label}
                </th>
                <td className="num">{formatNumber(s.calls)}</td>
                <td className="num">{formatNumber(s.successes)}</td>
                <td className="num">{formatNumber(s.failures)}</td>
                <td className="num">{formatRatio(s.errorRate)}</td>
                <td className="num">{formatMicros(s.costMicros)}</td>
                <td className="num">{formatMs(s.latencyMs.p50)}</td>
                <td className="num">{formatMs(s.latencyMs.p95)}</td>
                <td className="num">{formatMs(s.latencyMs.p99)}</td>
                <td className="num">
                  {formatNumber(s.promptTokens)} / {formatNumber(s.completionTokens)}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

/** datetime-local wants local time without a zone. */
function toLocalInput(date: Date): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

export default function UsagePage() {
  const [range, setRange] = useState<UsageRange | 'CUSTOM'>('LAST_DAY');
  const [groupBy, setGroupBy] = useState<UsageDimension | 'NONE'>('PROVIDER');
  const [customDraft, setCustomDraft] = useState(() => ({
    from: toLocalInput(new Date(Date.now() - 3 * 86_400_000)),
    to: toLocalInput(new Date()),
  }));
  const [custom, setCustom] = useState<{ from: string; to: string } | null>(null);
  const dims: UsageDimension[] = groupBy === 'NONE' ? [] : [groupBy];
  const variables =
    range === 'CUSTOM'
      ? {
          from: custom ? new Date(custom.from).toISOString() : null,
          to: custom ? new Date(custom.to).toISOString() : null,
          groupBy: dims,
        }
      : { range, groupBy: dims };
  const [{ data, error, fetching }, reload] = useQuery({
    query: UsageQuery,
    variables,
    pause: range === 'CUSTOM' && !custom,
  });

  const overall = data?.overall;
  const grouped = data?.grouped?.__typename === 'UsageReport' ? data.grouped.groups : null;
  const report = overall?.__typename === 'UsageReport' ? overall : null;
  const invalid = overall?.__typename === 'ValidationError' ? overall : null;
  const customErrors = invalid ? fieldErrorsByField(invalid.fieldErrors, []) : {};

  const download = () => {
    if (!report || !grouped) return;
    const csv = usageCsv(
      dims,
      grouped.map((g) => ({
        labels: Object.fromEntries(dims.map((d) => [d, labelOf(g, d)])),
        series: g.series,
      })),
    );
    const stamp = report.to.slice(0, 16).replace(/[:T]/g, '-');
    downloadText(`tollgate-usage-${stamp}.csv`, csv, 'text/csv;charset=utf-8');
  };

  const applyCustom = (event: FormEvent) => {
    event.preventDefault();
    setCustom({ ...customDraft });
  };

  return (
    <>
      <PageHeader
        title="Usage"
        description="Calls through /proxy, their failures, cost and latency, from the usage report."
        actions={
          <>
            <button
              type="button"
              className="button"
              onClick={() => reload({ requestPolicy: 'network-only' })}
              disabled={fetching}
            >
              Refresh
            </button>
            <button type="button" className="button button-primary" onClick={download} disabled={!grouped}>
              Download CSV
            </button>
          </>
        }
      />
      <Panel>
        <form className="toolbar" onSubmit={applyCustom} aria-label="Report settings">
          <div>
            <span className="field-group-label" aria-hidden="true">
              Range
            </span>
            <fieldset className="segmented">
              <legend>Range</legend>
              {RANGES.map((r) => (
                <label key={r.value}>
                  <input
                    type="radio"
                    name="range"
                    value={r.value}
                    checked={range === r.value}
                    onChange={() => setRange(r.value)}
                  />
                  {r.label}
                </label>
              ))}
            </fieldset>
          </div>
          <Field label="Group by">
            {(p) => (
              <select
                {...p}
                value={groupBy}
                onChange={(e) => setGroupBy(e.target.value as UsageDimension | 'NONE')}
              >
                {GROUPS.map((g) => (
                  <option key={g.value} value={g.value}>
                    {g.label}
                  </option>
                ))}
              </select>
            )}
          </Field>
          {range === 'CUSTOM' ? (
            <>
              <Field label="From" errors={customErrors.from}>
                {(p) => (
                  <input
                    {...p}
                    type="datetime-local"
                    value={customDraft.from}
                    onChange={(e) => setCustomDraft({ ...customDraft, from: e.target.value })}
                  />
                )}
              </Field>
              <Field label="To" errors={customErrors.to}>
                {(p) => (
                  <input
                    {...p}
                    type="datetime-local"
                    value={customDraft.to}
                    onChange={(e) => setCustomDraft({ ...customDraft, to: e.target.value })}
                  />
                )}
              </Field>
              <button type="submit" className="button">
                Show
              </button>
            </>
          ) : null}
          {report ? (
            <p className="chart-summary toolbar-note">
              {new Date(report.from).toLocaleString('en-US')} – {new Date(report.to).toLocaleString('en-US')}{' '}
              · {report.bucket === 'HOUR' ? 'hourly' : 'daily'} points
            </p>
          ) : null}
        </form>
      </Panel>
      {error ? <ErrorNotice error={error} /> : null}
      {invalid ? (
        <Outcome tone="bad">
          {invalid.message} {invalid.fieldErrors.map((e) => `${e.path.join('.')}: ${e.message}`).join('; ')}
        </Outcome>
      ) : null}
      {range === 'CUSTOM' && !custom ? (
        <Panel>
          <EmptyState title="Choose a window">
            <p>Pick the start and end, then Show.</p>
          </EmptyState>
        </Panel>
      ) : !data && !error ? (
        <Loading />
      ) : report ? (
        <>
          <Totals report={report} />
          <Charts report={report} />
          <Panel
            title={
              groupBy === 'NONE'
                ? 'Totals'
                : `By ${GROUPS.find((g) => g.value === groupBy)?.label.toLowerCase()}`
            }
            labelledBy="usage-table-title"
          >
            {grouped && grouped.length > 0 ? (
              <GroupTable groups={grouped} groupBy={groupBy === 'NONE' ? null : groupBy} />
            ) : (
              <EmptyState title="No calls in this window" />
            )}
          </Panel>
        </>
      ) : null}
    </>
  );
}
