import { useCallback, useEffect, useMemo, useState } from 'react';
import { useSearchParams } from 'react-router';
import { useMutation, useQuery } from 'urql';
import { useCan } from '../../auth/viewer.tsx';
import { formatNumber, formatRatio, formatRelative, formatTime } from '../../components/format.ts';
import { ConfirmButton, messageOf, Outcome } from '../../components/ops-kit.tsx';
import { Badge, EmptyState, ErrorNotice, Loading, PageHeader, Panel } from '../../components/ui.tsx';
import type { ConsoleJobQueuesQuery, ConsoleQueueJobsQuery } from '../../gql/graphql.ts';
import { graphql } from '../../gql/index.ts';
import { useLiveEvents } from '../../graphql/live-events.tsx';

const JobQueuesQuery = graphql(`
  query ConsoleJobQueues {
    jobQueues {
      name
      deadLetter
      counts { created retry active completed cancelled failed }
      finishedLastHour
      failureRateLastHour
      history(hours: 24) { hour completed failed }
    }
  }
`);

const QueueJobsQuery = graphql(`
  query ConsoleQueueJobs($queue: String!, $deadLetter: String!) {
    failed: jobs(queue: $queue, state: FAILED, first: 25) {
      id queue state attempts retryLimit createdOn startedOn completedOn lastError
    }
    retrying: jobs(queue: $queue, state: RETRY, first: 25) {
      id queue state attempts retryLimit createdOn startedOn completedOn lastError
    }
    deadLetters: jobs(queue: $deadLetter, first: 50) {
      id queue state attempts createdOn lastError
    }
  }
`);

const RetryJobMutation = graphql(`
  mutation ConsoleRetryJob($queue: String!, $id: ID!) {
    retryJob(queue: $queue, id: $id) {
      __typename
      ... on JobCountPayload { count }
      ... on ValidationError { message }
    }
  }
`);

const RedriveMutation = graphql(`
  mutation ConsoleRedrive($queue: String!, $limit: Int) {
    redriveDeadLetters(queue: $queue, limit: $limit) {
      __typename
      ... on JobCountPayload { count }
      ... on ValidationError { message }
    }
  }
`);

type Queue = ConsoleJobQueuesQuery['jobQueues'][number];
type Job = ConsoleQueueJobsQuery['failed'][number];

function Count({ value, bad }: { value: number; bad?: boolean }) {
  return <span className={value === 0 ? 'count-zero' : bad ? 'count-bad' : ''}>{formatNumber(value)}</span>;
}

/** The last 24 hours' finished jobs as tiny bars, failures in red. */
function Sparkbars({ history }: { history: Queue['history'] }) {
  const max = Math.max(1, ...history.map((h) => h.completed + h.failed));
  const failed = history.reduce((n, h) => n + h.failed, 0);
  const done = history.reduce((n, h) => n + h.completed, 0);
  return (
    <span className="sparkbars" role="img" aria-label={`Last 24 hours: ${done} completed, ${failed} failed`}>
      {history.map((h) => (
        <span
          key={h.hour}
          className={`sparkbar ${h.failed > 0 ? 'sparkbar-failed' : ''}`}
          style={{ height: `${Math.max(1, ((h.completed + h.failed) / max) * 20)}px` }}
        />
      ))}
    </span>
  );
}

