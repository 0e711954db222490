import { useEffect, useMemo } from 'react';
import { useQuery, useSubscription } from 'urql';
import { EventFeed } from '../../components/EventFeed.tsx';
import { formatMicros, formatNumber, formatRatio } from '../../components/format.ts';
import { ErrorNotice, Loading, PageHeader, Panel } from '../../components/ui.tsx';
import { graphql } from '../../gql/index.ts';
import { useLiveEvents } from '../../graphql/live-events.tsx';
import { type LiveState, liveStateBySlug } from './live-state.ts';
import { OverviewQuery } from './overview-query.ts';
import { OVERVIEW_PAGE, overviewVariables } from './overview-variables.ts';
import { ProviderTable } from './ProviderTable.tsx';
import './overview.css';

const ProviderChangedSubscription = graphql(`
  subscription ConsoleProviderChanged {
    providerChanged { id change slug }
  }
`);

export type OverviewProvider = NonNullable<
  ReturnType<typeof useOverview>['data']
>['providers']['edges'][number]['node'];

function useOverview() {
  // The same variables the entry prefetched with (boot/prefetch-first-page.ts).
  const variables = useMemo(overviewVariables, []);
  const [result, reexecute] = useQuery({ query: OverviewQuery, variables });
  return { ...result, reload: () => reexecute({ requestPolicy: 'network-only' }) };
}

function Summary({
  providers,
  total,
  live,
}: {
  providers: OverviewProvider[];
  /** Every provider (totalCount): the table, and the other tiles, have the first page only. */
  total: number;
  live: Map<string, LiveState>;
}) {
  let healthy = 0;
  let down = 0;
  let open = 0;
  let calls = 0;
  let failures = 0;
  let spend = 0;
  for (const p of providers) {
    const state = live.get(p.slug);
    const health = state?.health ?? p.health.status;
    const circuit = state?.circuit ?? p.circuit.state;
    if (health === 'HEALTHY') healthy++;
    if (health === 'DOWN') down++;
    if (circuit !== 'CLOSED') open++;
    calls += p.lastHour.calls;
    failures += p.lastHour.failures;
    spend += p.today.costMicros;
  }
  const tiles = [
    {
      label: 'Providers',
      value: formatNumber(total),
      sub: `${formatNumber(providers.filter((p) => p.enabled).length)} enabled${total > providers.length ? ` of the first ${providers.length}` : ''}`,
    },
    { label: 'Healthy', value: formatNumber(healthy), sub: down > 0 ? `${down} down` : 'none down' },
    {
      label: 'Circuits not closed',
      value: formatNumber(open),
      sub: open > 0 ? 'calls refused or probing' : 'all closed',
    },
    {
      label: 'Calls, last hour',
      value: formatNumber(calls),
      sub: `${formatRatio(calls === 0 ? 0 : failures / calls)} errors`,
    },
    { label: 'Spend today', value: formatMicros(spend), sub: 'since local midnight' },
  ];
  return (
    <dl className="tiles">
      {tiles.map((tile) => (
        <div key={tile.label} className="tile">
          <dt>{tile.label}</dt>
          <dd>
            <span className="tile-value">{tile.value}</span>
            <span className="tile-sub">{tile.sub}</span>
          </dd>
        </div>
      ))}
    </dl>
  );
}

/**
 * Every provider at a glance, from one GraphQL request; circuit and health changes from the
 * live event stream (any replica), applied without a reload.
 */
export default function OverviewPage() {
  const { data, error, fetching, reload } = useOverview();
  const { events, resyncs } = useLiveEvents();
  const live = useMemo(() => liveStateBySlug(events), [events]);

  // Providers created, changed or deleted elsewhere: read the list again.
  const [changed] = useSubscription({ query: ProviderChangedSubscription });
  const changedId = changed.data?.providerChanged.id;
  // biome-ignore lint/correctness/useExhaustiveDependencies: reload on a new change event (or a resync) only
  useEffect(() => {
    if (changedId || resyncs > 0) reload();
  }, [changedId, resyncs]);

  // Kept from render to render (and the table memoised): the connection state and the viewer
  // arriving re-render the page, and 100 rows need not be rendered again for that.
  const providers = useMemo(() => data?.providers.edges.map((e) => e.node) ?? [], [data]);
  return (
    <>
      <PageHeader
        title="Overview"
        description="Every provider's state, traffic and spend. Circuit and health changes arrive live from every replica."
        actions={
          <button type="button" className="button" onClick={reload} disabled={fetching}>
            Refresh numbers
          </button>
        }
      />
      {error ? <ErrorNotice error={error} title="Could not load the overview" /> : null}
      {!data && !error ? <Loading label="Loading providers" /> : null}
      {data ? (
        <>
          <Summary providers={providers} total={data.providers.totalCount} live={live} />
          <Panel title="Providers" labelledBy="providers-heading" className="overview-providers">
            <ProviderTable providers={providers} live={live} />
            {data.providers.pageInfo.hasNextPage ? (
              <p className="panel-footnote">
                Showing the first {OVERVIEW_PAGE} of {formatNumber(data.providers.totalCount)} providers.
              </p>
            ) : null}
          </Panel>
        </>
      ) : null}
      <Panel title="Live events" labelledBy="events-heading">
        <EventFeed events={events} />
      </Panel>
    </>
  );
}
