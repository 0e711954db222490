import { describe, expect, it } from 'vitest';
import { decideHealth, type HealthEvidence } from './health-status.ts';

const calm: HealthEvidence = {
  circuit: 'CLOSED',
  probesEnabled: true,
  consecutiveFailures: 0,
  lastError: null,
  lastProbeMs: 40,
  probeTimeoutMs: 5000,
  hasProbeResult: true,
  calls: 100,
  failures: 0,
  upstreamP95Ms: 120,
  slowMs: 5000,
};

describe('decideHealth', () => {
  it('is DOWN when the circuit is open or the last probe failed, whatever traffic says', () => {
    expect(decideHealth({ ...calm, circuit: 'OPEN' })).toEqual({ status: 'DOWN', reason: 'circuit open' });
    expect(decideHealth({ ...calm, consecutiveFailures: 2, lastError: 'status 503' })).toEqual({
      status: 'DOWN',
      reason: 'probe failed 2 times in a row: status 503',
    });
  });

  it('grades live traffic: most calls failing is DOWN, some is DEGRADED, slow is DEGRADED', () => {
    expect(decideHealth({ ...calm, failures: 60 }).status).toBe('DOWN');
    expect(decideHealth({ ...calm, failures: 10 })).toEqual({
      status: 'DEGRADED',
      reason: '10 % of recent calls failed',
    });
    expect(decideHealth({ ...calm, upstreamP95Ms: 6000 }).status).toBe('DEGRADED');
    // Too few calls to judge.
    expect(decideHealth({ ...calm, calls: 3, failures: 3 }).status).toBe('HEALTHY');
  });

  it('is UNKNOWN with nothing to go on', () => {
    expect(
      decideHealth({ ...calm, probesEnabled: false, hasProbeResult: false, lastProbeMs: null, calls: 0 })
        .status,
    ).toBe('UNKNOWN');
  });
});
