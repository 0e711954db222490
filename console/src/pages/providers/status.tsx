import { Badge, type Tone } from '../../components/ui.tsx';
import type { CallOutcome, CircuitState, HealthStatus, KeyStatus } from '../../gql/graphql.ts';

/** Status words and their tones, shared by the provider and client pages. */

const HEALTH_TONE: Record<HealthStatus, Tone> = {
  HEALTHY: 'ok',
  DEGRADED: 'warn',
  DOWN: 'bad',
  UNKNOWN: 'neutral',
};
const CIRCUIT_TONE: Record<CircuitState, Tone> = {
  CLOSED: 'ok',
  HALF_OPEN: 'warn',
  OPEN: 'bad',
  ISOLATED: 'bad',
};
const KEY_TONE: Record<KeyStatus, Tone> = {
  ACTIVE: 'ok',
  RETIRING: 'warn',
  EXPIRED: 'neutral',
  INVALID: 'bad',
  REVOKED: 'neutral',
};

export const words = (value: string) => value.charAt(0) + value.slice(1).toLowerCase().replaceAll('_', ' ');

export function HealthBadge({ status, title }: { status: HealthStatus; title?: string }) {
  return (
    <Badge tone={HEALTH_TONE[status]} title={title}>
      {words(status)}
    </Badge>
  );
}

export function CircuitBadge({ state, title }: { state: CircuitState; title?: string }) {
  return (
    <Badge tone={CIRCUIT_TONE[state]} title={title}>
      {state === 'CLOSED' ? 'Closed' : state === 'HALF_OPEN' ? 'Half-open' : words(state)}
    </Badge>
  );
}

export function KeyStatusBadge({ status }: { status: KeyStatus }) {
  return <Badge tone={KEY_TONE[status]}>{words(status)}</Badge>;
}

export function EnabledBadge({ enabled }: { enabled: boolean }) {
  return <Badge tone={enabled ? 'ok' : 'neutral'}>{enabled ? 'Enabled' : 'Disabled'}</Badge>;
}

export function OutcomeBadge({ outcome }: { outcome: CallOutcome }) {
  const tone: Tone =
    outcome === 'SUCCESS'
      ? 'ok'
      : outcome === 'FALLBACK'
        ? 'info'
        : outcome === 'CLIENT_ERROR'
          ? 'warn'
          : 'bad';
  return <Badge tone={tone}>{words(outcome)}</Badge>;
}

export const HEALTH_STATUSES: HealthStatus[] = ['HEALTHY', 'DEGRADED', 'DOWN', 'UNKNOWN'];
export const CIRCUIT_STATES: CircuitState[] = ['CLOSED', 'HALF_OPEN', 'OPEN', 'ISOLATED'];
