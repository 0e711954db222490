import { type FormEvent, useState } from 'react';
import { Link, Route, Routes, useNavigate, useParams } from 'react-router';
import { useMutation, useQuery } from 'urql';
import { useCan } from '../../auth/viewer.tsx';
import {
  CheckboxField,
  ConfirmButton,
  errorFor,
  type FieldErrors,
  fieldErrorMap,
  fromLocalDateTime,
  type Outcome,
  OutcomeNotice,
  TextField,
  toInt,
} from '../../components/form-fields.tsx';
import {
  countOf,
  formatMicros,
  formatMs,
  formatRatio,
  formatRelative,
  formatTime,
} from '../../components/format.ts';
import { Badge, EmptyState, ErrorNotice, Loading, PageHeader, Panel } from '../../components/ui.tsx';
import type { ClientStatus, ConsoleClientFieldsFragment, UsageRange } from '../../gql/graphql.ts';
import NotFoundPage from '../not-found/NotFoundPage.tsx';
import { ProviderOptionsQuery } from '../providers/operations.ts';
import { AllowedProvidersFieldset } from './AllowedProvidersFieldset.tsx';
import '../providers/providers.css';
import { RangePicker, UsageView } from '../providers/UsageView.tsx';
import { ClientAccessForm } from './ClientAccessForm.tsx';
import { KeyReveal } from './KeyReveal.tsx';
import {
  ClientBudgetsQuery,
  ClientDetailQuery,
  ClientListQuery,
  ClientUsageQuery,
  CreateClientMutation,
  RevokeClientMutation,
  RotateClientKeyMutation,
} from './operations.ts';

/** /console/clients: the list, /new and /:id. */
export default function ClientsPage() {
  return (
    <Routes>
      <Route index element={<ClientList />} />
      <Route path="new" element={<ClientCreate />} />
      <Route path=":id" element={<ClientDetail />} />
      <Route path="*" element={<NotFoundPage />} />
    </Routes>
  );
}

function StatusBadge({ status }: { status: ClientStatus }) {
  return (
    <Badge tone={status === 'ACTIVE' ? 'ok' : 'neutral'}>{status === 'ACTIVE' ? 'Active' : 'Revoked'}</Badge>
  );
}

function AllowedProviders({ client }: { client: ConsoleClientFieldsFragment }) {
  if (!client.allowedProviders) return <span className="muted">All providers</span>;
  if (client.allowedProviders.length === 0) return <span className="muted">None</span>;
  return (
    <span className="chip-list">
      {client.allowedProviders.map((p) => (
        <Link key={p.id} className="chip" to={`/providers/${p.slug}`}>
          {p.slug}
        </Link>
      ))}
    </span>
  );
}

