import { type FormEvent, useState } from 'react';
import { useMutation, useQuery } from 'urql';
import { Field, fieldErrorsByField, messageOf, Outcome } from '../../components/ops-kit.tsx';
import type { BudgetAction, BudgetPeriod, BudgetScope } from '../../gql/graphql.ts';
import { graphql } from '../../gql/index.ts';

// Two queries: together they would pass the API's query cost limit.
const ProviderChoicesQuery = graphql(`
  query ConsoleBudgetProviderChoices {
    providers(first: 100) { edges { node { id slug name } } }
  }
`);

const ClientChoicesQuery = graphql(`
  query ConsoleBudgetClientChoices {
    clients(first: 100, filter: { status: ACTIVE }) { edges { node { id name } } }
  }
`);

const CreateBudgetMutation = graphql(`
  mutation ConsoleCreateBudget($input: CreateBudgetInput!) {
    createBudget(input: $input) {
      __typename
      ... on BudgetPayload { budget { id name version } }
      ... on ValidationError { message fieldErrors { path message } }
    }
  }
`);

const UpdateBudgetMutation = graphql(`
  mutation ConsoleUpdateBudget($input: UpdateBudgetInput!) {
    updateBudget(input: $input) {
      __typename
      ... on BudgetPayload { budget { id name version } }
      ... on ValidationError { message fieldErrors { path message } }
      ... on VersionMismatchError { message currentVersion }
      ... on NotFoundError { message }
    }
  }
`);

export interface EditableBudget {
  id: string;
  version: number;
  name: string;
  scope: BudgetScope;
  provider?: { slug: string } | null;
  client?: { id: string } | null;
  period: BudgetPeriod;
  timeZone: string;
  limitMicros: number;
  thresholds: number[];
  action: BudgetAction;
}

const SCOPES: { value: BudgetScope; label: string }[] = [
  { value: 'GLOBAL', label: 'Global (every call)' },
  { value: 'PROVIDER', label: 'One provider' },
  { value: 'CLIENT', label: 'One client' },
  { value: 'CLIENT_PROVIDER', label: 'One client on one provider' },
];
const PERIODS: { value: BudgetPeriod; label: string }[] = [
  { value: 'DAY', label: 'Day' },
  { value: 'WEEK', label: 'Week (from Monday)' },
  { value: 'MONTH', label: 'Month' },
  { value: 'TOTAL', label: 'Total (never resets)' },
];

const needsProvider = (scope: BudgetScope) => scope === 'PROVIDER' || scope === 'CLIENT_PROVIDER';
const needsClient = (scope: BudgetScope) => scope === 'CLIENT' || scope === 'CLIENT_PROVIDER';

/** Dollars as typed ("12.5", "$1,000") to micros; null when it is not a number. */
function toMicros(text: string): number | null {
  const cleaned = text.replace(/[$,\s]/g, '');
  if (!/^-?\d+(\.\d+)?$/.test(cleaned)) return null;
  return Math.round(Number(cleaned) * 1_000_000);
}

/** "50, 75, 90" to [50, 75, 90]; null when an item is not a whole number. */
function toThresholds(text: string): number[] | null {
  const parts = text
    .split(/[,\s]+/)
    .map((p) => p.replace('%', ''))
    .filter(Boolean);
  if (parts.some((p) => !/^-?\d+$/.test(p))) return null;
  return parts.map(Number);
}

/**
 * Create or edit a budget. Local checks only catch what cannot be sent (a limit that is not a
 * number); everything else is the server's to judge, and its field errors are shown on the fields.
 */