function QueueTable({
  queues,
  deadLetters,
  selected,
  onSelect,
}: {
  queues: Queue[];
  deadLetters: Map<string, number>;
  selected: string | null;
  onSelect: (name: string) => void;
}) {
  return (
    <div className="table-wrap">
      <table className="table" aria-label="Job queues">
        <thead>
          <tr>
            <th scope="col">Queue</th>
            <th scope="col" className="num">
              Waiting
            </th>
            <th scope="col" className="num">
              Active
            </th>
            <th scope="col" className="num">
              Retrying
            </th>
            <th scope="col" className="num">
              Completed
            </th>
            <th scope="col" className="num">
              Failed
            </th>
            <th scope="col" className="num">
              Dead letters
            </th>
            <th scope="col" className="num">
              Last hour
            </th>
            <th scope="col">24 h</th>
          </tr>
        </thead>
        <tbody>
          {queues.map((q) => (
            <tr key={q.name} className={q.name === selected ? 'row-selected' : ''} data-queue={q.name}>
              <th scope="row">
                <button
                  type="button"
                  className="expand-button queue-name"
                  aria-pressed={q.name === selected}
                  onClick={() => onSelect(q.name)}
                >
                  {q.name}
                </button>
              </th>
              <td className="num">
                <Count value={q.counts.created} />
              </td>
              <td className="num">
                <Count value={q.counts.active} />
              </td>
              <td className="num">
                <Count value={q.counts.retry} />
              </td>
              <td className="num">
                <Count value={q.counts.completed} />
              </td>
              <td className="num">
                <Count value={q.counts.failed} bad />
              </td>
              <td className="num" data-dead-letters={deadLetters.get(q.name) ?? 0}>
                <Count value={deadLetters.get(q.name) ?? 0} bad />
              </td>
              <td className="num">
                {formatNumber(q.finishedLastHour)}
                {q.finishedLastHour > 0 ? (
                  <span className="cell-sub">{formatRatio(q.failureRateLastHour, 0)} failed</span>
                ) : null}
              </td>
              <td>
                <Sparkbars history={q.history} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function JobList({
  jobs,
  canAct,
  onRetry,
  empty,
  label,
}: {
  jobs: Job[];
  canAct: boolean;
  onRetry: (job: Job) => void;
  empty: string;
  label: string;
}) {
  if (jobs.length === 0) return <EmptyState title={empty} />;
  return (
    <div className="table-wrap">
      <table className="table" aria-label={label}>
        <thead>
          <tr>
            <th scope="col">Job</th>
            <th scope="col">State</th>
            <th scope="col" className="num">
              Attempts
            </th>
            <th scope="col">Last attempt</th>
            <th scope="col">Error</th>
            {canAct ? <th scope="col">Action</th> : null}
          </tr>
        </thead>
        <tbody>
          {jobs.map((j) => (
            <tr key={j.id} data-job={j.id}>
              <td className="mono">{j.id.slice(0, 8)}</td>
              <td>
                <Badge tone={j.state === 'FAILED' ? 'bad' : 'warn'}>{j.state.toLowerCase()}</Badge>
              </td>
              <td className="num">
                {j.attempts} / {j.retryLimit + 1}
              </td>
              <td title={formatTime(j.completedOn ?? j.startedOn ?? j.createdOn)}>
                {formatRelative(j.completedOn ?? j.startedOn ?? j.createdOn)}
              </td>
              <td>{j.lastError ? <span className="error-text">{j.lastError}</span> : '—'}</td>
              {canAct ? (
                <td>
                  {j.state === 'FAILED' ? (
                    <button type="button" className="button button-small" onClick={() => onRetry(j)}>
                      Retry<span className="visually-hidden"> job {j.id.slice(0, 8)}</span>
                    </button>
                  ) : null}
                </td>
              ) : null}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function QueueDetail({
  queue,
  deadLetterCount,
  canAct,
  version,
  onChanged,
}: {
  queue: Queue;
  deadLetterCount: number;
  canAct: boolean;
  version: number;
  onChanged: () => void;
}) {
  const [{ data, error }, reload] = useQuery({
    query: QueueJobsQuery,
    variables: { queue: queue.name, deadLetter: queue.deadLetter ?? `${queue.name}-dead-letter` },
    requestPolicy: 'network-only',
  });
  // biome-ignore lint/correctness/useExhaustiveDependencies: reloads when the queues were refreshed
  useEffect(() => {
    if (version > 0) reload({ requestPolicy: 'network-only' });
  }, [version]);
  const [outcome, setOutcome] = useState<{ ok: boolean; text: string } | null>(null);
  const [, retry] = useMutation(RetryJobMutation);
  const [redriving, redrive] = useMutation(RedriveMutation);

  const onRetry = async (job: Job) => {
    const response = await retry({ queue: queue.name, id: job.id });
    const result = response.data?.retryJob;
    if (result?.__typename === 'JobCountPayload')
      setOutcome(
        result.count > 0
          ? { ok: true, text: `Job ${job.id.slice(0, 8)} will run again.` }
          : { ok: false, text: `Job ${job.id.slice(0, 8)} could not be retried (it is no longer failed).` },
      );
    else setOutcome({ ok: false, text: result?.message ?? messageOf(response.error) });
    onChanged();
  };
  const onRedrive = async () => {
    const response = await redrive({ queue: queue.name, limit: 1000 });
    const result = response.data?.redriveDeadLetters;
    if (result?.__typename === 'JobCountPayload')
      setOutcome({
        ok: true,
        text: `Moved ${result.count} dead-lettered job${result.count === 1 ? '' : 's'} back to ${queue.name}.`,
      });
    else setOutcome({ ok: false, text: result?.message ?? messageOf(response.error) });
    onChanged();
  };

  const failing = [...(data?.failed ?? []), ...(data?.retrying ?? [])];
  return (
    <>
      <Panel title={`Failed jobs in ${queue.name}`} labelledBy="failed-jobs-title">
        {outcome ? (
          <div className="panel-body">
            <Outcome tone={outcome.ok ? 'ok' : 'bad'}>{outcome.text}</Outcome>
          </div>
        ) : null}
        {error ? <ErrorNotice error={error} /> : null}
        {!data ? (
          <Loading />
        ) : (
          <JobList
            jobs={failing}
            canAct={canAct}
            onRetry={onRetry}
            empty="No failed or retrying jobs"
            label={`Failed jobs in ${queue.name}`}
          />
        )}
      </Panel>
      <Panel
        title={`Dead-letter queue ${queue.deadLetter ?? ''}`}
        labelledBy="dead-letter-title"
        actions={
          canAct && deadLetterCount > 0 ? (
            <ConfirmButton
              label={`Redrive ${deadLetterCount} to ${queue.name}`}
              confirmLabel="Redrive"
              question={`Move ${deadLetterCount} dead-lettered job${deadLetterCount === 1 ? '' : 's'} back to ${queue.name}?`}
              danger={false}
              disabled={redriving.fetching}
              onConfirm={onRedrive}
            />
          ) : null
        }
      >
        {!data ? (
          <Loading />
        ) : data.deadLetters.length === 0 ? (
          <EmptyState title="No dead letters">
            <p>Jobs that run out of attempts are copied here, to redrive once the cause is fixed.</p>
          </EmptyState>
        ) : (
          <div className="table-wrap">
            <table className="table" aria-label={`Dead letters of ${queue.name}`}>
              <thead>
                <tr>
                  <th scope="col">Job</th>
                  <th scope="col">Dead-lettered</th>
                  <th scope="col">Last error</th>
                </tr>
              </thead>
              <tbody>
                {data.deadLetters.map((j) => (
                  <tr key={j.id} data-dead-letter={j.id}>
                    <td className="mono">{j.id.slice(0, 8)}</td>
                    <td title={formatTime(j.createdOn)}>{formatRelative(j.createdOn)}</td>
                    <td>
                      {j.lastError ? (
                        <span className="error-text">{j.lastError}</span>
                      ) : (
                        <span className="muted">Out of attempts in {queue.name}</span>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </Panel>
    </>
  );
}

export default function JobsPage() {
  // Every role sees the queues and their errors (URLs in them redacted below admin); retry and
  // redrive are for operators and admins.
  const canAct = useCan('operator');
  const [params, setParams] = useSearchParams();
  const [{ data, error }, reload] = useQuery({ query: JobQueuesQuery });
  const [version, setVersion] = useState(0);
  const refresh = useCallback(() => {
    reload({ requestPolicy: 'network-only' });
    setVersion((v) => v + 1);
  }, [reload]);

  // A job failing for good is announced as a gateway event: refresh then, never on a timer.
  const { events } = useLiveEvents();
  const latestJobEvent = events.find((e) => e.__typename === 'JobAlertEvent')?.id;
  useEffect(() => {
    if (latestJobEvent) refresh();
  }, [latestJobEvent, refresh]);

  const { queues, deadLetters } = useMemo(() => {
    const all = data?.jobQueues ?? [];
    const dead = new Map<string, number>();
    for (const q of all) {
      if (!q.deadLetter) continue;
      const dl = all.find((d) => d.name === q.deadLetter);
      dead.set(q.name, dl ? dl.counts.created + dl.counts.retry + dl.counts.active : 0);
    }
    return { queues: all.filter((q) => q.deadLetter), deadLetters: dead };
  }, [data]);

  const asked = params.get('queue');
  const selected =
    queues.find((q) => q.name === asked) ??
    queues.find((q) => (deadLetters.get(q.name) ?? 0) > 0 || q.counts.failed > 0) ??
    queues[0] ??
    null;

  const alerts = events.filter((e) => e.__typename === 'JobAlertEvent').slice(0, 5);
  return (
    <>
      <PageHeader
        title="Jobs"
        description="Background queues on PostgreSQL: what waits, runs, retries and failed, and their dead letters."
        actions={
          <button type="button" className="button" onClick={refresh}>
            Refresh
          </button>
        }
      />
      {error ? <ErrorNotice error={error} /> : null}
      {alerts.length > 0 ? (
        <Outcome tone="bad">
          {alerts.map((a) =>
            a.__typename === 'JobAlertEvent' ? (
              <div key={a.id}>
                <strong>{a.alert === 'FAILED' ? 'Job failed' : 'Retries'}:</strong> {a.message}
              </div>
            ) : null,
          )}
        </Outcome>
      ) : null}
      <Panel title="Queues" labelledBy="queues-title">
        {!data ? (
          <Loading />
        ) : (
          <QueueTable
            queues={queues}
            deadLetters={deadLetters}
            selected={selected?.name ?? null}
            onSelect={(name) => setParams({ queue: name }, { replace: true })}
          />
        )}
      </Panel>
      {selected ? (
        <QueueDetail
          key={selected.name}
          queue={selected}
          deadLetterCount={deadLetters.get(selected.name) ?? 0}
          canAct={canAct}
          version={version}
          onChanged={refresh}
        />
      ) : null}
    </>
  );
}
