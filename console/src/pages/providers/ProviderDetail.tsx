import { useCallback, useEffect, useState } from 'react';
import { Link, NavLink, Route, Routes, useLocation, useParams } from 'react-router';
import { useMutation, useQuery, useSubscription } from 'urql';
import { useCan } from '../../auth/viewer.tsx';
import {
  ConfirmButton,
  type Outcome,
  OutcomeNotice,
  Switch,
  TextField,
} from '../../components/form-fields.tsx';
import { formatMs, formatRelative, formatTime } from '../../components/format.ts';
import { EmptyState, ErrorNotice, Loading, PageHeader, Panel } from '../../components/ui.tsx';
import type { ConsoleProviderDetailQuery } from '../../gql/graphql.ts';
import {
  CircuitChangedSubscription,
  HealthChangedSubscription,
  KeyEventSubscription,
  ProviderDetailQuery,
  ResetCircuitMutation,
  SetProviderEnabledMutation,
  TestProviderMutation,
  TripCircuitMutation,
} from './operations.ts';
import { ProviderCalls } from './ProviderCalls.tsx';
import { ProviderHealthPanel } from './ProviderHealthPanel.tsx';
import { ProviderKeys } from './ProviderKeys.tsx';
import { ProviderSettings } from './ProviderSettings.tsx';
import { ProviderUsage } from './ProviderUsage.tsx';
import { CircuitBadge, EnabledBadge, HealthBadge } from './status.tsx';

export type ProviderDetailData = NonNullable<ConsoleProviderDetailQuery['provider']>;

/**
 * The provider's circuit, health and keys change on any replica: these subscriptions (filtered to
 * this provider) say so, and the page asks for the provider again. Nothing polls.
 */
function useProviderLive(slug: string, reload: () => void) {
  const [last, setLast] = useState<string | null>(null);
  const onEvent = useCallback(
    (text: string) => {
      setLast(text);
      reload();
    },
    [reload],
  );
  useSubscription({ query: CircuitChangedSubscription, variables: { provider: slug } }, (_prev, event) => {
    const e = event.circuitStateChanged;
    onEvent(`Circuit ${e.from.toLowerCase()} → ${e.to.toLowerCase()}: ${e.reason}`);
    return event;
  });
  useSubscription({ query: HealthChangedSubscription, variables: { provider: slug } }, (_prev, event) => {
    const e = event.providerHealthChanged;
    onEvent(`Health ${e.from.toLowerCase()} → ${e.to.toLowerCase()}: ${e.reason}`);
    return event;
  });
  useSubscription({ query: KeyEventSubscription, variables: { provider: slug } }, (_prev, event) => {
    const e = event.keyEvent;
    onEvent(`Key ${e.change.toLowerCase()} by ${e.actor}${e.detail ? `: ${e.detail}` : ''}`);
    return event;
  });
  return last;
}

export function ProviderDetail() {
  const { slug = '' } = useParams();
  const location = useLocation();
  const [{ data, error, fetching }, reexecute] = useQuery({
    query: ProviderDetailQuery,
    variables: { slug },
  });
  const reload = useCallback(() => reexecute({ requestPolicy: 'network-only' }), [reexecute]);
  const lastEvent = useProviderLive(slug, reload);
  const created = (location.state as { created?: boolean } | null)?.created === true;

  if (error && !data) return <ErrorNotice error={error} />;
  if (!data) return <Loading />;
  const provider = data.provider;
  if (!provider)
    return (
      <>
        <PageHeader title="Provider not found" />
        <Panel>
          <EmptyState title={`There is no provider "${slug}".`}>
            <Link to="/providers">All providers</Link>
          </EmptyState>
        </Panel>
      </>
    );

  return (
    <>
      <PageHeader
        title={provider.name}
        description={
          <>
            <Link to="/providers">Providers</Link> / <span className="mono">{provider.slug}</span> ·{' '}
            <span className="mono">{provider.baseUrl}</span>
          </>
        }
        actions={<ProviderActions provider={provider} />}
      />
      {created ? (
        <div className="notice notice-ok" role="status">
          Provider created. Add a key below so that it can serve calls.
        </div>
      ) : null}
      <StatusStrip provider={provider} lastEvent={lastEvent} />
      <nav className="tabs" aria-label="Provider sections">
        <NavLink end to={`/providers/${provider.slug}`} className="tab">
          Overview
        </NavLink>
        <NavLink to={`/providers/${provider.slug}/keys`} className="tab">
          Keys <span className="tab-count">{provider.keys.length}</span>
        </NavLink>
        <NavLink to={`/providers/${provider.slug}/settings`} className="tab">
          Settings
        </NavLink>
      </nav>
      <Routes>
        <Route
          index
          element={
            <>
              <ProviderUsage slug={provider.slug} />
              <div className="grid-2">
                <ProviderHealthPanel provider={provider} />
                <CircuitPanel provider={provider} />
              </div>
              <ProviderCalls slug={provider.slug} refreshKey={lastEvent} />
            </>
          }
        />
        <Route path="keys" element={<ProviderKeys provider={provider} onChanged={reload} />} />
        <Route
          path="settings"
          element={<ProviderSettings provider={provider} onReload={reload} reloading={fetching} />}
        />
      </Routes>
    </>
  );
}

