import { useEffect, useMemo, useRef, useState } from 'react';
import { Link, useSearchParams } from 'react-router';
import { useQuery } from 'urql';
import { useCan } from '../../auth/viewer.tsx';
import { countOf, formatRelative, formatTime } from '../../components/format.ts';
import { EmptyState, ErrorNotice, Loading, PageHeader, Panel } from '../../components/ui.tsx';
import type { CircuitState, HealthStatus, ProviderKind } from '../../gql/graphql.ts';
import { useLiveEvents } from '../../graphql/live-events.tsx';
import { ProviderListQuery } from './operations.ts';
import {
  CIRCUIT_STATES,
  CircuitBadge,
  EnabledBadge,
  HEALTH_STATUSES,
  HealthBadge,
  words,
} from './status.tsx';

/** Providers per page (the API's most). */
const PAGE = 100;

/**
 * Live state newer than the list's data: the shared gatewayEvents feed carries circuit and health
 * changes from every replica, so the list shows them without asking again.
 */
function useLiveOverlay(since: number) {
  const { events } = useLiveEvents();
  return useMemo(() => {
    const circuit = new Map<string, CircuitState>();
    const health = new Map<string, HealthStatus>();
    // Newest first: the first event seen for a provider is its current state.
    for (const event of events) {
      if (new Date(event.at).getTime() < since) break;
      if (event.__typename === 'CircuitStateEvent' && !circuit.has(event.provider))
        circuit.set(event.provider, event.circuitTo);
      if (event.__typename === 'ProviderHealthEvent' && !health.has(event.provider))
        health.set(event.provider, event.healthTo);
    }
    return { circuit, health };
  }, [events, since]);
}