function ClientList() {
  const canAdmin = useCan('admin');
  const [status, setStatus] = useState<'' | ClientStatus>('ACTIVE');
  const [{ data, error }] = useQuery({
    query: ClientListQuery,
    variables: { filter: status ? { status } : null, first: 100 },
  });
  const clients = data?.clients.edges.map((e) => e.node) ?? [];
  return (
    <>
      <PageHeader
        title="Clients"
        description="Applications that call providers through /proxy with their client key."
        actions={
          canAdmin ? (
            <Link className="button button-primary" to="new">
              New client
            </Link>
          ) : null
        }
      />
      <Panel>
        <search className="filters" aria-label="Filter clients">
          <div className="filter">
            <label htmlFor="client-status">Status</label>
            <select
              id="client-status"
              value={status}
              onChange={(e) => setStatus(e.target.value as '' | ClientStatus)}
            >
              <option value="ACTIVE">Active</option>
              <option value="REVOKED">Revoked</option>
              <option value="">All</option>
            </select>
          </div>
        </search>
        {error ? <ErrorNotice error={error} /> : null}
        {!data ? (
          <Loading />
        ) : clients.length === 0 ? (
          <EmptyState title="No clients here." />
        ) : (
          <div className="table-wrap">
            <table className="table">
              <caption className="visually-hidden">Clients</caption>
              <thead>
                <tr>
                  <th scope="col">Client</th>
                  <th scope="col">Status</th>
                  <th scope="col">Key</th>
                  <th scope="col">May call</th>
                  <th scope="col">Key rotated</th>
                  <th scope="col">Expires</th>
                </tr>
              </thead>
              <tbody>
                {clients.map((c) => (
                  <tr key={c.id} data-client={c.name}>
                    <td>
                      <Link to={c.id} className="row-link">
                        {c.name}
                      </Link>
                      <span className="cell-sub">created by {c.createdBy}</span>
                    </td>
                    <td>
                      <StatusBadge status={c.status} />
                    </td>
                    <td className="mono">{c.keyPrefix}…</td>
                    <td>
                      <AllowedProviders client={c} />
                    </td>
                    <td title={formatTime(c.keyRotatedAt)}>{formatRelative(c.keyRotatedAt)}</td>
                    <td title={formatTime(c.expiresAt)}>
                      {c.expiresAt ? formatRelative(c.expiresAt) : <span className="muted">never</span>}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
        {data && data.clients.totalCount > 0 ? (
          <div className="panel-footer pager">
            <span className="muted" data-total={data.clients.totalCount}>
              {countOf(data.clients.totalCount, status ? `${status.toLowerCase()} client` : 'client')}
              {data.clients.pageInfo.hasNextPage ? ` · showing the first ${clients.length}` : ''}
            </span>
          </div>
        ) : null}
      </Panel>
    </>
  );
}

function ClientCreate() {
  const navigate = useNavigate();
  const canAdmin = useCan('admin');
  const [{ data: options }] = useQuery({ query: ProviderOptionsQuery });
  const [{ fetching }, create] = useMutation(CreateClientMutation);
  const [name, setName] = useState('');
  const [all, setAll] = useState(true);
  const [allowed, setAllowed] = useState<string[]>([]);
  const [expires, setExpires] = useState('');
  const [limited, setLimited] = useState(false);
  const [points, setPoints] = useState('60');
  const [periodMs, setPeriodMs] = useState('60000');
  const [errors, setErrors] = useState<FieldErrors>({});
  const [failure, setFailure] = useState<Outcome>(null);
  const [created, setCreated] = useState<{ id: string; name: string; key: string } | null>(null);

  if (created)
    return (
      <>
        <PageHeader title="Client created" description={<Link to="..">Clients</Link>} />
        <KeyReveal
          clientName={created.name}
          secret={created.key}
          onDone={() => navigate(`../${created.id}`, { replace: true })}
        />
      </>
    );

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setFailure(null);
    const r = await create({
      input: {
        name,
        allowedProviders: all ? null : allowed,
        expiresAt: fromLocalDateTime(expires),
        rateLimit: limited
          ? { points: toInt(points) ?? Number.NaN, periodMs: toInt(periodMs) ?? Number.NaN }
          : null,
      },
    });
    const a = r.data?.createClient;
    if (a?.__typename === 'ClientKeyPayload')
      setCreated({ id: a.client.id, name: a.client.name, key: a.key });
    else if (a?.__typename === 'ValidationError') setErrors(fieldErrorMap(a.fieldErrors));
    else
      setFailure({ tone: 'bad', message: r.error?.graphQLErrors[0]?.message ?? 'Tollgate did not answer.' });
  };

  const slugs = options?.providers.edges.map((e) => e.node.slug) ?? [];
  return (
    <>
      <PageHeader title="New client" description={<Link to="..">Clients</Link>} />
      <Panel>
        <form className="panel-body" onSubmit={submit} noValidate aria-label="New client">
          <fieldset className="form-body" disabled={!canAdmin}>
            <div className="field-grid field-grid-2">
              <TextField
                name="clientName"
                label="Name"
                value={name}
                onChange={setName}
                error={errorFor(errors, 'name')}
                required
              />
              <TextField
                name="clientExpires"
                label="Expires"
                type="datetime-local"
                value={expires}
                onChange={setExpires}
                error={errorFor(errors, 'expiresAt')}
                help="Optional; the key stops working then."
              />
            </div>
            <AllowedProvidersFieldset
              slugs={slugs}
              all={all}
              onAllChange={setAll}
              allowed={allowed}
              onAllowedChange={setAllowed}
              errors={errors}
            />
            <fieldset className="fieldset">
              <legend>Rate limit</legend>
              <CheckboxField
                name="clientLimited"
                label="Limit this client's calls (on top of the providers' limits)"
                checked={limited}
                onChange={setLimited}
              />
              {limited ? (
                <div className="field-grid field-grid-2">
                  <TextField
                    name="clientPoints"
                    label="Calls per period"
                    type="number"
                    value={points}
                    onChange={setPoints}
                    error={errorFor(errors, 'rateLimit.points')}
                  />
                  <TextField
                    name="clientPeriod"
                    label="Period (ms)"
                    type="number"
                    value={periodMs}
                    onChange={setPeriodMs}
                    error={errorFor(errors, 'rateLimit.periodMs')}
                  />
                </div>
              ) : null}
            </fieldset>
          </fieldset>
          <OutcomeNotice outcome={failure} />
          {canAdmin ? (
            <button type="submit" className="button button-primary" disabled={fetching}>
              {fetching ? 'Creating…' : 'Create client'}
            </button>
          ) : null}
        </form>
      </Panel>
    </>
  );
}

function ClientDetail() {
  const canAdmin = useCan('admin');
  const { id = '' } = useParams();
  const [range, setRange] = useState<UsageRange>('LAST_DAY');
  const [{ data, error }, reload] = useQuery({ query: ClientDetailQuery, variables: { id } });
  const [editing, setEditing] = useState(false);
  const [{ data: usageData }, reexecute] = useQuery({ query: ClientUsageQuery, variables: { id, range } });
  const [{ data: budgetData }] = useQuery({ query: ClientBudgetsQuery, variables: { id } });
  const [, rotate] = useMutation(RotateClientKeyMutation);
  const [, revoke] = useMutation(RevokeClientMutation);
  const [outcome, setOutcome] = useState<Outcome>(null);
  const [newKey, setNewKey] = useState<string | null>(null);

  if (error && !data) return <ErrorNotice error={error} />;
  if (!data) return <Loading />;
  const client = data.client;
  if (!client)
    return (
      <>
        <PageHeader title="Client not found" />
        <Panel>
          <EmptyState title="There is no such client.">
            <Link to="..">All clients</Link>
          </EmptyState>
        </Panel>
      </>
    );

  const usage = usageData?.usage.__typename === 'UsageReport' ? usageData.usage : null;
  const byProvider = usageData?.byProvider.__typename === 'UsageReport' ? usageData.byProvider.groups : [];
  const budgets = budgetData?.budgets.edges.map((e) => e.node) ?? [];
  const active = client.status === 'ACTIVE';

  return (
    <>
      <PageHeader
        title={client.name}
        description={
          <>
            <Link to="/clients">Clients</Link> / <span className="mono">{client.keyPrefix}…</span>
          </>
        }
        actions={
          active && canAdmin ? (
            <>
              <ConfirmButton
                tone="primary"
                className="button"
                title={`Rotate the key of ${client.name}?`}
                body={
                  <p>
                    A new key is issued and shown once. The current key stops working at once, on every
                    replica.
                  </p>
                }
                confirmLabel="Rotate key"
                onConfirm={async () => {
                  const r = await rotate({ id: client.id });
                  const a = r.data?.rotateClientKey;
                  if (a?.__typename === 'ClientKeyPayload') {
                    setNewKey(a.key);
                    setOutcome(null);
                  } else setOutcome({ tone: 'bad', message: a?.message ?? r.error?.message ?? 'Failed.' });
                }}
              >
                Rotate key
              </ConfirmButton>
              <ConfirmButton
                title={`Revoke ${client.name}?`}
                body={
                  <p>
                    Its key stops working at once and cannot be restored; create a new client to call again.
                  </p>
                }
                confirmLabel="Revoke client"
                onConfirm={async () => {
                  const r = await revoke({ id: client.id });
                  const a = r.data?.revokeClient;
                  setNewKey(null);
                  setOutcome(
                    a?.__typename === 'ClientPayload'
                      ? { tone: 'ok', message: 'Client revoked: its key no longer works.' }
                      : { tone: 'bad', message: a?.message ?? r.error?.message ?? 'Failed.' },
                  );
                }}
              >
                Revoke
              </ConfirmButton>
            </>
          ) : null
        }
      />
      {newKey ? <KeyReveal clientName={client.name} secret={newKey} onDone={() => setNewKey(null)} /> : null}
      <OutcomeNotice outcome={outcome} onDismiss={() => setOutcome(null)} />
      <div className="grid-2">
        <Panel
          title="Client"
          labelledBy="client-facts-title"
          actions={
            canAdmin && active ? (
              <button
                type="button"
                className="button button-small"
                aria-expanded={editing}
                onClick={() => setEditing(!editing)}
              >
                {editing ? 'Cancel' : 'Edit access'}
              </button>
            ) : null
          }
        >
          <div className="panel-body">
            <dl className="facts">
              <dt>Status</dt>
              <dd>
                <StatusBadge status={client.status} />
              </dd>
              <dt>Key</dt>
              <dd className="mono">{client.keyPrefix}…</dd>
              <dt>Key rotated</dt>
              <dd title={formatTime(client.keyRotatedAt)}>{formatRelative(client.keyRotatedAt)}</dd>
              <dt>Expires</dt>
              <dd>{client.expiresAt ? formatTime(client.expiresAt) : 'never'}</dd>
              <dt>May call</dt>
              <dd>
                <AllowedProviders client={client} />
              </dd>
              <dt>Rate limit</dt>
              <dd>
                {client.rateLimit
                  ? `${client.rateLimit.points} calls per ${formatMs(client.rateLimit.periodMs)}`
                  : 'none of its own'}
              </dd>
              <dt>Created</dt>
              <dd>
                {formatTime(client.createdAt)} by {client.createdBy}
              </dd>
            </dl>
            {editing ? (
              <ClientAccessForm
                key={client.version}
                client={client}
                onReload={() => reload({ requestPolicy: 'network-only' })}
                onDone={(message) => {
                  setEditing(false);
                  setOutcome({ tone: 'ok', message });
                }}
              />
            ) : null}
          </div>
        </Panel>
        <Panel title="Budgets" labelledBy="client-budgets-title">
          {budgets.length === 0 ? (
            <EmptyState title="No budget limits this client." />
          ) : (
            <table className="table table-compact">
              <caption className="visually-hidden">Budgets of {client.name}</caption>
              <thead>
                <tr>
                  <th scope="col">Budget</th>
                  <th scope="col">Period</th>
                  <th scope="col" className="num">
                    Spent
                  </th>
                  <th scope="col" className="num">
                    Limit
                  </th>
                  <th scope="col" className="num">
                    Used
                  </th>
                </tr>
              </thead>
              <tbody>
                {budgets.map((b) => (
                  <tr key={b.id}>
                    <td>
                      {b.name}
                      <span className="cell-sub">
                        {b.scope === 'CLIENT_PROVIDER' ? `on ${b.provider?.slug}` : 'all providers'} ·{' '}
                        {b.action === 'BLOCK' ? 'blocks' : 'alerts'}
                      </span>
                    </td>
                    <td>{b.period.toLowerCase()}</td>
                    <td className="num">{formatMicros(b.spentMicros)}</td>
                    <td className="num">{formatMicros(b.limitMicros)}</td>
                    <td className="num">{b.percentUsed.toFixed(1)} %</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </Panel>
      </div>
      <Panel
        title="Usage"
        labelledBy="client-usage-title"
        actions={<RangePicker id="client-usage-range" value={range} onChange={setRange} />}
      >
        <div className="panel-body">
          {usage ? (
            <UsageView
              totals={usage.totals}
              series={usage.groups[0]?.series ?? []}
              label={`Calls of ${client.name} per ${usage.bucket.toLowerCase()}`}
            />
          ) : (
            <Loading />
          )}
          {byProvider.length > 0 ? (
            <table className="table table-compact">
              <caption className="subheading">By provider</caption>
              <thead>
                <tr>
                  <th scope="col">Provider</th>
                  <th scope="col" className="num">
                    Calls
                  </th>
                  <th scope="col" className="num">
                    Error rate
                  </th>
                  <th scope="col" className="num">
                    Cost
                  </th>
                </tr>
              </thead>
              <tbody>
                {byProvider.map((g) => (
                  <tr key={g.providerId ?? 'none'}>
                    <td>
                      {g.provider ? (
                        <Link to={`/providers/${g.provider.slug}`}>{g.provider.name}</Link>
                      ) : (
                        <span className="muted">unknown</span>
                      )}
                    </td>
                    <td className="num">{g.summary.calls}</td>
                    <td className="num">{formatRatio(g.summary.errorRate)}</td>
                    <td className="num">{formatMicros(g.summary.costMicros)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          ) : null}
          <button
            type="button"
            className="button button-small"
            onClick={() => reexecute({ requestPolicy: 'network-only' })}
          >
            Refresh
          </button>
        </div>
      </Panel>
    </>
  );
}
