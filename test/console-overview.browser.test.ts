import type { Browser, Page, WebSocketRoute } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { TripCircuit } from './documents.ts';
import { startReplicas, type TestApp } from './helpers/app.ts';
import {
  ensureConsoleBuilt,
  expectAccessible,
  launchBrowser,
  newConsolePage,
  screenshot,
} from './helpers/console.ts';
import { call, createClientKey, refreshCaches, setUpProvider } from './helpers/gateway.ts';
import { gql } from './helpers/graphql.ts';
import { startUpstream, type Upstream } from './helpers/upstream.ts';

/**
 * The overview on replica A while the circuit is tripped through the API on replica B (two
 * replicas sharing PostgreSQL and Redis): the change shows without a reload, and a change made
 * while the console's WebSocket is down shows once it reconnects (replayed with `since`).
 */
let a: TestApp;
let b: TestApp;
let browser: Browser;
let upstream: Upstream;

beforeAll(async () => {
  const redisUrl = inject('redisUrl');
  expect(redisUrl, 'redis-server is needed for this test').not.toBe('');
  await ensureConsoleBuilt();
  let replicas: Awaited<ReturnType<typeof startReplicas>>;
  [replicas, browser, upstream] = await Promise.all([
    startReplicas({ REDIS_URL: redisUrl, TOLLGATE_REPLICAS: '2' }),
    launchBrowser(),
    startUpstream({ kind: 'json', body: { ok: true } }),
  ]);
  ({ a, b } = replicas);
});
afterAll(async () => {
  await browser?.close();
  await Promise.all([a?.stop(), b?.stop(), upstream?.close()]);
});

const circuitCell = (page: Page, slug: string) =>
  page.locator(`tr[data-provider="${slug}"] td[data-cell="circuit"] .badge`).textContent();

