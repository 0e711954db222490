import { useCallback, useEffect, useState } from 'react';
import { useMutation, useQuery, useSubscription } from 'urql';
import { useCan } from '../../auth/viewer.tsx';
import { countOf, formatClock, formatMicros, formatRelative, formatTime } from '../../components/format.ts';
import { ConfirmButton, messageOf, Outcome } from '../../components/ops-kit.tsx';
import { Badge, EmptyState, ErrorNotice, Loading, PageHeader, Panel } from '../../components/ui.tsx';
import type { ConsoleBudgetAlertSubscription, ConsoleBudgetsQuery } from '../../gql/graphql.ts';
import { graphql } from '../../gql/index.ts';
import { BudgetForm } from './BudgetForm.tsx';
import { SpendBar } from './SpendBar.tsx';

const BudgetsQuery = graphql(`
  query ConsoleBudgets($after: String) {
    budgets(first: 25, after: $after) {
      totalCount
      edges {
        node {
          id
          name
          scope
          provider { id slug name }
          client { id name }
          period
          timeZone
          limitMicros
          thresholds
          action
          periodStart
          periodEnd
          spentMicros
          reservedMicros
          remainingMicros
          projectedSpendMicros
          percentUsed
          version
        }
      }
      pageInfo { hasNextPage endCursor }
    }
  }
`);

const BudgetAlertSubscription = graphql(`
  subscription ConsoleBudgetAlert {
    budgetAlert { id at budgetId budgetName threshold percentUsed spentMicros limitMicros action periodEnd }
  }
`);

const DeleteBudgetMutation = graphql(`
  mutation ConsoleDeleteBudget($id: ID!, $version: Int) {
    deleteBudget(id: $id, version: $version) {
      __typename
      ... on BudgetPayload { budget { id name } }
      ... on VersionMismatchError { message }
      ... on NotFoundError { message }
    }
  }
`);

type Budget = ConsoleBudgetsQuery['budgets']['edges'][number]['node'];
type Alert = ConsoleBudgetAlertSubscription['budgetAlert'];

const PERIOD: Record<Budget['period'], string> = {
  DAY: 'Daily',
  WEEK: 'Weekly',
  MONTH: 'Monthly',
  TOTAL: 'Total',
};

function scopeText(b: Budget): string {
  switch (b.scope) {
    case 'GLOBAL':
      return 'Every call';
    case 'PROVIDER':
      return `Provider ${b.provider?.name ?? '?'}`;
    case 'CLIENT':
      return `Client ${b.client?.name ?? '?'}`;
    default:
      return `Client ${b.client?.name ?? '?'} on ${b.provider?.name ?? '?'}`;
  }
}

function usageBadge(b: Budget) {
  if (b.percentUsed >= 100)
    return <Badge tone="bad">{b.action === 'BLOCK' ? 'Blocking' : 'Over limit'}</Badge>;
  const crossed = b.thresholds.filter((t) => b.percentUsed >= t).at(-1);
  if (crossed != null) return <Badge tone="warn">Past {crossed} %</Badge>;
  return <Badge tone="ok">Within limit</Badge>;
}

function BudgetRow({
  budget,
  canEdit,
  onEdit,
  onDeleted,
}: {
  budget: Budget;
  canEdit: boolean;
  onEdit: () => void;
  onDeleted: (message: string, ok: boolean) => void;
}) {
  const [, remove] = useMutation(DeleteBudgetMutation);
  const del = async () => {
    const response = await remove({ id: budget.id, version: budget.version });
    const result = response.data?.deleteBudget;
    if (result?.__typename === 'BudgetPayload') onDeleted(`Deleted “${budget.name}”.`, true);
    else onDeleted(result && 'message' in result ? result.message : messageOf(response.error), false);
  };
  const headingId = `budget-${budget.id}`;
  return (
    <li className="budget" aria-labelledby={headingId} data-budget={budget.name}>
      <div className="budget-head">
        <div className="budget-title">
          <h3 id={headingId}>{budget.name}</h3>
          {usageBadge(budget)}
        </div>
        <div className="budget-actions">
          <span className="spend-figure">
            <strong>{formatMicros(budget.spentMicros)}</strong> of {formatMicros(budget.limitMicros)} (
            {budget.percentUsed.toFixed(1)} %)
          </span>
          {canEdit ? (
            <>
              <button type="button" className="button button-small" onClick={onEdit}>
                Edit<span className="visually-hidden"> {budget.name}</span>
              </button>
              <ConfirmButton
                small
                label="Delete"
                confirmLabel="Delete budget"
                question={`Delete “${budget.name}”?`}
                onConfirm={del}
              />
            </>
          ) : null}
        </div>
      </div>
      <p className="budget-scope">
        {scopeText(budget)} · {PERIOD[budget.period]}
        {budget.period !== 'TOTAL' ? ` (${budget.timeZone})` : ''} ·{' '}
        {budget.action === 'BLOCK' ? 'blocks at 100 %' : 'alerts only'}
      </p>
      <SpendBar budget={budget} label={budget.name} />
      <p className="cell-sub">
        Period {formatTime(budget.periodStart)}
        {budget.periodEnd
          ? ` – ${formatTime(budget.periodEnd)} (resets ${formatRelative(budget.periodEnd)})`
          : ''}
      </p>
    </li>
  );
}

