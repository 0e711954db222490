import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateBudget, TripCircuit } from './documents.ts';
import { startTestApp, type TestApp } from './helpers/app.ts';
import { call, createClient, setUpProvider } from './helpers/gateway.ts';
import { gql, wsClient } from './helpers/graphql.ts';
import { freePort } from './helpers/ports.ts';
import { startUpstream, type Upstream } from './helpers/upstream.ts';

let upstream: Upstream;
beforeAll(async () => {
  upstream = await startUpstream();
});
afterAll(() => upstream?.close());

describe('/metrics', () => {
  it('reports calls, latencies, circuits, budgets, jobs, connections and the process', async () => {
    const t = await startTestApp();
    const ws = wsClient(t.graphqlUrl, await t.token('viewer'));
    try {
      const { slug } = await setUpProvider(t, upstream.url, {
        input: { pricing: { perRequestMicros: 100 } },
      });
      const client = await createClient(t);
      await gql(
        t.graphqlUrl,
        CreateBudget,
        { input: { name: 'metered', scope: 'GLOBAL', period: 'DAY', limitMicros: 1000 } },
        await t.token('admin'),
      );
      await t.app.services.budgetEnforcer.reload();
      for (let i = 0; i < 3; i++) expect((await call(t, client.key, `${slug}/m`)).status).toBe(200);
      await gql(t.graphqlUrl, TripCircuit, { provider: slug }, await t.token('operator'));
      const subscription = ws.iterate({ query: 'subscription { circuitStateChanged { provider } }' });
      void subscription.next();
      await new Promise((r) => setTimeout(r, 200));
      await t.app.services.budgetEnforcer.drain();

      const text = await (await fetch(t.app.metricsUrl)).text();
      expect(text).toContain(
        `tollgate_proxy_calls_total{provider="${slug}",client="${client.id}",outcome="SUCCESS"} 3`,
      );
      expect(text).toMatch(new RegExp(`tollgate_proxy_upstream_seconds_count\\{provider="${slug}"\\} 3`));
      expect(text).toMatch(new RegExp(`tollgate_proxy_overhead_seconds_count\\{provider="${slug}"\\} 3`));
      expect(text).toContain(`tollgate_circuit_state{provider="${slug}",state="ISOLATED"} 1`);
      expect(text).toContain(`tollgate_circuit_state{provider="${slug}",state="CLOSED"} 0`);
      expect(text).toContain('tollgate_budget_spent_micros{budget="metered"} 300');
      expect(text).toContain('tollgate_budget_remaining_micros{budget="metered"} 700');
      expect(text).toMatch(/^tollgate_jobs\{queue="webhook-delivery",state="created"\} \d+$/m);
      expect(text).toMatch(/^tollgate_websocket_connections 1$/m);
      expect(text).toMatch(/^tollgate_subscriptions \d+$/m);
      expect(text).toMatch(/^tollgate_process_resident_memory_bytes \d+/m);
      expect(text).toMatch(/^tollgate_usage_buffered \d+$/m);
      await subscription.return?.();
    } finally {
      await ws.dispose();
      await t.stop();
    }
  });

  it('can require a token, or live on a port of its own', async () => {
    const guarded = await startTestApp({ env: { TOLLGATE_METRICS_TOKEN: 'scrape-me-0123456789' } });
    try {
      const refused = await fetch(guarded.app.metricsUrl);
      expect(refused.status).toBe(401);
      const wrong = await fetch(guarded.app.metricsUrl, { headers: { authorization: 'Bearer nope' } });
      expect(wrong.status).toBe(401);
      const allowed = await fetch(guarded.app.metricsUrl, {
        headers: { authorization: 'Bearer scrape-me-0123456789' },
      });
      expect(allowed.status).toBe(200);
      expect(await allowed.text()).toContain('tollgate_usage_buffered');
    } finally {
      await guarded.stop();
    }
    const apart = await startTestApp({ env: { TOLLGATE_METRICS_PORT: '0' } });
    try {
      expect(new URL(apart.app.metricsUrl).port).not.toBe(String(apart.app.port));
      expect((await fetch(apart.app.metricsUrl)).status).toBe(200);
      expect((await fetch(`${apart.url}/metrics`)).status).toBe(404);
    } finally {
      await apart.stop();
    }
  });

  it('is not served beyond loopback without a token, on the main port or its own', async () => {
    const metricsPort = await freePort();
    const cases: [Record<string, string>, (app: TestApp) => string][] = [
      [{ HOST: '0.0.0.0' }, (app) => `http://127.0.0.1:${app.app.port}/metrics`],
      [
        { HOST: '0.0.0.0', TOLLGATE_METRICS_PORT: String(metricsPort) },
        () => `http://127.0.0.1:${metricsPort}/metrics`,
      ],
    ];
    for (const [env, url] of cases) {
      const open = await startTestApp({ env });
      try {
        // Not listening at all on its own port counts as refused too.
        const scrape = await fetch(url(open)).catch(() => undefined);
        expect(scrape?.status ?? 404, JSON.stringify(env)).toBe(404);
        expect((await scrape?.text()) ?? '').not.toContain('tollgate_');
        expect((await fetch(`http://127.0.0.1:${open.app.port}/metrics`)).status).toBe(404);
        expect(open.logs.text).toContain('TOLLGATE_METRICS_TOKEN is not set');
      } finally {
        await open.stop();
      }
    }
    const guarded = await startTestApp({
      env: { HOST: '0.0.0.0', TOLLGATE_METRICS_TOKEN: 'scrape-me-0123456789' },
    });
    try {
      const url = `http://127.0.0.1:${guarded.app.port}/metrics`;
      expect((await fetch(url)).status).toBe(401);
      const allowed = await fetch(url, { headers: { authorization: 'Bearer scrape-me-0123456789' } });
      expect(allowed.status).toBe(200);
      expect(await allowed.text()).toContain('tollgate_usage_buffered');
    } finally {
      await guarded.stop();
    }
  });
});
