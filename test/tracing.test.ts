import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { loadConfig } from '../src/config.ts';
import { createLogger } from '../src/shared/logger.ts';
import { createTracing } from '../src/shared/tracing.ts';
import { Viewer } from './documents.ts';
import { startTestApp, type TestApp } from './helpers/app.ts';
import { call, createClientKey, setUpProvider } from './helpers/gateway.ts';
import { gql } from './helpers/graphql.ts';
import { startUpstream, type Upstream } from './helpers/upstream.ts';

interface ExportedSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  attributes: Record<string, unknown>;
  status?: { code?: number };
}

/** A minimal OpenTelemetry collector: OTLP/HTTP JSON on /v1/traces, keeping every span. */
async function startCollector(): Promise<{ url: string; spans: ExportedSpan[]; server: Server }> {
  const spans: ExportedSpan[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.url === '/v1/traces') {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
          resourceSpans: { scopeSpans: { spans: (ExportedSpan & { attributes: unknown[] })[] }[] }[];
        };
        for (const resource of body.resourceSpans)
          for (const scope of resource.scopeSpans)
            for (const span of scope.spans) {
              const attributes: Record<string, unknown> = {};
              for (const a of span.attributes as { key: string; value: Record<string, unknown> }[])
                attributes[a.key] = Object.values(a.value)[0];
              spans.push({ ...span, attributes });
            }
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, spans, server };
}

let t: TestApp;
let collector: Awaited<ReturnType<typeof startCollector>>;
let primary: Upstream;
let backup: Upstream;
beforeAll(async () => {
  collector = await startCollector();
  [t, primary, backup] = await Promise.all([
    startTestApp({ env: { OTEL_EXPORTER_OTLP_ENDPOINT: collector.url, OTEL_SERVICE_NAME: 'tollgate-test' } }),
    startUpstream({ kind: 'status', status: 500 }),
    startUpstream({ kind: 'json', body: { from: 'backup' } }),
  ]);
});
afterAll(async () => {
  await Promise.all([t?.stop(), primary?.close(), backup?.close()]);
  collector?.server.close();
});

const spansOf = (traceId: string) => collector.spans.filter((s) => s.traceId === traceId);

describe('traces (OpenTelemetry over OTLP)', () => {
  it("continue the caller's trace through a proxied call, with a child span per attempt and per fallback", async () => {
    const fallback = await setUpProvider(t, backup.url);
    const providerSecret = `sk-traced-${randomBytes(12).toString('hex')}`;
    const { slug } = await setUpProvider(t, primary.url, {
      input: { fallbacks: [fallback.slug], retry: { maxAttempts: 2 } },
      keys: [providerSecret],
    });
    const key = await createClientKey(t);
    const traceId = randomBytes(16).toString('hex');
    const callerSpanId = randomBytes(8).toString('hex');
    const response = await call(t, key, `${slug}/v1/things`, {
      headers: { traceparent: `00-${traceId}-${callerSpanId}-01` },
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('x-tollgate-fallback')).toBe('provider');
    const requestId = response.headers.get('x-request-id');
    // The request id reaches both upstreams, as it is in the logs and the spans.
    expect(primary.requests.at(-1)?.headers['x-request-id']).toBe(requestId);
    expect(backup.requests.at(-1)?.headers['x-request-id']).toBe(requestId);

    await vi.waitFor(() => expect(spansOf(traceId).length).toBeGreaterThanOrEqual(5), { timeout: 10_000 });
    const spans = spansOf(traceId);
    const root = spans.find((s) => s.name === `proxy ${slug}`);
    expect(root).toBeDefined();
    expect(root?.parentSpanId).toBe(callerSpanId);
    expect(root?.attributes).toMatchObject({
      'tollgate.request_id': requestId,
      'tollgate.provider': slug,
      'tollgate.outcome': 'FALLBACK',
      'tollgate.fallback': 'provider',
      'http.response.status_code': 200,
    });
    const primaryAttempts = spans.filter((s) => s.name === `upstream ${slug}`);
    expect(primaryAttempts.map((s) => s.attributes['tollgate.attempt']).sort()).toEqual([1, 2]);
    for (const attempt of primaryAttempts) {
      expect(attempt.parentSpanId).toBe(root?.spanId);
      expect(attempt.attributes['http.response.status_code']).toBe(500);
      expect(attempt.status?.code).toBe(2); // ERROR
    }
    const fallbackSpan = spans.find((s) => s.name === `fallback ${fallback.slug}`);
    expect(fallbackSpan?.parentSpanId).toBe(root?.spanId);
    const backupAttempt = spans.find((s) => s.name === `upstream ${fallback.slug}`);
    expect(backupAttempt?.parentSpanId).toBe(fallbackSpan?.spanId);
    expect(backupAttempt?.attributes['http.response.status_code']).toBe(200);
    // Neither the provider key nor the client key is ever in a span.
    expect(JSON.stringify(collector.spans)).not.toContain(providerSecret);
    expect(JSON.stringify(collector.spans)).not.toContain(key);
  });

  it('give each GraphQL operation a span with its type, name and request id', async () => {
    const traceId = randomBytes(16).toString('hex');
    const response = await fetch(t.graphqlUrl, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `Bearer ${await t.token('viewer')}`,
        traceparent: `00-${traceId}-${randomBytes(8).toString('hex')}-01`,
      },
      body: JSON.stringify({ query: 'query Viewer { viewer { role } }' }),
    });
    expect(response.status).toBe(200);
    const requestId = response.headers.get('x-request-id');
    await vi.waitFor(() => expect(spansOf(traceId)).toHaveLength(1), { timeout: 10_000 });
    expect(spansOf(traceId)[0]).toMatchObject({
      name: 'graphql query Viewer',
      attributes: {
        'graphql.operation.type': 'query',
        'graphql.operation.name': 'Viewer',
        'tollgate.request_id': requestId,
      },
    });
    // The gql helper's operations are traced too (a new trace each).
    const before = collector.spans.length;
    await gql(t.graphqlUrl, Viewer, {}, await t.token('viewer'));
    await vi.waitFor(() => expect(collector.spans.length).toBeGreaterThan(before), { timeout: 10_000 });
  });

  it('cost nothing when no endpoint is configured: there is no tracer at all', () => {
    const config = loadConfig({ TOLLGATE_JWT_SECRET: 'x'.repeat(40) });
    expect(config.tracing.endpoint).toBeUndefined();
    expect(createTracing(config.tracing, createLogger('silent'))).toBeUndefined();
    expect(
      loadConfig({
        TOLLGATE_JWT_SECRET: 'x'.repeat(40),
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/',
      }).tracing.endpoint,
    ).toBe('http://collector:4318/v1/traces');
  });
});