describe('console overview', () => {
  it('shows every provider, and a circuit tripped on another replica without a reload, even across a dropped connection', async () => {
    const busy = await setUpProvider(a, upstream.url, {
      slug: 'openai-prod',
      input: {
        name: 'OpenAI (production)',
        kind: 'OPENAI_COMPATIBLE',
        pricing: { perRequestMicros: 1200 },
        rateLimit: { points: 60, periodMs: 60_000, burst: 0, mode: 'REJECT' },
      },
    });
    const calm = await setUpProvider(a, upstream.url, { slug: 'nvd', input: { name: 'NVD CVE API' } });
    await setUpProvider(a, upstream.url, { slug: 'cisa-kev', input: { name: 'CISA KEV', enabled: false } });
    const key = await createClientKey(a);
    for (let i = 0; i < 4; i++) expect((await call(a, key, `${busy.slug}/v1/models`)).status).toBe(200);
    expect((await call(a, key, `${calm.slug}/rest/json/cves/2.0`)).status).toBe(200);
    await a.app.usage.flush();
    await refreshCaches(b);

    const cp = await newConsolePage(browser, a);
    const { page } = cp;
    // The console's WebSocket goes through here, so that the test can cut it.
    let cut = false;
    const sockets: WebSocketRoute[] = [];
    await page.routeWebSocket(/\/graphql$/, (ws) => {
      if (cut) {
        void ws.close({ code: 1012, reason: 'cut by the test' });
        return;
      }
      ws.connectToServer();
      sockets.push(ws);
    });
    await page.goto(`${a.url}/console#token=${await a.token('operator', { subject: 'oncall' })}`);
    await page.locator(`tr[data-provider="${busy.slug}"]`).waitFor({ timeout: 30_000 });
    await expect.poll(() => page.locator('[data-connection]').getAttribute('data-connection')).toBe('live');
    // Survives only as long as the page is not reloaded.
    await page.evaluate(() => Object.assign(window, { sameDocument: true }));
    const row = page.locator(`tr[data-provider="${busy.slug}"]`);
    expect(await row.locator('td.num').nth(0).textContent()).toBe('4');
    expect(await row.locator('td.num').nth(3).textContent()).toBe('$0.0048');
    expect(await row.getByText('56 / 60').count()).toBe(1);
    expect(await circuitCell(page, busy.slug)).toBe('Closed');
    expect(await page.locator('tr[data-provider="cisa-kev"]').getByText('Disabled').count()).toBe(1);

    // Tripped on B, from outside the browser: A's console shows it.
    const operator = await b.token('operator');
    const tripped = await gql(
      b.graphqlUrl,
      TripCircuit,
      { provider: busy.slug, reason: 'vendor incident' },
      operator,
    );
    expect(tripped.data?.tripCircuit.__typename).toBe('CircuitPayload');
    await expect.poll(() => circuitCell(page, busy.slug), { timeout: 15_000 }).toBe('Open (tripped)');
    await page.locator('[data-event="CircuitStateEvent"]', { hasText: busy.slug }).waitFor();
    await expectAccessible(page);
    await screenshot(page, 'overview');

    // The WebSocket drops; while it is down, B trips another circuit.
    cut = true;
    await Promise.all(sockets.splice(0).map((ws) => ws.close({ code: 1012, reason: 'cut by the test' })));
    await expect
      .poll(() => page.locator('[data-connection]').getAttribute('data-connection'))
      .toBe('reconnecting');
    await gql(b.graphqlUrl, TripCircuit, { provider: calm.slug, reason: 'maintenance window' }, operator);
    // Time for the event to reach A through Redis (milliseconds) while the console cannot hear it.
    await new Promise((r) => setTimeout(r, 1000));
    expect(await circuitCell(page, calm.slug)).toBe('Closed');
    cut = false;
    await expect.poll(() => circuitCell(page, calm.slug), { timeout: 30_000 }).toBe('Open (tripped)');
    await expect.poll(() => page.locator('[data-connection]').getAttribute('data-connection')).toBe('live');
    await page.locator('[data-event="CircuitStateEvent"]', { hasText: calm.slug }).waitFor();
    expect(await page.evaluate(() => (window as { sameDocument?: boolean }).sameDocument)).toBe(true);
    expect(cp.blocked).toEqual([]);
    expect(cp.cspViolations).toEqual([]);
    await cp.close();
  });

  it("sends the overview's query before the application's code has loaded, and shows the table without waiting for the viewer query", async () => {
    await setUpProvider(a, upstream.url, { slug: 'first-paint', input: { name: 'First paint' } });
    const cp = await newConsolePage(browser, a);
    const { page } = cp;
    // The entry script, as index.html names it: every other script is the application.
    const html = await (await fetch(`${a.url}/console/`)).text();
    const entry = /<script type="module"[^>]*src="([^"]+)"/.exec(html)?.[1];
    expect(entry).toBeTruthy();
    // The application's scripts are held until the overview's query has gone out (or 10 s): the
    // query must not wait for them.
    let overviewSent = false;
    let scriptsReleasedByTimeout = false;
    let releaseScripts = () => {};
    const scriptsHeld = new Promise<void>((resolve) => {
      releaseScripts = resolve;
    });
    page.on('request', (request) => {
      if (request.url().endsWith('/graphql') && request.postData()?.includes('ConsoleOverview')) {
        overviewSent = true;
        releaseScripts();
      }
    });
    await page.route('**/console/assets/*.js', async (route) => {
      if (new URL(route.request().url()).pathname !== entry) {
        const byOverview = await Promise.race([
          scriptsHeld.then(() => true),
          new Promise<boolean>((r) => setTimeout(() => r(false), 10_000)),
        ]);
        if (!byOverview) scriptsReleasedByTimeout = true;
      }
      await route.continue();
    });
    // The viewer query is held until the provider table shows: the table must not wait for it.
    let releaseViewer = () => {};
    const viewerHeld = new Promise<void>((resolve) => {
      releaseViewer = resolve;
    });
    await page.route('**/graphql', async (route) => {
      if (route.request().postData()?.includes('ConsoleViewer')) await viewerHeld;
      await route.continue();
    });
    await page.goto(`${a.url}/console#token=${await a.token('operator', { subject: 'oncall' })}`);
    const shown = await page
      .locator('tr[data-provider="first-paint"]')
      .waitFor({ timeout: 20_000 })
      .then(() => true)
      .catch(() => false);
    releaseViewer();
    expect(overviewSent).toBe(true);
    expect(scriptsReleasedByTimeout, "the overview's query waited for the application's scripts").toBe(false);
    expect(shown, 'the provider table showed while the viewer query was unanswered').toBe(true);
    // The role arrives afterwards, and the sidebar shows it.
    await page.locator('.viewer-role[data-role="OPERATOR"]').waitFor();
    // The overview was answered once: the page used the answer to the query the entry sent.
    const overviews = cp.graphql.filter((r) => r.body.includes('"providers"'));
    expect(overviews).toHaveLength(1);
    await cp.close();
  });
});
