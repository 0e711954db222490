import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProviderCircuit } from '../documents.ts';
import { type Behaviour, startUpstream, type Upstream } from '../helpers/upstream.ts';
import {
  type Cluster,
  createClientKey,
  createProvider,
  Load,
  type Outcome,
  percentile,
  report,
  startCluster,
  tally,
  waitUntilServed,
} from './harness.ts';

/**
 * Scenario 3: one replica in front of every way an upstream misbehaves, at once. Each call must
 * end within its deadline (plus a little slack) with the code its failure deserves; breakers
 * open and fallbacks serve; the replica's memory stays bounded while huge bodies stream through.
 */

const TIMEOUT_MS = 2_000;
// Generous (39 calls at once on a shared 2-core machine), and still far below what a hanging
// upstream would cost without the deadline.
const SLACK_MS = 1_500;
const MAX_RESPONSE = 1024 * 1024;
const CALLS = 12;

/** What each upstream path does. */
const BEHAVIOURS: Record<string, Behaviour> = {
  ok: { kind: 'json', body: { ok: true } },
  slow: { kind: 'slow', delayMs: 100 },
  tooslow: { kind: 'slow', delayMs: 10_000 },
  hang: { kind: 'hang' },
  drip: { kind: 'drip', chunks: 5, intervalMs: 20, chunk: 'drop\n' },
  driplong: { kind: 'drip', chunks: 100, intervalMs: 100, chunk: 'drop\n' },
  reset: { kind: 'reset' },
  e500: { kind: 'status', status: 500, body: 'upstream broke' },
  e503static: { kind: 'status', status: 503, body: 'upstream down' },
  r429: { kind: 'status', status: 429, body: 'slow down', headers: { 'retry-after': '1' } },
  hugedeclared: { kind: 'huge', bytes: 8 * 1024 * 1024, declareLength: true },
  hugeundeclared: { kind: 'huge', bytes: 8 * 1024 * 1024 },
  big: { kind: 'huge', bytes: 768 * 1024 },
};

let cluster: Cluster;
let upstream: Upstream;

beforeAll(async () => {
  upstream = await startUpstream();
  upstream.behave((req) => BEHAVIOURS[req.path.split('/')[1] ?? ''] ?? { kind: 'status', status: 404 });
  cluster = await startCluster({ replicas: 1, env: { TOLLGATE_MAX_RESPONSE_BYTES: String(MAX_RESPONSE) } });
}, 120_000);

afterAll(async () => {
  await cluster?.dispose();
  await upstream?.close();
});

