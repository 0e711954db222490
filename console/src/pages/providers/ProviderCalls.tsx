import { useEffect } from 'react';
import { useQuery } from 'urql';
import { formatClock, formatMicros, formatMs, formatTime } from '../../components/format.ts';
import { EmptyState, ErrorNotice, Loading, Panel } from '../../components/ui.tsx';
import { ProviderCallsQuery } from './operations.ts';
import { OutcomeBadge } from './status.tsx';

/**
 * The latest calls. Calls have no subscription of their own: the list is asked for when the page
 * opens, when a live event about the provider arrives, and on Refresh.
 */
export function ProviderCalls({ slug, refreshKey }: { slug: string; refreshKey?: unknown }) {
  const [{ data, error, fetching }, reexecute] = useQuery({
    query: ProviderCallsQuery,
    variables: { slug, last: 25 },
    requestPolicy: 'network-only',
  });
  // biome-ignore lint/correctness/useExhaustiveDependencies: refreshKey is the trigger
  useEffect(() => {
    if (refreshKey) reexecute({ requestPolicy: 'network-only' });
  }, [refreshKey]);
  const calls = data?.provider?.recentCalls ?? [];
  return (
    <Panel
      title="Recent calls"
      labelledBy="recent-calls-title"
      actions={
        <button
          type="button"
          className="button button-small"
          onClick={() => reexecute({ requestPolicy: 'network-only' })}
          disabled={fetching}
        >
          {fetching ? 'Refreshing…' : 'Refresh'}
        </button>
      }
    >
      {error ? <ErrorNotice error={error} /> : null}
      {!data ? (
        <Loading />
      ) : calls.length === 0 ? (
        <EmptyState title="No calls yet." />
      ) : (
        <div className="table-wrap">
          <table className="table table-compact" data-testid="recent-calls">
            <caption className="visually-hidden">Recent calls</caption>
            <thead>
              <tr>
                <th scope="col">Time</th>
                <th scope="col">Request</th>
                <th scope="col" className="num">
                  Status
                </th>
                <th scope="col">Outcome</th>
                <th scope="col" className="num">
                  Total
                </th>
                <th scope="col" className="num">
                  Upstream
                </th>
                <th scope="col" className="num">
                  Attempts
                </th>
                <th scope="col">Client</th>
                <th scope="col" className="num">
                  Cost
                </th>
              </tr>
            </thead>
            <tbody>
              {calls.map((c) => (
                <tr key={c.id} data-request-id={c.requestId}>
                  <td title={formatTime(c.at)}>{formatClock(c.at)}</td>
                  <td className="mono">
                    {c.method} {c.path}
                    {c.model ? <span className="cell-sub">{c.model}</span> : null}
                  </td>
                  <td className="num">{c.status}</td>
                  <td>
                    <OutcomeBadge outcome={c.outcome} />
                    {c.fallback ? <span className="cell-sub">via {c.fallback}</span> : null}
                  </td>
                  <td className="num">{formatMs(c.totalMs)}</td>
                  <td className="num">{formatMs(c.upstreamMs)}</td>
                  <td className="num">{c.attempts}</td>
                  <td className="mono">
                    {c.clientId ? c.clientId.slice(0, 8) : <span className="muted">—</span>}
                  </td>
                  <td className="num">{c.costMicros == null ? '—' : formatMicros(c.costMicros)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </Panel>
  );
}
