import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { type Kysely, sql } from 'kysely';
import { chromium, type Page } from 'playwright-core';
import { buildConsoleIfStale } from '../../bench/console-build.ts';
import { startApp } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { TokenService } from '../../src/modules/auth/token.service.ts';
import { UsageRollups } from '../../src/modules/usage/usage-rollup.ts';
import { usageRow, writeUsageRows } from '../../src/modules/usage/usage-rows.ts';
import { createLogger } from '../../src/shared/logger.ts';
import {
  AddProviderKey,
  CreateBudget,
  CreateClient,
  CreateProvider,
  TripCircuit,
} from '../../test/documents.ts';
import { gql } from '../../test/helpers/graphql.ts';
import { startUpstream } from '../../test/helpers/upstream.ts';
import { syntheticEvents } from '../../test/helpers/usage-data.ts';

/**
 * `npm run screenshots:console`: the images in docs/console/, from a real Tollgate (embedded
 * PostgreSQL) seeded through the GraphQL API like an operator would (providers, keys, clients,
 * budgets), real proxied calls against local upstreams, a week of earlier traffic from the usage
 * benchmark's generator, a tripped circuit. A page still showing its "Coming soon" placeholder is
 * skipped (its old image, if any, stays).
 */
const OUT = fileURLToPath(new URL('./', import.meta.url));
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const VIEWPORT = { width: 1280, height: 800 };

const PAGES: { name: string; path: string }[] = [
  { name: 'overview', path: '' },
  { name: 'providers', path: 'providers' },
  { name: 'provider', path: 'providers/openai' },
  { name: 'clients', path: 'clients' },
  { name: 'budgets', path: 'budgets' },
  { name: 'usage', path: 'usage' },
  { name: 'jobs', path: 'jobs' },
  { name: 'audit', path: 'audit' },
  { name: 'configuration', path: 'configuration' },
];

function must<T extends { __typename?: string }>(
  result: { data?: Record<string, T> | null },
  typename: string,
): T {
  const value = Object.values(result.data ?? {})[0];
  if (value?.__typename !== typename) throw new Error(`expected ${typename}: ${JSON.stringify(result)}`);
  return value;
}

