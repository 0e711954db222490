import { memo } from 'react';
import { Link } from 'react-router';
import {
  formatMicros,
  formatMs,
  formatNumber,
  formatPercent,
  formatRatio,
  formatRelative,
  formatTime,
} from '../../components/format.ts';
import { Badge, EmptyState, type Tone } from '../../components/ui.tsx';
import type { CircuitState, HealthStatus } from '../../gql/graphql.ts';
import type { LiveState } from './live-state.ts';
import type { OverviewProvider } from './OverviewPage.tsx';

const HEALTH_TONE: Record<HealthStatus, Tone> = {
  HEALTHY: 'ok',
  DEGRADED: 'warn',
  DOWN: 'bad',
  UNKNOWN: 'neutral',
};
const CIRCUIT_TONE: Record<CircuitState, Tone> = {
  CLOSED: 'ok',
  HALF_OPEN: 'warn',
  OPEN: 'bad',
  ISOLATED: 'bad',
};
const CIRCUIT_LABEL: Record<CircuitState, string> = {
  CLOSED: 'Closed',
  HALF_OPEN: 'Half-open',
  OPEN: 'Open',
  ISOLATED: 'Open (tripped)',
};
const label = (s: string) => (s.charAt(0) + s.slice(1).toLowerCase()).replace(/_/g, ' ');
const KIND_LABEL: Record<string, string> = {
  OPENAI_COMPATIBLE: 'OpenAI-compatible',
  GENERIC_HTTP: 'HTTP API',
};

/** The live value when it is at least as new as the one the query returned. */
function newest<T>(
  queried: T,
  queriedAt: string | null | undefined,
  live: T | undefined,
  liveAt: string | undefined,
) {
  if (live === undefined || liveAt === undefined) return { value: queried, at: queriedAt ?? null };
  if (queriedAt && new Date(queriedAt) > new Date(liveAt)) return { value: queried, at: queriedAt };
  return { value: live, at: liveAt };
}

function Headroom({ provider }: { provider: OverviewProvider }) {
  const headroom = provider.rateLimitHeadroom;
  if (!provider.rateLimit) return <span className="muted">No limit</span>;
  if (!headroom) return <span className="muted">Unknown</span>;
  const share = headroom.limit === 0 ? 0 : headroom.remaining / headroom.limit;
  const tone = share < 0.1 ? 'bad' : share < 0.3 ? 'warn' : 'ok';
  return (
    <span className="headroom" title={`${headroom.remaining} of ${headroom.limit} calls left this period`}>
      <span className="headroom-text">
        {formatNumber(headroom.remaining)} / {formatNumber(headroom.limit)}
      </span>
      <span className="headroom-bar" aria-hidden="true">
        <span className={`headroom-fill headroom-${tone}`} style={{ width: `${Math.round(share * 100)}%` }} />
      </span>
    </span>
  );
}

/** Memoised: it re-renders when the providers or their live state change, not with the page. */
export const ProviderTable = memo(function ProviderTable({
  providers,
  live,
}: {
  providers: OverviewProvider[];
  live: Map<string, LiveState>;
}) {
  if (providers.length === 0) {
    return (
      <EmptyState title="No providers yet">
        <p>
          Add one on the <Link to="/providers">Providers</Link> page, with <code>tollgate config apply</code>,
          or the <code>createProvider</code> mutation.
        </p>
      </EmptyState>
    );
  }
  return (
    <div className="table-wrap">
      <table className="table overview-table">
        <caption className="visually-hidden">
          Providers with their state, last hour's traffic and today's spend
        </caption>
        <thead>
          <tr>
            <th scope="col">Provider</th>
            <th scope="col">Health</th>
            <th scope="col">Circuit</th>
            <th scope="col" className="num">
              Calls (1 h)
            </th>
            <th scope="col" className="num">
              Errors (1 h)
            </th>
            <th scope="col" className="num">
              p95 (1 h)
            </th>
            <th scope="col" className="num">
              Spend today
            </th>
            <th scope="col">Rate-limit headroom</th>
          </tr>
        </thead>
        <tbody>
          {providers.map((p) => {
            const state = live.get(p.slug);
            const health = newest(p.health.status, p.health.changedAt, state?.health, state?.healthAt);
            const healthReason = health.value === state?.health ? state.healthReason : p.health.reason;
            const circuit = newest(p.circuit.state, p.circuit.since, state?.circuit, state?.circuitAt);
            const circuitReason = circuit.value === state?.circuit ? state.circuitReason : p.circuit.reason;
            const errorRate = p.lastHour.errorRate;
            return (
              <tr key={p.id} data-provider={p.slug} className={p.enabled ? undefined : 'row-disabled'}>
                <td>
                  <Link to={`/providers/${encodeURIComponent(p.slug)}`} className="provider-name">
                    {p.name}
                  </Link>
                  <span className="cell-sub">
                    <span className="mono">{p.slug}</span> · {KIND_LABEL[p.kind] ?? label(p.kind)}
                    {p.enabled ? null : (
                      <>
                        {' · '}
                        <Badge tone="neutral">Disabled</Badge>
                      </>
                    )}
                  </span>
                </td>
                <td data-cell="health">
                  <Badge tone={HEALTH_TONE[health.value]} title={healthReason}>
                    {label(health.value)}
                  </Badge>
                  <span className="cell-sub" title="Share of the last 24 h not DOWN">
                    {p.health.uptime.availabilityPercent == null
                      ? 'no data (24 h)'
                      : `${formatPercent(p.health.uptime.availabilityPercent)} up (24 h)`}
                  </span>
                </td>
                <td data-cell="circuit">
                  <Badge tone={CIRCUIT_TONE[circuit.value]} title={circuitReason}>
                    {CIRCUIT_LABEL[circuit.value]}
                  </Badge>
                  <span className="cell-sub" title={formatTime(circuit.at)}>
                    {circuit.at ? `since ${formatRelative(circuit.at)}` : '\u00a0'}
                  </span>
                </td>
                <td className="num">{formatNumber(p.lastHour.calls)}</td>
                <td className={`num ${errorRate >= 0.05 ? 'text-bad' : ''}`}>
                  {p.lastHour.calls === 0 ? '—' : formatRatio(errorRate)}
                </td>
                <td className="num">{formatMs(p.lastHour.latencyMs.p95)}</td>
                <td className="num">{formatMicros(p.today.costMicros)}</td>
                <td>
                  <Headroom provider={p} />
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
});
