import { type FormEvent, Fragment, useState } from 'react';
import { useQuery } from 'urql';
import { useCan } from '../../auth/viewer.tsx';
import { formatRelative, formatTime } from '../../components/format.ts';
import { Field } from '../../components/ops-kit.tsx';
import { Badge, EmptyState, ErrorNotice, Loading, PageHeader, Panel } from '../../components/ui.tsx';
import type { AuditFilter, ConsoleAuditLogQuery } from '../../gql/graphql.ts';
import { graphql } from '../../gql/index.ts';
import { auditChange, showValue } from './audit-diff.ts';

const AuditLogQuery = graphql(`
  query ConsoleAuditLog($first: Int!, $after: String, $filter: AuditFilter, $withDetails: Boolean!) {
    auditLog(first: $first, after: $after, filter: $filter) {
      edges {
        cursor
        node {
          id
          at
          actor
          actorEmail
          actorRole
          action
          targetType
          targetId
          requestId
          details @include(if: $withDetails)
        }
      }
      pageInfo { hasNextPage endCursor }
    }
  }
`);

type Entry = ConsoleAuditLogQuery['auditLog']['edges'][number]['node'];

const PAGE = 25;
const TARGET_TYPES = [
  'Provider',
  'ProviderKey',
  'Client',
  'Budget',
  'AlertChannel',
  'Config',
  'MasterKeyRotation',
];

interface Draft {
  actor: string;
  action: string;
  targetType: string;
  targetId: string;
  since: string;
  until: string;
}
const EMPTY: Draft = { actor: '', action: '', targetType: '', targetId: '', since: '', until: '' };

function toFilter(d: Draft): AuditFilter {
  const filter: AuditFilter = {};
  if (d.actor.trim()) filter.actor = d.actor.trim();
  if (d.action.trim()) filter.action = d.action.trim();
  if (d.targetType) filter.targetType = d.targetType;
  if (d.targetId.trim()) filter.targetId = d.targetId.trim();
  if (d.since) filter.since = new Date(d.since).toISOString();
  if (d.until) filter.until = new Date(d.until).toISOString();
  return filter;
}

function actionTone(action: string) {
  if (/\.(delete|revoke|disable|trip)$|refused|expire/.test(action)) return 'bad' as const;
  if (/\.(create|add|enable|reset)$/.test(action)) return 'ok' as const;
  return 'info' as const;
}

