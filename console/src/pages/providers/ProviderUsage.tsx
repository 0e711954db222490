import { useState } from 'react';
import { useQuery } from 'urql';
import { ErrorNotice, Loading, Panel } from '../../components/ui.tsx';
import type { UsageRange } from '../../gql/graphql.ts';
import { ProviderUsageQuery } from './operations.ts';
import { RangePicker, UsageView } from './UsageView.tsx';

export function ProviderUsage({ slug }: { slug: string }) {
  const [range, setRange] = useState<UsageRange>('LAST_DAY');
  const [{ data, error }] = useQuery({
    query: ProviderUsageQuery,
    variables: { slug, range },
    requestPolicy: 'cache-and-network',
  });
  const report = data?.usage;
  return (
    <Panel
      title="Usage"
      labelledBy="usage-title"
      actions={<RangePicker id="provider-usage-range" value={range} onChange={setRange} />}
    >
      <div className="panel-body" data-testid="provider-usage">
        {error ? <ErrorNotice error={error} /> : null}
        {!report ? (
          <Loading />
        ) : report.__typename === 'ValidationError' ? (
          <p className="text-bad">{report.message}</p>
        ) : (
          <UsageView
            totals={report.totals}
            series={report.groups[0]?.series ?? []}
            label={`Calls, failures and p95 latency of ${slug} per ${report.bucket.toLowerCase()}`}
          />
        )}
      </div>
    </Panel>
  );
}
