import type { Outcome } from '../../src/modules/usage/usage-event.entity.ts';
import type { StoredUsageEvent } from '../../src/modules/usage/usage-rows.ts';
import { uuid7 } from '../../src/shared/uuid7.ts';

/** A small deterministic PRNG (mulberry32), so generated data is the same on every run. */
export function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const OUTCOME_MIX: [Outcome, number][] = [
  ['SUCCESS', 0.85],
  ['UPSTREAM_ERROR', 0.05],
  ['TIMEOUT', 0.03],
  ['RATE_LIMITED', 0.03],
  ['CLIENT_ERROR', 0.02],
  ['BUDGET_BLOCKED', 0.02],
];

/**
 * Plausible usage events spread evenly over [from, to): mostly successes, some failures, log-normal
 * latencies, token counts and costs for model calls. Each client uses a few providers.
 */
export function syntheticEvents(options: {
  count: number;
  from: Date;
  to: Date;
  providerIds: string[];
  clientIds: string[];
  models?: string[];
  seed?: number;
}): StoredUsageEvent[] {
  const next = random(options.seed ?? 1);
  const pick = <T>(list: T[]): T => list[Math.floor(next() * list.length)]!;
  const span = options.to.getTime() - options.from.getTime();
  const models = options.models ?? ['gpt-small', 'gpt-large'];
  const events: StoredUsageEvent[] = [];
  for (let i = 0; i < options.count; i++) {
    const at = new Date(options.from.getTime() + Math.floor((i / options.count) * span));
    const clientIndex = Math.floor(next() * options.clientIds.length);
    // Each client talks to three providers next to its own index.
    const providerId =
      options.providerIds[(clientIndex + Math.floor(next() * 3)) % options.providerIds.length]!;
    let roll = next();
    let outcome: Outcome = 'SUCCESS';
    for (const [candidate, share] of OUTCOME_MIX) {
      if (roll < share) {
        outcome = candidate;
        break;
      }
      roll -= share;
    }
    const reachedUpstream = outcome !== 'RATE_LIMITED' && outcome !== 'BUDGET_BLOCKED';
    const gaussian = Math.sqrt(-2 * Math.log(next() || 1e-9)) * Math.cos(2 * Math.PI * next());
    const upstreamMs = reachedUpstream ? Math.round(Math.exp(4 + gaussian) * 100) / 100 : null;
    const totalMs = Math.round(((upstreamMs ?? 0) + 0.2 + next() * 2) * 100) / 100;
    const model = next() < 0.5 ? pick(models) : null;
    const promptTokens = model && outcome === 'SUCCESS' ? 10 + Math.floor(next() * 500) : null;
    const completionTokens = promptTokens ? 5 + Math.floor(next() * 300) : null;
    const costMicros =
      outcome === 'SUCCESS' ? 100 + (promptTokens ?? 0) * 3 + (completionTokens ?? 0) * 10 : null;
    events.push({
      id: uuid7(at.getTime()),
      at: at.getTime(),
      requestId: `req-${i}`,
      providerId,
      providerSlug: 'synthetic',
      servedByProviderId: reachedUpstream ? providerId : null,
      keyId: reachedUpstream ? `key-${providerId.slice(0, 4)}` : null,
      clientId: options.clientIds[clientIndex]!,
      method: 'POST',
      pathTemplate: '/v1/chat/completions',
      status: outcome === 'SUCCESS' ? 200 : outcome === 'CLIENT_ERROR' ? 400 : 500,
      outcome,
      attempts: reachedUpstream ? 1 : 0,
      fallback: null,
      totalMs,
      upstreamMs,
      requestBytes: 200,
      responseBytes: 800,
      model,
      promptTokens,
      completionTokens,
      cachedTokens: null,
      costMicros,
      pricedWithoutTokens: false,
    });
  }
  return events;
}