export function ProviderList() {
  const canAdmin = useCan('admin');
  const [params, setParams] = useSearchParams();
  const search = params.get('q') ?? '';
  const enabled = params.get('enabled') ?? '';
  const kind = params.get('kind') ?? '';
  const health = params.get('health') ?? '';
  const circuit = params.get('circuit') ?? '';
  const [typed, setTyped] = useState(search);
  const setParam = (key: string, value: string) =>
    setParams(
      (current) => {
        const next = new URLSearchParams(current);
        if (value) next.set(key, value);
        else next.delete(key);
        return next;
      },
      { replace: true },
    );

  // The search is sent to the server a moment after typing stops, not on every key.
  // biome-ignore lint/correctness/useExhaustiveDependencies: setParam is stable enough (URL state)
  useEffect(() => {
    if (typed === search) return;
    const timer = setTimeout(() => setParam('q', typed.trim()), 250);
    return () => clearTimeout(timer);
  }, [typed]);

  const filter = useMemo(
    () => ({
      search: search || null,
      enabled: enabled === '' ? null : enabled === 'true',
      kind: (kind || null) as ProviderKind | null,
    }),
    [search, enabled, kind],
  );
  // Pages are followed forwards by cursor; "Previous page" goes back along the cursors seen.
  const [after, setAfter] = useState<string[]>([]);
  // biome-ignore lint/correctness/useExhaustiveDependencies: a new filter starts from the first page
  useEffect(() => setAfter([]), [filter]);
  const [{ data, error, fetching }] = useQuery({
    query: ProviderListQuery,
    variables: { filter, first: PAGE, after: after.at(-1) ?? null },
  });
  const fetchedAt = useRef(Date.now());
  // biome-ignore lint/correctness/useExhaustiveDependencies: marks when this data arrived
  useEffect(() => {
    fetchedAt.current = Date.now();
  }, [data]);
  const live = useLiveOverlay(fetchedAt.current - 1000);

  const rows = (data?.providers.edges ?? [])
    .map(({ node }) => ({
      ...node,
      circuitState: live.circuit.get(node.slug) ?? node.circuit.state,
      healthStatus: live.health.get(node.slug) ?? node.health.status,
    }))
    .filter((p) => (!health || p.healthStatus === health) && (!circuit || p.circuitState === circuit));

  const filtered = Boolean(search || enabled || kind || health || circuit);

  return (
    <>
      <PageHeader
        title="Providers"
        description="The APIs callers reach through /proxy/{slug}/, with their keys, limits and health."
        actions={
          canAdmin ? (
            <Link className="button button-primary" to="new">
              New provider
            </Link>
          ) : null
        }
      />
      <Panel>
        <search className="filters" aria-label="Filter providers">
          <div className="filter filter-search">
            <label htmlFor="provider-search">Search</label>
            <input
              id="provider-search"
              type="search"
              placeholder="Slug or name"
              value={typed}
              onChange={(e) => setTyped(e.target.value)}
            />
          </div>
          <FilterSelect
            id="filter-enabled"
            label="State"
            value={enabled}
            onChange={(v) => setParam('enabled', v)}
            options={[
              ['', 'All'],
              ['true', 'Enabled'],
              ['false', 'Disabled'],
            ]}
          />
          <FilterSelect
            id="filter-kind"
            label="Kind"
            value={kind}
            onChange={(v) => setParam('kind', v)}
            options={[
              ['', 'All kinds'],
              ['GENERIC_HTTP', 'Generic HTTP'],
              ['OPENAI_COMPATIBLE', 'OpenAI-compatible'],
            ]}
          />
          <FilterSelect
            id="filter-health"
            label="Health"
            value={health}
            onChange={(v) => setParam('health', v)}
            options={[['', 'Any health'], ...HEALTH_STATUSES.map((s) => [s, words(s)] as [string, string])]}
          />
          <FilterSelect
            id="filter-circuit"
            label="Circuit"
            value={circuit}
            onChange={(v) => setParam('circuit', v)}
            options={[['', 'Any circuit'], ...CIRCUIT_STATES.map((s) => [s, words(s)] as [string, string])]}
          />
          {filtered ? (
            <button
              type="button"
              className="button button-small filters-clear"
              onClick={() => {
                setTyped('');
                setParams({}, { replace: true });
              }}
            >
              Clear filters
            </button>
          ) : null}
        </search>
        {error ? <ErrorNotice error={error} /> : null}
        {!data ? (
          <Loading />
        ) : rows.length === 0 ? (
          <EmptyState title={filtered ? 'No provider matches these filters.' : 'No providers yet.'}>
            {filtered ? null : <p>Create one to start proxying calls.</p>}
          </EmptyState>
        ) : (
          <div className="table-wrap">
            <table className="table" aria-busy={fetching}>
              <caption className="visually-hidden">Providers</caption>
              <thead>
                <tr>
                  <th scope="col">Provider</th>
                  <th scope="col">State</th>
                  <th scope="col">Health</th>
                  <th scope="col">Circuit</th>
                  <th scope="col">Kind</th>
                  <th scope="col" className="num">
                    Keys
                  </th>
                  <th scope="col">Fallbacks</th>
                  <th scope="col">Updated</th>
                </tr>
              </thead>
              <tbody>
                {rows.map((p) => {
                  const activeKeys = p.keys.filter((k) => k.status === 'ACTIVE').length;
                  return (
                    <tr key={p.id} data-provider={p.slug}>
                      <td>
                        <Link to={p.slug} className="row-link">
                          {p.name}
                        </Link>
                        <span className="cell-sub mono">{p.baseUrl}</span>
                      </td>
                      <td>
                        <EnabledBadge enabled={p.enabled} />
                      </td>
                      <td data-health={p.healthStatus}>
                        <HealthBadge status={p.healthStatus} title={p.health.reason} />
                      </td>
                      <td data-circuit={p.circuitState}>
                        <CircuitBadge state={p.circuitState} title={p.circuit.reason} />
                      </td>
                      <td>{p.kind === 'OPENAI_COMPATIBLE' ? 'OpenAI-compatible' : 'Generic HTTP'}</td>
                      <td className="num">
                        {p.keySource === 'ENV' ? (
                          <span title="From TOLLGATE_PROVIDER_KEY_*">env</span>
                        ) : (
                          <span title={`${activeKeys} active of ${p.keys.length}`}>
                            {activeKeys}
                            <span className="muted"> / {p.keys.length}</span>
                          </span>
                        )}
                      </td>
                      <td className="mono">
                        {p.fallbacks.map((f) => f.slug).join(' → ') || <span className="muted">—</span>}
                      </td>
                      <td title={formatTime(p.updatedAt)}>{formatRelative(p.updatedAt)}</td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
        )}
        {data && data.providers.totalCount > 0 ? (
          <div className="panel-footer pager">
            <span className="muted" data-total={data.providers.totalCount}>
              {countOf(data.providers.totalCount, 'provider')}
              {search || enabled || kind ? ' match the search and filters' : ''}
              {data.providers.pageInfo.hasNextPage || after.length > 0
                ? ` · page ${after.length + 1} of ${Math.ceil(data.providers.totalCount / PAGE)}`
                : ''}
              {health || circuit ? ' (health and circuit filters apply to this page)' : ''}
            </span>
            {data.providers.pageInfo.hasNextPage || after.length > 0 ? (
              <>
                <button
                  type="button"
                  className="button button-small"
                  disabled={after.length === 0}
                  onClick={() => setAfter(after.slice(0, -1))}
                >
                  Previous page
                </button>
                <button
                  type="button"
                  className="button button-small"
                  disabled={!data.providers.pageInfo.hasNextPage}
                  onClick={() => {
                    const cursor = data.providers.pageInfo.endCursor;
                    if (cursor) setAfter([...after, cursor]);
                  }}
                >
                  Next page
                </button>
              </>
            ) : null}
          </div>
        ) : null}
      </Panel>
    </>
  );
}

function FilterSelect({
  id,
  label,
  value,
  onChange,
  options,
}: {
  id: string;
  label: string;
  value: string;
  onChange: (value: string) => void;
  options: [string, string][];
}) {
  return (
    <div className="filter">
      <label htmlFor={id}>{label}</label>
      <select id={id} value={value} onChange={(e) => onChange(e.target.value)}>
        {options.map(([v, text]) => (
          <option key={v} value={v}>
            {text}
          </option>
        ))}
      </select>
    </div>
  );
}