describe('scenario 3: upstream chaos against one replica', () => {
  it('every call ends within its deadline with the right code; breakers open, fallbacks serve, memory stays bounded', async () => {
    const [replica] = cluster.replicas;
    const common = { timeoutMs: TIMEOUT_MS, retry: { maxAttempts: 2, baseDelayMs: 50, maxDelayMs: 200 } };
    const slugs: Record<string, string> = {};
    for (const kind of Object.keys(BEHAVIOURS)) {
      const input: Record<string, unknown> = { ...common };
      if (kind === 'reset') input.fallbacks = [slugs.ok];
      if (kind === 'e503static') input.degradedMode = { staticBody: '{"degraded":true}', staticStatus: 200 };
      slugs[kind] = (await createProvider(cluster, `${upstream.url}/${kind}`, { input })).slug;
    }
    const clientKey = await createClientKey(cluster);
    await waitUntilServed(cluster, clientKey, slugs.ok!);
    upstream.reset();
    upstream.behave((req) => BEHAVIOURS[req.path.split('/')[1] ?? ''] ?? { kind: 'status', status: 404 });

    const rss: number[] = [replica!.figures().rssMb];
    const sampler = setInterval(() => rss.push(replica!.figures().rssMb), 100);
    const results: Record<string, Outcome[]> = {};
    const started = Date.now();
    await Promise.all(
      Object.keys(BEHAVIOURS).map(async (kind) => {
        results[kind] = await new Load({
          targets: () => cluster.replicas,
          clientKey,
          path: (n) => `${slugs[kind]}/call/${n}`,
          concurrency: 3,
          giveUpMs: 10_000,
          prefix: `chaos-${kind}`,
        }).run(CALLS);
      }),
    );
    clearInterval(sampler);
    const tookMs = Date.now() - started;
    const circuits: Record<string, string | undefined> = {};
    for (const kind of ['hang', 'tooslow', 'reset', 'e500', 'ok']) {
      const circuit = await cluster.gql(ProviderCircuit, { slug: slugs[kind]! });
      circuits[kind] = circuit.data?.provider?.circuit.state;
    }
    const hits = tally(upstream.requests, (r) => r.path.split('/')[1] ?? '');
    const all = Object.values(results).flat();

    for (const [kind, outcomes] of Object.entries(results)) {
      report(`3 chaos ${kind}`, {
        codes: tally(
          outcomes,
          (o) =>
            `${o.status}${o.code ? ` ${o.code}` : ''}${o.fallback ? ` via ${o.fallback}` : ''}${o.bodyError ? ' cut' : ''}`,
        ),
        maxMs: Math.max(...outcomes.map((o) => o.latencyMs)),
        upstreamHits: hits[kind] ?? 0,
      });
    }
    report('3 chaos', {
      calls: all.length,
      tookMs,
      p99Ms: percentile(
        all.map((o) => o.latencyMs),
        99,
      ),
      maxMs: Math.max(...all.map((o) => o.latencyMs)),
      deadlineMs: TIMEOUT_MS,
      circuits,
      rssMb: { start: rss[0], max: Math.max(...rss), end: rss.at(-1) },
    });

    // Nothing hung: every call got an answer (or a cut body) within the deadline and the slack.
    expect(all.filter((o) => o.error !== undefined)).toEqual([]);
    expect(all.filter((o) => o.latencyMs > TIMEOUT_MS + SLACK_MS).map((o) => [o.path, o.latencyMs])).toEqual(
      [],
    );
    const codes = (kind: string) =>
      new Set(
        results[kind]!.map((o) => `${o.status}${o.code ? ` ${o.code}` : ''}${o.bodyError ? ' cut' : ''}`),
      );
    expect(codes('ok')).toEqual(new Set(['200']));
    expect(codes('slow')).toEqual(new Set(['200']));
    expect(codes('drip')).toEqual(new Set(['200']));
    expect(results.drip!.every((o) => o.bodyBytes === 25)).toBe(true);
    expect(codes('big')).toEqual(new Set(['200']));
    expect(results.big!.every((o) => o.bodyBytes === 768 * 1024)).toBe(true);
    // The deadline covers the body too: a body still dripping is cut there.
    expect(codes('driplong')).toEqual(new Set(['200 cut']));
    for (const kind of ['hang', 'tooslow']) {
      expect(codes(kind)).toEqual(new Set(['504 UPSTREAM_TIMEOUT', '503 CIRCUIT_OPEN']));
      // The breaker opened after 5 failures; only calls already admitted went on.
      expect(hits[kind]).toBeLessThanOrEqual(5 + 2);
      expect(circuits[kind]).toBe('OPEN');
    }
    // Upstream 5xx: retried, passed through as it came, until the breaker opens.
    expect(codes('e500')).toEqual(new Set(['500', '503 CIRCUIT_OPEN']));
    // (A retry needs the provider's retry budget, 20 % of its traffic: not every call gets one.)
    const attempts500 = results.e500!.filter((o) => o.status === 500).map((o) => o.attempts);
    expect(attempts500.every((a) => a === '1' || a === '2')).toBe(true);
    expect(attempts500).toContain('2');
    expect(circuits.e500).toBe('OPEN');
    // Connection resets: the fallback provider serves every call, before and after the breaker opens.
    expect(codes('reset')).toEqual(new Set(['200']));
    expect(results.reset!.every((o) => o.fallback === 'provider' && o.provider === slugs.ok)).toBe(true);
    expect(circuits.reset).toBe('OPEN');
    expect(circuits.ok).toBe('CLOSED');
    // A 5xx with a static degraded answer configured: the static answer.
    expect(results.e503static!.every((o) => o.status === 200 && o.fallback === 'static')).toBe(true);
    // 429: the upstream's own, then Tollgate's while the key cools down; both say when to retry.
    expect([...codes('r429')].every((c) => c === '429' || c === '429 RATE_LIMITED')).toBe(true);
    expect(results.r429!.every((o) => Number(o.retryAfter) >= 1)).toBe(true);
    expect(hits.r429).toBeLessThan(CALLS);
    // Huge bodies: refused when declared, cut at the limit when not, never buffered.
    expect(codes('hugedeclared')).toEqual(new Set(['502 UPSTREAM_UNAVAILABLE']));
    expect(codes('hugeundeclared')).toEqual(new Set(['200 cut']));
    expect(results.hugeundeclared!.every((o) => o.bodyBytes <= MAX_RESPONSE + 256 * 1024)).toBe(true);
    expect(Math.max(...rss)).toBeLessThan(rss[0]! + 150);
    expect(replica!.running).toBe(true);
  });
});