/** What changed, field by field: the value before and after. */
function ChangeView({ entry }: { entry: Entry }) {
  const { rows, notes } = auditChange(entry.action, entry.details);
  if (rows.length === 0 && notes.length === 0) return <p className="muted">No field changes recorded.</p>;
  return (
    <>
      {notes.length > 0 ? (
        <ul className="error-list">
          {notes.map((n) => (
            <li key={n} className="mono">
              {n}
            </li>
          ))}
        </ul>
      ) : null}
      {rows.length > 0 ? (
        <table className="diff-table" aria-label={`Changes made by ${entry.action}`}>
          <thead>
            <tr>
              <th scope="col">Field</th>
              <th scope="col">Before</th>
              <th scope="col">After</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((r) => (
              <tr key={r.field} data-field={r.field}>
                <th scope="row" className="mono">
                  {r.field}
                </th>
                <td className={r.before === undefined ? 'muted' : 'diff-before'}>{showValue(r.before)}</td>
                <td className={r.after === undefined ? 'muted' : 'diff-after'}>{showValue(r.after)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </>
  );
}

export default function AuditPage() {
  const withDetails = useCan('operator');
  const [draft, setDraft] = useState<Draft>(EMPTY);
  const [filter, setFilter] = useState<AuditFilter>({});
  // Cursors of the pages before this one: "Newer" goes back to the last of them.
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  const [open, setOpen] = useState<Set<string>>(new Set());
  const after = cursors.at(-1) ?? null;
  const [{ data, error, fetching }] = useQuery({
    query: AuditLogQuery,
    variables: { first: PAGE, after, filter, withDetails },
    requestPolicy: 'cache-and-network',
  });

  const apply = (event: FormEvent) => {
    event.preventDefault();
    setFilter(toFilter(draft));
    setCursors([null]);
  };
  const clear = () => {
    setDraft(EMPTY);
    setFilter({});
    setCursors([null]);
  };
  const toggle = (id: string) =>
    setOpen((current) => {
      const next = new Set(current);
      if (next.has(id)) next.delete(id);
      else next.add(id);
      return next;
    });
  const set = (field: keyof Draft) => (e: { target: { value: string } }) =>
    setDraft({ ...draft, [field]: e.target.value });

  const entries = data?.auditLog.edges.map((e) => e.node) ?? [];
  const pageInfo = data?.auditLog.pageInfo;
  return (
    <>
      <PageHeader
        title="Audit log"
        description="Every change made through the control plane, newest first. Secrets are never recorded."
      />
      <Panel>
        <form className="toolbar" onSubmit={apply} aria-label="Filter the audit log">
          <Field label="Actor">
            {(p) => <input {...p} value={draft.actor} onChange={set('actor')} placeholder="token subject" />}
          </Field>
          <Field label="Action">
            {(p) => (
              <input {...p} value={draft.action} onChange={set('action')} placeholder="e.g. budget.update" />
            )}
          </Field>
          <Field label="Target type">
            {(p) => (
              <select {...p} value={draft.targetType} onChange={set('targetType')}>
                <option value="">Any</option>
                {TARGET_TYPES.map((t) => (
                  <option key={t} value={t}>
                    {t}
                  </option>
                ))}
              </select>
            )}
          </Field>
          <Field label="Target id">
            {(p) => (
              <input {...p} value={draft.targetId} onChange={set('targetId')} placeholder="slug or id" />
            )}
          </Field>
          <Field label="From">
            {(p) => <input {...p} type="datetime-local" value={draft.since} onChange={set('since')} />}
          </Field>
          <Field label="Until">
            {(p) => <input {...p} type="datetime-local" value={draft.until} onChange={set('until')} />}
          </Field>
          <div className="form-actions">
            <button type="submit" className="button button-primary">
              Filter
            </button>
            <button type="button" className="button" onClick={clear}>
              Clear
            </button>
          </div>
        </form>
        {error ? <ErrorNotice error={error} /> : null}
        {!data ? (
          <Loading />
        ) : entries.length === 0 ? (
          <EmptyState title="No changes match" />
        ) : (
          <div className="table-wrap">
            <table className="table" aria-label="Audit events">
              <thead>
                <tr>
                  <th scope="col">When</th>
                  <th scope="col">Actor</th>
                  <th scope="col">Action</th>
                  <th scope="col">Target</th>
                  {withDetails ? <th scope="col">Changes</th> : null}
                </tr>
              </thead>
              <tbody>
                {entries.map((entry) => {
                  const expanded = open.has(entry.id);
                  const detailsId = `audit-details-${entry.id}`;
                  return (
                    <Fragment key={entry.id}>
                      <tr data-audit={entry.action}>
                        <td title={formatTime(entry.at)}>
                          {formatTime(entry.at)}
                          <span className="cell-sub">{formatRelative(entry.at)}</span>
                        </td>
                        <td>
                          {entry.actorEmail ?? entry.actor}
                          <span className="cell-sub">
                            {entry.actorEmail ? `${entry.actor} · ` : ''}
                            {entry.actorRole.toLowerCase()}
                          </span>
                        </td>
                        <td>
                          <Badge tone={actionTone(entry.action)}>
                            <span className="action-name">{entry.action}</span>
                          </Badge>
                        </td>
                        <td>
                          {entry.targetType}
                          <span className="cell-sub mono">{entry.targetId}</span>
                        </td>
                        {withDetails ? (
                          <td>
                            <button
                              type="button"
                              className="expand-button"
                              aria-expanded={expanded}
                              aria-controls={detailsId}
                              onClick={() => toggle(entry.id)}
                            >
                              {expanded ? 'Hide' : 'Show'} changes
                              <span className="visually-hidden">
                                {' '}
                                of {entry.action} {entry.targetId}
                              </span>
                            </button>
                          </td>
                        ) : null}
                      </tr>
                      {expanded ? (
                        <tr className="details-row" id={detailsId}>
                          <td colSpan={5}>
                            <ChangeView entry={entry} />
                            {entry.requestId ? (
                              <p className="cell-sub">
                                Request <span className="mono">{entry.requestId}</span>
                              </p>
                            ) : null}
                          </td>
                        </tr>
                      ) : null}
                    </Fragment>
                  );
                })}
              </tbody>
            </table>
          </div>
        )}
        <nav className="pager" aria-label="Audit log pages">
          <span className="muted">
            Page {cursors.length}
            {fetching && data ? ' · updating…' : ''}
          </span>
          <span className="page-actions">
            <button
              type="button"
              className="button button-small"
              disabled={cursors.length <= 1}
              onClick={() => setCursors(cursors.slice(0, -1))}
            >
              Newer
            </button>
            <button
              type="button"
              className="button button-small"
              disabled={!pageInfo?.hasNextPage}
              onClick={() => pageInfo?.endCursor && setCursors([...cursors, pageInfo.endCursor])}
            >
              Older
            </button>
          </span>
        </nav>
      </Panel>
      {!withDetails ? (
        <p className="muted">What each change contained is shown to operators and admins.</p>
      ) : null}
    </>
  );
}