function StatusStrip({ provider, lastEvent }: { provider: ProviderDetailData; lastEvent: string | null }) {
  const uptime = provider.health.uptime.availabilityPercent;
  return (
    <section className="status-strip" aria-label="Status">
      <div className="stat">
        <span className="stat-label">State</span>
        <EnabledBadge enabled={provider.enabled} />
      </div>
      <div className="stat" data-health={provider.health.status}>
        <span className="stat-label">Health</span>
        <HealthBadge status={provider.health.status} />
        <span className="stat-sub">{provider.health.reason}</span>
      </div>
      <div className="stat" data-circuit={provider.circuit.state}>
        <span className="stat-label">Circuit</span>
        <CircuitBadge state={provider.circuit.state} />
        <span className="stat-sub">{provider.circuit.reason}</span>
      </div>
      <div className="stat">
        <span className="stat-label">Uptime (24 h)</span>
        <span className="stat-value">{uptime == null ? '—' : `${uptime.toFixed(2)} %`}</span>
      </div>
      <div className="stat">
        <span className="stat-label">Keys</span>
        <span className="stat-value">
          {provider.keySource === 'ENV'
            ? 'from environment'
            : `${provider.keys.filter((k) => k.status === 'ACTIVE').length} active`}
        </span>
      </div>
      <div className="stat stat-live" role="status" aria-live="polite">
        <span className="stat-label">Latest event</span>
        <span className="stat-sub" data-testid="provider-last-event">
          {lastEvent ?? 'None since you opened this page'}
        </span>
      </div>
    </section>
  );
}

/** Enable switch (admin), test (operator), trip and reset (operator). */
function ProviderActions({ provider }: { provider: ProviderDetailData }) {
  const canAdmin = useCan('admin');
  const canOperator = useCan('operator');
  const [, setEnabled] = useMutation(SetProviderEnabledMutation);
  const [{ fetching: testing }, test] = useMutation(TestProviderMutation);
  const [outcome, setOutcome] = useState<Outcome>(null);
  // A new provider (navigation between providers reuses this component) starts with no outcome.
  // biome-ignore lint/correctness/useExhaustiveDependencies: the slug is the trigger
  useEffect(() => setOutcome(null), [provider.slug]);

  return (
    <div className="provider-actions">
      {canAdmin ? (
        <Switch
          label={`${provider.name} enabled`}
          checked={provider.enabled}
          onChange={async (enabled) => {
            const result = await setEnabled({ slug: provider.slug, enabled, version: provider.version });
            const answer = result.data?.setProviderEnabled;
            if (answer?.__typename === 'ProviderPayload')
              setOutcome({
                tone: 'ok',
                message: enabled
                  ? 'Enabled: calls are served.'
                  : 'Disabled: calls are refused with PROVIDER_DISABLED.',
              });
            else if (answer?.__typename === 'VersionMismatchError')
              setOutcome({
                tone: 'warn',
                message:
                  'Someone changed this provider since the page loaded; it has been reloaded, try again.',
              });
            else setOutcome({ tone: 'bad', message: answer?.message ?? result.error?.message ?? 'Failed.' });
          }}
        />
      ) : null}
      {canOperator ? (
        <button
          type="button"
          className="button"
          disabled={testing}
          onClick={async () => {
            setOutcome(null);
            const result = await test({ slug: provider.slug });
            const answer = result.data?.testProvider;
            if (answer?.__typename !== 'TestProviderPayload') {
              setOutcome({ tone: 'bad', message: answer?.message ?? result.error?.message ?? 'Failed.' });
              return;
            }
            const r = answer.result;
            setOutcome(
              r.skipped
                ? { tone: 'warn', message: 'Test skipped: the rate limit left no room for a probe.' }
                : r.ok
                  ? { tone: 'ok', message: `Test passed: HTTP ${r.status} in ${formatMs(r.latencyMs)}.` }
                  : {
                      tone: 'bad',
                      message: `Test failed${r.status ? `: HTTP ${r.status}` : ''}${r.error ? ` — ${r.error}` : ''}${r.latencyMs != null ? ` (${formatMs(r.latencyMs)})` : ''}.`,
                    },
            );
          }}
        >
          {testing ? 'Testing…' : 'Test'}
        </button>
      ) : null}
      {outcome ? (
        <div className="actions-outcome" data-testid="provider-action-outcome">
          <OutcomeNotice outcome={outcome} onDismiss={() => setOutcome(null)} />
        </div>
      ) : null}
    </div>
  );
}

