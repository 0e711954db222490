import type { UsageDimension } from '../../gql/graphql.ts';

export interface CsvGroup {
  labels: Partial<Record<UsageDimension, string>>;
  series: {
    start: string;
    summary: {
      calls: number;
      successes: number;
      failures: number;
      errorRate: number;
      costMicros: number;
      latencyMs: { p50?: number | null; p95?: number | null; p99?: number | null };
    };
  }[];
}

/** RFC 4180: quote a field that holds a comma, quote or line break; formulas are defused. */
function cell(value: string | number | null | undefined): string {
  if (value == null) return '';
  let text = String(value);
  // A spreadsheet would run a cell starting with = + - @ as a formula (CSV injection).
  if (typeof value === 'string' && /^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

const round = (n: number | null | undefined, digits: number) =>
  n == null ? null : Math.round(n * 10 ** digits) / 10 ** digits;

/**
 * The report as CSV, made in the browser from the same GraphQL answer the page shows: one line per
 * group and time bucket that had calls.
 */
export function usageCsv(groupBy: UsageDimension[], groups: CsvGroup[]): string {
  const header = [
    ...groupBy.map((d) => d.toLowerCase()),
    'bucket_start',
    'calls',
    'successes',
    'failures',
    'error_rate',
    'cost_usd',
    'cost_micros',
    'latency_p50_ms',
    'latency_p95_ms',
    'latency_p99_ms',
  ];
  const lines = [header.join(',')];
  for (const group of groups) {
    for (const point of group.series) {
      const s = point.summary;
      if (s.calls === 0) continue;
      lines.push(
        [
          ...groupBy.map((d) => group.labels[d] ?? ''),
          point.start,
          s.calls,
          s.successes,
          s.failures,
          round(s.errorRate, 4),
          (s.costMicros / 1_000_000).toFixed(6),
          s.costMicros,
          round(s.latencyMs.p50, 1),
          round(s.latencyMs.p95, 1),
          round(s.latencyMs.p99, 1),
        ]
          .map(cell)
          .join(','),
      );
    }
  }
  return `${lines.join('\r\n')}\r\n`;
}
