import { formatMs, formatRelative, formatTime } from '../../components/format.ts';
import { Panel } from '../../components/ui.tsx';
import type { ProviderDetailData } from './ProviderDetail.tsx';
import { HealthBadge } from './status.tsx';

/** Health now, its recent transitions and the latest probes. */
export function ProviderHealthPanel({ provider }: { provider: ProviderDetailData }) {
  const h = provider.health;
  return (
    <Panel title="Health" labelledBy="health-title">
      <div className="panel-body">
        <dl className="facts">
          <dt>Status</dt>
          <dd>
            <HealthBadge status={h.status} /> <span className="muted">{h.reason}</span>
          </dd>
          <dt>Last check</dt>
          <dd title={formatTime(h.lastCheckAt)}>
            {formatRelative(h.lastCheckAt)}
            {h.lastLatencyMs != null ? ` · ${formatMs(h.lastLatencyMs)}` : ''}
          </dd>
          {h.lastError ? (
            <>
              <dt>Last error</dt>
              <dd className="text-bad">{h.lastError}</dd>
            </>
          ) : null}
          <dt>Probes</dt>
          <dd>
            {provider.healthCheck.enabled
              ? `${provider.healthCheck.method} ${provider.healthCheck.path} every ${formatMs(provider.healthCheck.intervalMs)}`
              : 'not scheduled (Test runs one now)'}
          </dd>
        </dl>
        <h3 className="subheading">History</h3>
        {h.history.length === 0 ? (
          <p className="muted">No status change yet.</p>
        ) : (
          <ol className="timeline" aria-label="Health history">
            {h.history.map((t) => (
              <li key={`${t.at}-${t.to}`}>
                <time dateTime={t.at} title={formatTime(t.at)}>
                  {formatRelative(t.at)}
                </time>
                <span>
                  <HealthBadge status={t.from} /> → <HealthBadge status={t.to} />
                </span>
                <span className="muted">{t.reason}</span>
              </li>
            ))}
          </ol>
        )}
        {h.probes.length > 0 ? (
          <>
            <h3 className="subheading">Latest probes</h3>
            <table className="table table-compact">
              <caption className="visually-hidden">Latest probes</caption>
              <thead>
                <tr>
                  <th scope="col">When</th>
                  <th scope="col">Result</th>
                  <th scope="col" className="num">
                    Latency
                  </th>
                  <th scope="col">Source</th>
                </tr>
              </thead>
              <tbody>
                {h.probes.map((p) => (
                  <tr key={p.at}>
                    <td title={formatTime(p.at)}>{formatRelative(p.at)}</td>
                    <td>
                      {p.ok ? 'OK' : 'Failed'} {p.status ? `(${p.status})` : ''}
                      {p.error ? <span className="cell-sub">{p.error}</span> : null}
                    </td>
                    <td className="num">{formatMs(p.latencyMs)}</td>
                    <td>{p.source.toLowerCase()}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </>
        ) : null}
      </div>
    </Panel>
  );
}
