import type { CircuitStateName } from '../events/event-bus.ts';
import type { HealthStatus } from './health.entity.ts';

/** What the status is decided from. */
export interface HealthEvidence {
  circuit: CircuitStateName;
  probesEnabled: boolean;
  /** Probe failures in a row (0 after a success). */
  consecutiveFailures: number;
  lastError: string | null;
  /** Latency of the last probe, when it succeeded. */
  lastProbeMs: number | null;
  probeTimeoutMs: number;
  hasProbeResult: boolean;
  /** Live traffic over the sliding window: calls that reached (or tried to reach) the upstream. */
  calls: number;
  failures: number;
  upstreamP95Ms: number | null;
  /** Upstream p95 above this is "slow". */
  slowMs: number;
}

/** Below this many calls in the window, live traffic says nothing about health. */
export const MIN_CALLS = 5;

/**
 * DOWN: the circuit is open, the last probe (scheduled or testProvider) failed, or most live
 * calls fail.
 * DEGRADED: some live calls fail (5 % or more), or calls or probes are slow.
 * HEALTHY: probes or traffic say so. UNKNOWN: nothing to go on.
 */
export function decideHealth(e: HealthEvidence): { status: HealthStatus; reason: string } {
  if (e.circuit === 'OPEN' || e.circuit === 'ISOLATED') {
    return { status: 'DOWN', reason: `circuit ${e.circuit === 'OPEN' ? 'open' : 'tripped by an operator'}` };
  }
  // Any failed probe counts, scheduled or on demand (testProvider), until a probe passes again.
  if (e.consecutiveFailures > 0) {
    return {
      status: 'DOWN',
      reason: `probe failed${e.consecutiveFailures > 1 ? ` ${e.consecutiveFailures} times in a row` : ''}: ${e.lastError ?? 'unknown error'}`,
    };
  }
  const enoughTraffic = e.calls >= MIN_CALLS;
  const errorRate = enoughTraffic ? e.failures / e.calls : 0;
  if (enoughTraffic && errorRate >= 0.5) {
    return { status: 'DOWN', reason: `${Math.round(errorRate * 100)} % of recent calls failed` };
  }
  if (enoughTraffic && errorRate >= 0.05) {
    return { status: 'DEGRADED', reason: `${Math.round(errorRate * 100)} % of recent calls failed` };
  }
  if (enoughTraffic && e.upstreamP95Ms !== null && e.upstreamP95Ms >= e.slowMs) {
    return { status: 'DEGRADED', reason: `slow: p95 ${Math.round(e.upstreamP95Ms)} ms` };
  }
  if (e.probesEnabled && e.lastProbeMs !== null && e.lastProbeMs >= e.probeTimeoutMs * 0.8) {
    return { status: 'DEGRADED', reason: `slow probe: ${Math.round(e.lastProbeMs)} ms` };
  }
  if (e.hasProbeResult || e.calls > 0)
    return { status: 'HEALTHY', reason: e.hasProbeResult ? 'probe passed' : 'calls succeed' };
  return { status: 'UNKNOWN', reason: 'no probe and no recent calls' };
}