function CircuitPanel({ provider }: { provider: ProviderDetailData }) {
  const canOperator = useCan('operator');
  const [, trip] = useMutation(TripCircuitMutation);
  const [, reset] = useMutation(ResetCircuitMutation);
  const [reason, setReason] = useState('');
  const [outcome, setOutcome] = useState<Outcome>(null);
  const c = provider.circuit;
  const closed = c.state === 'CLOSED';
  return (
    <Panel title="Circuit" labelledBy="circuit-title">
      <div className="panel-body">
        <dl className="facts">
          <dt>State</dt>
          <dd>
            <CircuitBadge state={c.state} />
          </dd>
          <dt>Reason</dt>
          <dd>{c.reason}</dd>
          <dt>Consecutive failures</dt>
          <dd className="num-left">{c.failures}</dd>
          <dt>Since</dt>
          <dd title={formatTime(c.since)}>{formatRelative(c.since)}</dd>
          {c.nextProbeAt ? (
            <>
              <dt>Next probe</dt>
              <dd title={formatTime(c.nextProbeAt)}>{formatRelative(c.nextProbeAt)}</dd>
            </>
          ) : null}
          <dt>Breaker</dt>
          <dd>
            opens after {provider.breaker.failureThreshold} failures, probes after{' '}
            {formatMs(provider.breaker.halfOpenAfterMs)}, closes after {provider.breaker.successThreshold}{' '}
            successes
          </dd>
        </dl>
        {canOperator ? (
          <>
            <div className="circuit-controls">
              {c.state !== 'ISOLATED' ? (
                <>
                  <TextField
                    name="tripReason"
                    label="Reason for tripping"
                    value={reason}
                    onChange={setReason}
                    placeholder="Upstream incident, maintenance…"
                  />
                  <ConfirmButton
                    title={`Trip the circuit of ${provider.name}?`}
                    body={
                      <p>
                        Every replica refuses its calls (CIRCUIT_OPEN, or its fallbacks serve) until the
                        circuit is reset.
                      </p>
                    }
                    confirmLabel="Trip circuit"
                    onConfirm={async () => {
                      const r = await trip({ provider: provider.slug, reason: reason.trim() || null });
                      const a = r.data?.tripCircuit;
                      setOutcome(
                        a?.__typename === 'CircuitPayload'
                          ? { tone: 'ok', message: 'Circuit tripped on every replica.' }
                          : { tone: 'bad', message: a?.message ?? r.error?.message ?? 'Failed.' },
                      );
                    }}
                  >
                    Trip circuit
                  </ConfirmButton>
                </>
              ) : null}
              {!closed ? (
                <button
                  type="button"
                  className="button"
                  onClick={async () => {
                    const r = await reset({ provider: provider.slug });
                    const a = r.data?.resetCircuit;
                    setOutcome(
                      a?.__typename === 'CircuitPayload'
                        ? { tone: 'ok', message: 'Circuit reset: calls flow again.' }
                        : { tone: 'bad', message: a?.message ?? r.error?.message ?? 'Failed.' },
                    );
                  }}
                >
                  Reset circuit
                </button>
              ) : null}
            </div>
            <OutcomeNotice outcome={outcome} onDismiss={() => setOutcome(null)} />
          </>
        ) : null}
      </div>
    </Panel>
  );
}