async function main(): Promise<void> {
  buildConsoleIfStale();
  const [models, apis, flaky] = await Promise.all([
    startUpstream({ kind: 'openai' }),
    startUpstream({ kind: 'json', body: { vulnerabilities: [], totalResults: 0 } }),
    startUpstream({ kind: 'status', status: 503, body: 'maintenance' }),
  ]);
  const dataDir = mkdtempSync(join(tmpdir(), 'tollgate-screenshots-'));
  const config = loadConfig({
    TOLLGATE_DATA_DIR: dataDir,
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    TOLLGATE_EMBEDDED_PG_PORT: String(20_000 + Math.floor(Math.random() * 12_000)),
    TOLLGATE_ROLLUP_CRON: 'off',
    TOLLGATE_JWT_SECRET: randomBytes(32).toString('base64url'),
  });
  const app = await startApp(config, { logger: createLogger('warn') });
  try {
    const graphqlUrl = `${app.url}/graphql`;
    const tokens = new TokenService(config.auth);
    const admin = await tokens.mint({ role: 'admin', subject: 'alice@example.com', ttlSeconds: 3600 });
    const run = <R, V>(document: TypedDocumentNode<R, V>, variables: V) =>
      gql(graphqlUrl, document, variables, admin) as Promise<{ data?: Record<string, never> | null }>;

    const healthCheck = { enabled: true, intervalMs: 5000, path: '/' };
    const providers = [
      {
        slug: 'openai',
        name: 'OpenAI',
        kind: 'OPENAI_COMPATIBLE' as const,
        baseUrl: `${models.url}/v1`,
        pricing: {
          models: [
            { model: 'gpt-4o-mini', inputPerMillionMicros: 150_000_000, outputPerMillionMicros: 600_000_000 },
          ],
        },
        rateLimit: { points: 600, periodMs: 60_000, burst: 0, mode: 'REJECT' as const },
      },
      {
        slug: 'nvd',
        name: 'NIST NVD',
        baseUrl: apis.url,
        pricing: { perRequestMicros: 200 },
        healthCheck,
        rateLimit: { points: 50, periodMs: 30_000, burst: 0, mode: 'REJECT' as const },
      },
      { slug: 'cisa-kev', name: 'CISA KEV catalog', baseUrl: apis.url, healthCheck },
      {
        slug: 'exploitdb',
        name: 'Exploit-DB',
        baseUrl: flaky.url,
        retry: { maxAttempts: 1 },
        breaker: { failureThreshold: 100 },
        healthCheck,
      },
      { slug: 'github-advisories', name: 'GitHub Advisories', baseUrl: apis.url, enabled: false },
    ];
    for (const p of providers) {
      must(
        await run(CreateProvider, { input: { allowPrivateNetwork: true, ...p } as never }),
        'ProviderPayload',
      );
      for (const label of p.slug === 'openai' ? ['primary', 'secondary'] : ['default']) {
        const secret = `sk-${p.slug}-${randomBytes(12).toString('hex')}`;
        must(await run(AddProviderKey, { input: { provider: p.slug, secret, label } }), 'ProviderKeyPayload');
      }
    }
    const clients: Record<string, { id: string; key: string }> = {};
    for (const [name, allowed] of [
      ['vuln-scanner', ['nvd', 'cisa-kev', 'exploitdb']],
      ['chat-assistant', ['openai']],
      ['nightly-report', null],
    ] as const) {
      const created = must(
        await run(CreateClient, { input: { name, allowedProviders: allowed ? [...allowed] : null } }),
        'ClientKeyPayload',
      ) as unknown as { client: { id: string }; key: string };
      clients[name] = { id: created.client.id, key: created.key };
    }
    await app.services.providerCache.reload();
    await app.services.keyRing.reload();
    await app.services.clientCache.reload();

    for (const input of [
      {
        name: 'OpenAI monthly',
        scope: 'PROVIDER',
        provider: 'openai',
        period: 'MONTH',
        limitMicros: 5_000_000,
      },
      { name: 'NVD daily', scope: 'PROVIDER', provider: 'nvd', period: 'DAY', limitMicros: 20_000 },
      {
        name: 'Chat assistant weekly',
        scope: 'CLIENT',
        client: clients['chat-assistant']!.id,
        period: 'WEEK',
        limitMicros: 2_000_000,
        action: 'ALERT_ONLY',
      },
    ]) {
      must(await run(CreateBudget, { input: input as never }), 'BudgetPayload');
    }

    // Real calls through the proxy.
    const call = (client: string, path: string, init: RequestInit = {}) =>
      fetch(`${app.url}/proxy/${path}`, {
        ...init,
        headers: { authorization: `Bearer ${clients[client]!.key}`, 'content-type': 'application/json' },
      }).then((r) => r.arrayBuffer());
    for (let i = 0; i < 40; i++) {
      await call('chat-assistant', 'openai/chat/completions', {
        method: 'POST',
        body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: `hello ${i}` }] }),
      });
      await call('vuln-scanner', `nvd/rest/json/cves/2.0?cveId=CVE-2026-${1000 + i}`);
      if (i % 2 === 0) await call('vuln-scanner', 'cisa-kev/feeds/known_exploited_vulnerabilities.json');
      if (i % 4 === 0) await call('vuln-scanner', `exploitdb/search?cve=CVE-2026-${1000 + i}`);
      if (i % 5 === 0) await call('nightly-report', 'nvd/rest/json/cves/2.0?lastModStartDate=2026-12-01');
    }
    await app.usage.flush();

    // A week of earlier traffic, so charts have a shape (rolled up as the app does).
    const db = app.orm.em.fork().getKysely() as Kysely<unknown>;
    const ids = await sql<{ id: string; slug: string }>`select id, slug from providers`.execute(db);
    const live = ids.rows.filter((r) => r.slug !== 'github-advisories');
    const now = new Date();
    const events = syntheticEvents({
      count: 20_000,
      from: new Date(now.getTime() - 7 * 86_400_000),
      to: new Date(now.getTime() - 3_600_000),
      providerIds: live.map((r) => r.id),
      clientIds: Object.values(clients).map((c) => c.id),
      models: ['gpt-4o-mini'],
      seed: 3,
    }).map((e) => ({ ...e, providerSlug: live.find((r) => r.id === e.providerId)!.slug }));
    const pool = await app.orm.em.getConnection().getNativeClient();
    await writeUsageRows(
      pool,
      db,
      events.map((e) => usageRow(e, e.at, e.id)),
    );
    await new UsageRollups({ orm: app.orm, logger: createLogger('warn'), timeZone: config.timeZone }).run(
      now,
    );

    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
    });
    try {
      const context = await browser.newContext({ viewport: VIEWPORT, deviceScaleFactor: 1 });
      const page = await context.newPage();
      await page.goto(`${app.url}/console#token=${admin}`);
      await page.getByRole('navigation', { name: 'Main' }).waitFor({ timeout: 30_000 });
      await page.locator('table.overview-table').waitFor({ timeout: 30_000 });
      // Tripped while the overview is open: it shows live, and in the event feed.
      must(
        await run(TripCircuit, { provider: 'exploitdb', reason: 'Upstream in maintenance until 20:00 UTC' }),
        'CircuitPayload',
      );
      await page.getByText('Open (tripped)').waitFor({ timeout: 10_000 });
      await page.waitForTimeout(1000);
      await page.screenshot({ path: join(OUT, 'overview.png') });
      console.log(`  overview: ${join(OUT, 'overview.png')}`);
      for (const { name, path } of PAGES.slice(1)) {
        const file = join(OUT, `${name}.png`);
        if (!(await capture(page, `${app.url}/console/${path}`, file))) {
          console.log(`  ${name}: placeholder, skipped`);
          continue;
        }
        console.log(`  ${name}: ${file} (${Math.round(statSync(file).size / 1024)} KB)`);
      }
    } finally {
      await browser.close();
    }
  } finally {
    await app.stop();
    await Promise.all([models.close(), apis.close(), flaky.close()]);
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** Opens the page, lets its data and charts settle, and saves the viewport; false for a placeholder. */
async function capture(page: Page, url: string, file: string): Promise<boolean> {
  await page.goto(url);
  await page.getByRole('navigation', { name: 'Main' }).waitFor({ timeout: 30_000 });
  await page.waitForLoadState('networkidle').catch(() => undefined);
  await page.waitForTimeout(1500);
  if (await page.getByText('Coming soon').isVisible()) return false;
  await page.screenshot({ path: file, fullPage: false });
  return existsSync(file);
}

await main();
process.exit(0);