function AlertFeed({ alerts }: { alerts: Alert[] }) {
  return (
    <Panel title="Live alerts" labelledBy="budget-alerts-title">
      {alerts.length === 0 ? (
        <EmptyState title="No alerts since this page opened">
          <p>A budget crossing one of its thresholds shows here at once.</p>
        </EmptyState>
      ) : (
        <ul className="alert-feed" aria-live="polite" aria-label="Budget alerts">
          {alerts.map((a) => (
            <li key={a.id} className="alert-item" data-alert={a.budgetName}>
              <span className="alert-threshold">
                <Badge tone={a.threshold >= 100 ? 'bad' : 'warn'}>{a.threshold} %</Badge>
              </span>
              <span>
                <strong>{a.budgetName}</strong> crossed {a.threshold} %: {formatMicros(a.spentMicros)} of{' '}
                {formatMicros(a.limitMicros)} ({a.percentUsed.toFixed(1)} %)
              </span>
              <time className="muted" dateTime={a.at} title={formatTime(a.at)}>
                {formatClock(a.at)}
              </time>
            </li>
          ))}
        </ul>
      )}
    </Panel>
  );
}

/**
 * One page of 25 budgets (the API's query cost limit counts every budget's fields), and a button
 * for the next page on the last one.
 */
function BudgetPage({
  after,
  last,
  version,
  canEdit,
  onEdit,
  onDone,
  onMore,
}: {
  after: string | null;
  last: boolean;
  version: number;
  canEdit: boolean;
  onEdit: (budget: Budget) => void;
  onDone: (text: string, ok: boolean) => void;
  onMore: (cursor: string) => void;
}) {
  const [{ data, error }, reload] = useQuery({ query: BudgetsQuery, variables: { after } });
  // biome-ignore lint/correctness/useExhaustiveDependencies: reloads when the page asks for fresh figures
  useEffect(() => {
    if (version > 0) reload({ requestPolicy: 'network-only' });
  }, [version]);
  if (error) return <ErrorNotice error={error} />;
  if (!data) return <Loading />;
  const budgets = data.budgets.edges.map((e) => e.node);
  if (budgets.length === 0 && after === null) {
    return (
      <EmptyState title="No budgets yet">
        <p>A budget limits spend per period for everything, a provider, a client, or both.</p>
      </EmptyState>
    );
  }
  const { hasNextPage, endCursor } = data.budgets.pageInfo;
  return (
    <>
      <ul className="budget-list">
        {budgets.map((b) => (
          <BudgetRow key={b.id} budget={b} canEdit={canEdit} onEdit={() => onEdit(b)} onDeleted={onDone} />
        ))}
      </ul>
      {last ? (
        <div className="pager">
          <span className="muted" data-total={data.budgets.totalCount}>
            {countOf(data.budgets.totalCount, 'budget')}
          </span>
          {hasNextPage && endCursor ? (
            <button type="button" className="button button-small" onClick={() => onMore(endCursor)}>
              Show more budgets
            </button>
          ) : null}
        </div>
      ) : null}
    </>
  );
}

export default function BudgetsPage() {
  const canEdit = useCan('admin');
  const [pages, setPages] = useState<(string | null)[]>([null]);
  const [version, setVersion] = useState(0);
  const [editing, setEditing] = useState<Budget | 'new' | null>(null);
  const [outcome, setOutcome] = useState<{ ok: boolean; text: string } | null>(null);
  const refresh = useCallback(() => setVersion((v) => v + 1), []);

  // Alerts arrive over the WebSocket; each one also refreshes the figures it is about.
  const [{ data: alerts }] = useSubscription(
    { query: BudgetAlertSubscription },
    (previous: Alert[] = [], event) =>
      previous.some((a) => a.id === event.budgetAlert.id)
        ? previous
        : [event.budgetAlert, ...previous].slice(0, 50),
  );
  const latestAlert = alerts?.[0]?.id;
  useEffect(() => {
    if (latestAlert) refresh();
  }, [latestAlert, refresh]);

  const done = (text: string, ok = true) => {
    setEditing(null);
    setOutcome({ ok, text });
    if (ok) setPages([null]);
    refresh();
  };

  return (
    <>
      <PageHeader
        title="Budgets"
        description="Spend this period against each limit, with what calls in flight hold and where the period is heading."
        actions={
          canEdit && editing === null ? (
            <button
              type="button"
              className="button button-primary"
              onClick={() => {
                setOutcome(null);
                setEditing('new');
              }}
            >
              New budget
            </button>
          ) : null
        }
      />
      {outcome ? <Outcome tone={outcome.ok ? 'ok' : 'bad'}>{outcome.text}</Outcome> : null}
      {editing !== null ? (
        <Panel
          title={editing === 'new' ? 'New budget' : `Edit “${editing.name}”`}
          labelledBy="budget-form-title"
        >
          <BudgetForm
            key={editing === 'new' ? 'new' : editing.id}
            budget={editing === 'new' ? undefined : editing}
            onDone={(text) => done(text)}
            onCancel={() => setEditing(null)}
          />
        </Panel>
      ) : null}
      <div className="page-columns">
        <Panel title="Budgets" labelledBy="budget-list-title">
          {pages.map((after, i) => (
            <BudgetPage
              key={after ?? 'first'}
              after={after}
              last={i === pages.length - 1}
              version={version}
              canEdit={canEdit}
              onEdit={(b) => {
                setOutcome(null);
                setEditing(b);
              }}
              onDone={done}
              onMore={(cursor) => setPages([...pages, cursor])}
            />
          ))}
        </Panel>
        <AlertFeed alerts={alerts ?? []} />
      </div>
    </>
  );
}