export function BudgetForm({
  budget,
  onDone,
  onCancel,
}: {
  budget?: EditableBudget;
  onDone: (message: string) => void;
  onCancel: () => void;
}) {
  const [{ data: providerChoices }] = useQuery({ query: ProviderChoicesQuery });
  const [{ data: clientChoices }] = useQuery({ query: ClientChoicesQuery });
  const [name, setName] = useState(budget?.name ?? '');
  const [scope, setScope] = useState<BudgetScope>(budget?.scope ?? 'GLOBAL');
  const [provider, setProvider] = useState(budget?.provider?.slug ?? '');
  const [client, setClient] = useState(budget?.client?.id ?? '');
  const [period, setPeriod] = useState<BudgetPeriod>(budget?.period ?? 'MONTH');
  const [timeZone, setTimeZone] = useState(budget?.timeZone ?? '');
  const [limit, setLimit] = useState(budget ? String(budget.limitMicros / 1_000_000) : '');
  const [thresholds, setThresholds] = useState((budget?.thresholds ?? [50, 75, 90]).join(', '));
  const [action, setAction] = useState<BudgetAction>(budget?.action ?? 'BLOCK');
  const [errors, setErrors] = useState<Record<string, string[]>>({});
  const [problem, setProblem] = useState<string | null>(null);
  const [created, create] = useMutation(CreateBudgetMutation);
  const [updated, update] = useMutation(UpdateBudgetMutation);
  const busy = created.fetching || updated.fetching;

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const local: Record<string, string[]> = {};
    const limitMicros = toMicros(limit);
    const thresholdList = toThresholds(thresholds);
    if (limitMicros === null) local.limitMicros = ['must be an amount in dollars, such as 25 or 12.50'];
    if (thresholdList === null) local.thresholds = ['must be whole percentages separated by commas'];
    setErrors(local);
    setProblem(null);
    if (limitMicros === null || thresholdList === null) return;
    const fields = {
      name,
      scope,
      provider: needsProvider(scope) ? provider || null : null,
      client: needsClient(scope) ? client || null : null,
      period,
      limitMicros,
      thresholds: thresholdList,
      action,
      ...(timeZone.trim() ? { timeZone: timeZone.trim() } : {}),
    };
    const response = budget
      ? await update({ input: { id: budget.id, version: budget.version, ...fields } })
      : await create({ input: fields });
    const result =
      response.data && 'updateBudget' in response.data
        ? response.data.updateBudget
        : response.data && 'createBudget' in response.data
          ? response.data.createBudget
          : null;
    if (!result) {
      setProblem(messageOf(response.error));
      return;
    }
    switch (result.__typename) {
      case 'BudgetPayload':
        onDone(budget ? `Saved “${result.budget.name}”.` : `Created “${result.budget.name}”.`);
        return;
      case 'ValidationError': {
        const byField = fieldErrorsByField(result.fieldErrors);
        setErrors(byField);
        setProblem(
          byField[''] ? `${result.message} ${byField[''].join('; ')}` : 'Check the fields marked below.',
        );
        return;
      }
      case 'VersionMismatchError':
        setProblem(
          `Someone changed this budget while you were editing it (now version ${result.currentVersion}). Cancel and edit it again to start from the current values.`,
        );
        return;
      default:
        setProblem(result.message);
    }
  };

  const providers = providerChoices?.providers.edges.map((e) => e.node) ?? [];
  const clients = clientChoices?.clients.edges.map((e) => e.node) ?? [];
  return (
    <form
      className="panel-body"
      onSubmit={submit}
      noValidate
      aria-label={budget ? 'Edit budget' : 'New budget'}
    >
      {problem ? <Outcome tone="bad">{problem}</Outcome> : null}
      <div className="form-grid">
        <Field label="Name" errors={errors.name}>
          {(p) => <input {...p} value={name} onChange={(e) => setName(e.target.value)} autoComplete="off" />}
        </Field>
        <Field label="Scope" errors={errors.scope}>
          {(p) => (
            <select {...p} value={scope} onChange={(e) => setScope(e.target.value as BudgetScope)}>
              {SCOPES.map((s) => (
                <option key={s.value} value={s.value}>
                  {s.label}
                </option>
              ))}
            </select>
          )}
        </Field>
        {needsProvider(scope) || errors.provider ? (
          <Field label="Provider" errors={errors.provider}>
            {(p) => (
              <select {...p} value={provider} onChange={(e) => setProvider(e.target.value)}>
                <option value="">Choose a provider</option>
                {providers.map((pr) => (
                  <option key={pr.id} value={pr.slug}>
                    {pr.name} ({pr.slug})
                  </option>
                ))}
              </select>
            )}
          </Field>
        ) : null}
        {needsClient(scope) || errors.client ? (
          <Field label="Client" errors={errors.client}>
            {(p) => (
              <select {...p} value={client} onChange={(e) => setClient(e.target.value)}>
                <option value="">Choose a client</option>
                {clients.map((c) => (
                  <option key={c.id} value={c.id}>
                    {c.name}
                  </option>
                ))}
              </select>
            )}
          </Field>
        ) : null}
        <Field label="Period" errors={errors.period}>
          {(p) => (
            <select {...p} value={period} onChange={(e) => setPeriod(e.target.value as BudgetPeriod)}>
              {PERIODS.map((s) => (
                <option key={s.value} value={s.value}>
                  {s.label}
                </option>
              ))}
            </select>
          )}
        </Field>
        <Field label="Time zone" errors={errors.timeZone} help="IANA name; Tollgate's default when empty.">
          {(p) => (
            <input
              {...p}
              value={timeZone}
              placeholder="e.g. Europe/Paris"
              onChange={(e) => setTimeZone(e.target.value)}
            />
          )}
        </Field>
        <Field label="Limit (USD)" errors={errors.limitMicros}>
          {(p) => (
            <input {...p} inputMode="decimal" value={limit} onChange={(e) => setLimit(e.target.value)} />
          )}
        </Field>
        <Field label="Alert thresholds (%)" errors={errors.thresholds} help="Ascending, each 1–100.">
          {(p) => <input {...p} value={thresholds} onChange={(e) => setThresholds(e.target.value)} />}
        </Field>
        <Field label="At 100 %" errors={errors.action}>
          {(p) => (
            <select {...p} value={action} onChange={(e) => setAction(e.target.value as BudgetAction)}>
              <option value="BLOCK">Block calls (402 BUDGET_EXCEEDED)</option>
              <option value="ALERT_ONLY">Alert only</option>
            </select>
          )}
        </Field>
      </div>
      <div className="form-actions">
        <button type="submit" className="button button-primary" disabled={busy}>
          {budget ? 'Save budget' : 'Create budget'}
        </button>
        <button type="button" className="button" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}
