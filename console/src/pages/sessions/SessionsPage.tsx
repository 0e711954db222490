import { useState } from 'react';
import { useMutation, useQuery } from 'urql';
import { useCan, useViewer } from '../../auth/viewer.tsx';
import { formatRelative, formatTime } from '../../components/format.ts';
import { ConfirmButton, messageOf, Outcome } from '../../components/ops-kit.tsx';
import { Badge, EmptyState, ErrorNotice, Loading, PageHeader, Panel } from '../../components/ui.tsx';
import { graphql } from '../../gql/index.ts';

const SessionsQuery = graphql(`
  query ConsoleOperatorSessions($active: Boolean) {
    operatorSessions(first: 100, filter: { active: $active }) {
      edges {
        node {
          id
          subject
          email
          name
          role
          status
          createdAt
          lastRenewedAt
          expiresAt
          revokedAt
          revokedBy
          userAgent
          ip
        }
      }
    }
  }
`);

const RevokeMutation = graphql(`
  mutation ConsoleRevokeOperatorSession($id: ID!) {
    revokeOperatorSession(id: $id) {
      __typename
      ... on RevokeOperatorSessionPayload {
        session {
          id
          status
          revokedAt
          revokedBy
        }
      }
      ... on NotFoundError {
        message
      }
    }
  }
`);

const STATUS_TONE = { ACTIVE: 'ok', REVOKED: 'bad', EXPIRED: 'neutral' } as const;

/** People signed in through single sign-on; an admin ends a session here (on every replica). */
export default function SessionsPage() {
  const isAdmin = useCan('admin');
  const viewer = useViewer();
  const [activeOnly, setActiveOnly] = useState(true);
  const [{ data, error, fetching }, reload] = useQuery({
    query: SessionsQuery,
    variables: { active: activeOnly ? true : null },
    pause: !isAdmin,
    requestPolicy: 'cache-and-network',
  });
  const [revoking, revoke] = useMutation(RevokeMutation);
  const [outcome, setOutcome] = useState<{ tone: 'ok' | 'bad'; text: string } | null>(null);

  if (!isAdmin) {
    return (
      <>
        <PageHeader title="Sessions" />
        <Panel>
          <EmptyState title="Admins only">
            <p>Only an admin can see and end the console sessions of other people.</p>
          </EmptyState>
        </Panel>
      </>
    );
  }

  const onRevoke = async (id: string, who: string) => {
    const result = await revoke({ id });
    const answer = result.data?.revokeOperatorSession;
    if (answer?.__typename === 'RevokeOperatorSessionPayload') {
      setOutcome({ tone: 'ok', text: `Ended the session of ${who}. Their console signs out at once.` });
      reload({ requestPolicy: 'network-only' });
    } else {
      setOutcome({
        tone: 'bad',
        text: answer?.__typename === 'NotFoundError' ? answer.message : messageOf(result.error),
      });
    }
  };

  const sessions = data?.operatorSessions.edges.map((e) => e.node) ?? [];
  return (
    <>
      <PageHeader
        title="Sessions"
        description="People signed in to the console through single sign-on. Ending a session signs that person out on every replica; machine tokens are not listed."
      />
      {outcome ? <Outcome tone={outcome.tone}>{outcome.text}</Outcome> : null}
      <Panel
        title="Console sessions"
        labelledBy="sessions-title"
        actions={
          <label className="checkbox">
            <input type="checkbox" checked={activeOnly} onChange={(e) => setActiveOnly(e.target.checked)} />
            Signed in now only
          </label>
        }
      >
        {error ? <ErrorNotice error={error} /> : null}
        {fetching && !data ? <Loading /> : null}
        {data && sessions.length === 0 ? (
          <EmptyState title={activeOnly ? 'Nobody is signed in through single sign-on' : 'No sessions yet'} />
        ) : null}
        {sessions.length > 0 ? (
          <div className="table-wrap">
            <table className="table" aria-label="Console sessions">
              <thead>
                <tr>
                  <th scope="col">Person</th>
                  <th scope="col">Role</th>
                  <th scope="col">Status</th>
                  <th scope="col">Signed in</th>
                  <th scope="col">Last active</th>
                  <th scope="col">Ends</th>
                  <th scope="col">From</th>
                  <th scope="col">
                    <span className="visually-hidden">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {sessions.map((s) => {
                  const who = s.email ?? s.subject;
                  const own = s.id === viewer?.sessionId;
                  return (
                    <tr key={s.id} data-session={s.id}>
                      <td>
                        <div>{s.name ?? who}</div>
                        <div className="muted">{s.email ? s.email : <code>{s.subject}</code>}</div>
                      </td>
                      <td>{s.role}</td>
                      <td>
                        <Badge tone={STATUS_TONE[s.status]}>{s.status.toLowerCase()}</Badge>
                        {s.revokedBy ? <div className="muted">by {s.revokedBy}</div> : null}
                      </td>
                      <td title={formatTime(s.createdAt)}>{formatRelative(s.createdAt)}</td>
                      <td title={formatTime(s.lastRenewedAt)}>{formatRelative(s.lastRenewedAt)}</td>
                      <td title={formatTime(s.expiresAt)}>{formatTime(s.expiresAt)}</td>
                      <td>
                        <div>{s.ip ?? '–'}</div>
                        <div className="muted" title={s.userAgent ?? undefined}>
                          {(s.userAgent ?? '').slice(0, 40)}
                        </div>
                      </td>
                      <td>
                        {s.status === 'ACTIVE' ? (
                          <ConfirmButton
                            small
                            label={own ? 'End my session' : 'End session'}
                            confirmLabel="End it"
                            question={`Sign ${own ? 'yourself' : who} out everywhere?`}
                            disabled={revoking.fetching}
                            onConfirm={() => void onRevoke(s.id, who)}
                          />
                        ) : null}
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
        ) : null}
      </Panel>
    </>
  );
}
