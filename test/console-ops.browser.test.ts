import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Kysely, sql } from 'kysely';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { DEAD_LETTER_QUEUE, DELIVERY_QUEUE } from '../src/modules/alerts/webhook-delivery.ts';
import {
  CreateAlertChannel,
  CreateBudget,
  ExportConfig,
  GetProvider,
  Jobs,
  TripCircuit,
  UpdateBudget,
  UsageReportQuery,
} from './documents.ts';
import { startTestApp, type TestApp } from './helpers/app.ts';
import {
  type ConsolePage,
  ensureConsoleBuilt,
  expectAccessible,
  launchBrowser,
  openConsole,
  screenshot,
} from './helpers/console.ts';
import { call, createClient, setUpProvider } from './helpers/gateway.ts';
import { gql } from './helpers/graphql.ts';
import { startUpstream, type Upstream } from './helpers/upstream.ts';

let t: TestApp;
let browser: Browser;
let upstream: Upstream;

beforeAll(async () => {
  await ensureConsoleBuilt();
  [t, browser, upstream] = await Promise.all([
    // No webhook retries: a failed delivery goes straight to the dead-letter queue.
    startTestApp({ env: { TOLLGATE_WEBHOOK_RETRY_LIMIT: '0' } }),
    launchBrowser(),
    startUpstream({ kind: 'json', body: { ok: true } }),
  ]);
}, 120_000);
afterAll(async () => {
  await browser?.close();
  await Promise.all([t?.stop(), upstream?.close()]);
});

/** expect.poll with room for a loaded machine (its default is one second). */
const poll = <T>(fn: () => T | Promise<T>) => expect.poll(fn, { timeout: 20_000 });

/** Nothing left the machine and the page broke no CSP rule. */
function expectClean(cp: ConsolePage) {
  expect(cp.blocked).toEqual([]);
  expect(cp.cspViolations).toEqual([]);
}

/** The field's error, as shown under the field that has `label`. */
function fieldError(page: Page, label: string) {
  return page.locator('.field', { has: page.getByLabel(label, { exact: true }) }).locator('.field-error');
}

/** A provider priced at `perRequestMicros` a call in front of the local upstream, and a client. */
async function pricedProvider(perRequestMicros: number, extra: Record<string, unknown> = {}) {
  const provider = await setUpProvider(t, upstream.url, {
    input: { pricing: { perRequestMicros }, ...extra },
  });
  const client = await createClient(t);
  return { ...provider, client };
}

describe('console: budgets', () => {
  it('creates a budget with field errors shown on their fields, and shows its 50 % alert live', async () => {
    const { slug, client } = await pricedProvider(1_000_000);
    const name = `spend-${slug}`;
    const cp = await openConsole(browser, t, { role: 'admin', path: '/budgets' });
    const { page } = cp;
    await page.getByRole('heading', { name: 'Budgets', level: 1 }).waitFor();
    await page.getByRole('button', { name: 'New budget' }).click();

    // Invalid input: the server's field errors land on the fields they are about.
    await page.getByLabel('Name', { exact: true }).fill(name);
    await page.getByLabel('Scope').selectOption('PROVIDER');
    await page.getByLabel('Period').selectOption('DAY');
    await page.getByLabel('Limit (USD)').fill('0');
    await page.getByLabel('Alert thresholds (%)').fill('90, 50');
    await page.getByRole('button', { name: 'Create budget' }).click();
    await poll(() => fieldError(page, 'Limit (USD)').textContent()).toContain('at least 1 micro-unit');
    expect(await fieldError(page, 'Alert thresholds (%)').textContent()).toContain(
      'item 2: must be in ascending order',
    );
    expect(await fieldError(page, 'Provider').textContent()).toContain('is required for scope PROVIDER');
    expect(await page.getByLabel('Limit (USD)').getAttribute('aria-invalid')).toBe('true');
    await expectAccessible(page);
    await screenshot(page, 'budgets-form-errors');
    const none = await gql(t.graphqlUrl, GetProvider, { slug }, await t.token('viewer'));
    expect(none.data?.provider?.slug).toBe(slug);

    // Fixed: created, and shown with its bar.
    await page.getByLabel('Provider').selectOption(slug);
    await page.getByLabel('Limit (USD)').fill('4');
    await page.getByLabel('Alert thresholds (%)').fill('50, 90');
    await page.getByRole('button', { name: 'Create budget' }).click();
    await page.getByText(`Created “${name}”.`).waitFor();
    const row = page.locator(`[data-budget="${name}"]`);
    await poll(() => row.textContent()).toContain('$0.00 of $4.00');
    await t.app.services.budgetEnforcer.reload();

    // Spend through the proxy: $1 a call, three calls = 75 % of $4, past the 50 % threshold.
    for (let i = 0; i < 3; i++) {
      const response = await call(t, client.key, `${slug}/v1/things`);
      expect(response.status).toBe(200);
      await response.arrayBuffer();
    }
    // The alert arrives over the subscription, and the figures follow, with no reload.
    const alert = page.locator(`[data-alert="${name}"]`);
    await alert.first().waitFor({ timeout: 15_000 });
    expect(await alert.first().textContent()).toContain('crossed 50 %');
    await poll(() => row.textContent()).toContain('$3.00 of $4.00');
    expect(await row.textContent()).toContain('Past 50 %');
    expect(await row.textContent()).toContain('Remaining $1.00');
    await expectAccessible(page);
    await screenshot(page, 'budgets');

    // Edited: a bad value is refused on its field, a good one is saved and the bar follows.
    await row.getByRole('button', { name: `Edit ${name}` }).click();
    await page.getByLabel('Time zone').fill('Mars/Olympus_Mons');
    await page.getByRole('button', { name: 'Save budget' }).click();
    await poll(() => fieldError(page, 'Time zone').textContent()).toContain('IANA time zone');
    await page.getByLabel('Time zone').fill('UTC');
    await page.getByLabel('Limit (USD)').fill('6');
    await page.getByRole('button', { name: 'Save budget' }).click();
    await page.getByText(`Saved “${name}”.`).waitFor();
    await poll(() => row.textContent()).toContain('$3.00 of $6.00');
    expectClean(cp);
    await cp.close();
  }, 90_000);
});

describe('console: jobs', () => {
  it('shows a dead-lettered webhook delivery with its error and redrives it from the Jobs page', async () => {
    let healthy = false;
    const received: string[] = [];
    const receiver: Server = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => {
        body += c;
      });
      req.on('end', () => {
        if (healthy) received.push(body);
        res.writeHead(healthy ? 200 : 500).end();
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    try {
      const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
      const channel = await gql(
        t.graphqlUrl,
        CreateAlertChannel,
        { input: { name: 'ops-pager', url, kinds: ['CIRCUIT_STATE'], allowPrivateNetwork: true } },
        await t.token('admin'),
      );
      expect(channel.data?.createAlertChannel.__typename).toBe('AlertChannelCreatedPayload');
      const { slug } = await setUpProvider(t, upstream.url);
      const operator = await t.token('operator');
      await gql(t.graphqlUrl, TripCircuit, { provider: slug, reason: 'maintenance' }, operator);
      await vi.waitFor(
        async () => {
          const dead = await gql(t.graphqlUrl, Jobs, { queue: DEAD_LETTER_QUEUE }, operator);
          expect(dead.data?.jobs).toHaveLength(1);
        },
        { timeout: 15_000, interval: 250 },
      );

      const cp = await openConsole(browser, t, { role: 'operator', path: `/jobs?queue=${DELIVERY_QUEUE}` });
      const { page } = cp;
      const queueRow = page.locator(`tr[data-queue="${DELIVERY_QUEUE}"]`);
      await queueRow.waitFor();
      await poll(() => queueRow.locator('[data-dead-letters]').getAttribute('data-dead-letters')).toBe('1');
      // The failed delivery, with the error it failed with.
      await poll(() =>
        page.getByRole('table', { name: `Failed jobs in ${DELIVERY_QUEUE}` }).textContent(),
      ).toContain('the endpoint answered 500');
      // The dead letter shows its own error.
      await poll(() =>
        page.getByRole('table', { name: `Dead letters of ${DELIVERY_QUEUE}` }).textContent(),
      ).toContain('the endpoint answered 500');
      await expectAccessible(page);
      await screenshot(page, 'jobs');

      // The endpoint recovers; the operator redrives the dead letter (asked to confirm first).
      healthy = true;
      await page.getByRole('button', { name: `Redrive 1 to ${DELIVERY_QUEUE}` }).click();
      await page.getByRole('button', { name: 'Redrive', exact: true }).click();
      await page.getByText(`Moved 1 dead-lettered job back to ${DELIVERY_QUEUE}.`).waitFor();
      await vi.waitFor(() => expect(received).toHaveLength(1), { timeout: 15_000 });
      expect(JSON.parse(received[0]!).kind).toBe('CIRCUIT_STATE');
      await poll(() => queueRow.locator('[data-dead-letters]').getAttribute('data-dead-letters')).toBe('0');
      expectClean(cp);
      await cp.close();
    } finally {
      receiver.close();
    }
  }, 90_000);
});

describe('console: usage', () => {
  it('shows the calls made, by provider, in charts and a table, and downloads them as CSV', async () => {
    const { slug, client } = await pricedProvider(2_500);
    // Five answered calls and two upstream errors.
    upstream.behave((req) =>
      req.path.endsWith('/broken') ? { kind: 'status', status: 500 } : { kind: 'json', body: { ok: 1 } },
    );
    for (let i = 0; i < 7; i++) {
      const r = await call(t, client.key, `${slug}/v1/${i < 5 ? 'items' : 'broken'}`);
      expect(r.status).toBe(i < 5 ? 200 : 500);
      await r.arrayBuffer();
    }
    upstream.behave({ kind: 'json', body: { ok: true } });
    // Calls are metered within about a second: wait until the report has them.
    const viewer = await t.token('viewer');
    await vi.waitFor(
      async () => {
        const report = await gql(
          t.graphqlUrl,
          UsageReportQuery,
          { range: 'LAST_DAY', groupBy: ['PROVIDER'], filter: { providers: [slug] } },
          viewer,
        );
        const usage = report.data?.usage;
        expect(usage?.__typename === 'UsageReport' ? usage.totals.calls : 0).toBe(7);
      },
      { timeout: 15_000, interval: 250 },
    );

    const cp = await openConsole(browser, t, { role: 'viewer', path: '/usage' });
    const { page } = cp;
    const row = page.locator(`tr[data-group="${slug}"]`);
    await row.waitFor({ timeout: 15_000 });
    const cells = await row.locator('td').allTextContents();
    expect(cells[0]).toBe('7'); // calls
    expect(cells[1]).toBe('5'); // succeeded
    expect(cells[2]).toBe('2'); // failed
    expect(cells[4]).toBe('$0.0125'); // 5 answered calls × $0.0025
    // Four charts (calls, error rate, cost, latency), drawn by the lazily loaded uPlot.
    await poll(() => page.locator('.uplot').count()).toBe(4);
    await expectAccessible(page);
    await screenshot(page, 'usage');

    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'Download CSV' }).click(),
    ]);
    expect(download.suggestedFilename()).toMatch(/^tollgate-usage-.*\.csv$/);
    const csv = readFileSync((await download.path())!, 'utf8');
    const [header, ...lines] = csv.trim().split('\r\n');
    expect(header).toBe(
      'provider,bucket_start,calls,successes,failures,error_rate,cost_usd,cost_micros,latency_p50_ms,latency_p95_ms,latency_p99_ms',
    );
    const mine = lines.map((l) => l.split(',')).filter((f) => f[0] === slug);
    expect(mine.reduce((n, f) => n + Number(f[2]), 0)).toBe(7);
    expect(mine.reduce((n, f) => n + Number(f[4]), 0)).toBe(2);
    expect(mine.reduce((n, f) => n + Number(f[7]), 0)).toBe(12_500);

    // Grouped by outcome instead: the table follows the picker.
    await page.getByLabel('Group by').selectOption('OUTCOME');
    await page.locator('tr[data-group="UPSTREAM_ERROR"]').waitFor();
    expectClean(cp);
    await cp.close();
  }, 90_000);
});

describe('console: audit log', () => {
  it('filters the log and shows a budget change with its values before and after', async () => {
    const admin = await t.token('admin', { subject: 'alice@example.com' });
    const created = await gql(
      t.graphqlUrl,
      CreateBudget,
      { input: { name: 'audited-monthly', scope: 'GLOBAL', period: 'MONTH', limitMicros: 25_000_000 } },
      admin,
    );
    const budget = created.data?.createBudget;
    if (budget?.__typename !== 'BudgetPayload') throw new Error(JSON.stringify(created));
    await gql(
      t.graphqlUrl,
      UpdateBudget,
      { input: { id: budget.budget.id, version: 1, limitMicros: 40_000_000, action: 'ALERT_ONLY' } },
      admin,
    );

    const cp = await openConsole(browser, t, { role: 'operator', path: '/audit' });
    const { page } = cp;
    await page.locator('tr[data-audit="budget.update"]').first().waitFor();
    await page.getByLabel('Actor').fill('alice@example.com');
    await page.getByLabel('Target type').selectOption('Budget');
    await page.getByRole('button', { name: 'Filter' }).click();
    await poll(() => page.locator('tr[data-audit]').count()).toBe(2);
    const update = page.locator('tr[data-audit="budget.update"]');
    await update.getByRole('button', { name: /Show changes/ }).click();
    const diff = page.getByRole('table', { name: 'Changes made by budget.update' });
    const limit = await diff.locator('tr[data-field="limitMicros"] td').allTextContents();
    expect(limit).toEqual(['25000000', '40000000']);
    const action = await diff.locator('tr[data-field="action"] td').allTextContents();
    expect(action).toEqual(['BLOCK', 'ALERT_ONLY']);
    await expectAccessible(page);
    await screenshot(page, 'audit');
    expectClean(cp);
    await cp.close();
  }, 60_000);
});

describe('console: configuration', () => {
  it('exports the YAML, shows a bad document’s errors on their lines, plans a change and applies it', async () => {
    const { slug } = await setUpProvider(t, upstream.url, { input: { timeoutMs: 31_234 } });
    const cp = await openConsole(browser, t, { role: 'admin', path: '/configuration' });
    const { page } = cp;
    const exported = page.locator('[data-export]');
    await poll(() => exported.textContent()).toContain(`slug: ${slug}`);

    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'Download YAML' }).click(),
    ]);
    expect(download.suggestedFilename()).toBe('tollgate.yaml');
    const yaml = readFileSync((await download.path())!, 'utf8');
    const official = await gql(t.graphqlUrl, ExportConfig, {}, await t.token('admin'));
    expect(yaml).toBe(official.data?.exportConfig);

    // A broken document: every problem is listed with its path and line, and nothing is applied.
    const editor = page.getByLabel('Configuration document (YAML)');
    const broken = yaml.replace('timeoutMs: 31234', 'timeoutMs: -5');
    await editor.fill(broken);
    await page.getByRole('button', { name: 'Plan (dry run)' }).click();
    const problems = page.getByRole('list', { name: 'Problems in the document' });
    await problems.waitFor();
    const line = broken.split('\n').findIndex((l) => l.includes('timeoutMs: -5')) + 1;
    expect(await problems.textContent()).toMatch(
      new RegExp(`Line ${line} providers\\[\\d+\\]\\.timeoutMs: `),
    );

    // A good change: planned first (dry run), then applied after confirming.
    await editor.fill(yaml.replace('timeoutMs: 31234', 'timeoutMs: 12345'));
    await page.getByRole('button', { name: 'Plan (dry run)' }).click();
    const planRow = page.locator(`tr[data-plan="UPDATE providers ${slug}"]`);
    await planRow.waitFor();
    expect(await planRow.textContent()).toContain('timeoutMs');
    const viewer = await t.token('viewer');
    expect((await gql(t.graphqlUrl, GetProvider, { slug }, viewer)).data?.provider?.timeoutMs).toBe(31_234);
    await expectAccessible(page);
    await screenshot(page, 'configuration');
    await page.getByRole('button', { name: 'Apply', exact: true }).click();
    await page.getByRole('button', { name: 'Apply now' }).click();
    await page.getByText('Applied 1 change in one transaction.').waitFor();
    expect((await gql(t.graphqlUrl, GetProvider, { slug }, viewer)).data?.provider?.timeoutMs).toBe(12_345);
    expectClean(cp);
    await cp.close();
  }, 60_000);
});

describe('console: a viewer', () => {
  it('sees no change controls on the budgets, usage, jobs, audit and configuration pages', async () => {
    // Something to show on every page.
    await gql(
      t.graphqlUrl,
      CreateBudget,
      { input: { name: 'viewer-visible', scope: 'GLOBAL', period: 'DAY', limitMicros: 9_000_000 } },
      await t.token('admin'),
    );
    const cp = await openConsole(browser, t, { role: 'viewer', path: '/budgets' });
    const { page } = cp;
    const controls =
      /^(New budget|Edit|Delete|Create budget|Save budget|Retry|Redrive|Apply|Plan \(dry run\)|Show changes)/;
    const pages: [string, string][] = [
      ['Budgets', 'budgets'],
      ['Usage', 'usage'],
      ['Jobs', 'jobs'],
      ['Audit log', 'audit'],
      ['Configuration', 'configuration'],
    ];
    for (const [label, path] of pages) {
      await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: label }).click();
      await page.getByRole('heading', { name: label, level: 1 }).waitFor();
      await page.waitForLoadState('networkidle');
      if (path === 'budgets') await page.locator('[data-budget="viewer-visible"]').waitFor();
      if (path === 'audit') await page.locator('tr[data-audit]').first().waitFor();
      const buttons = await page.locator('main button').allTextContents();
      expect(
        buttons.filter((b) => controls.test(b.trim())),
        path,
      ).toEqual([]);
      await expectAccessible(page);
      await screenshot(page, `viewer-${path}`);
    }
    expectClean(cp);
    await cp.close();
  }, 90_000);
});

describe('console: a viewer reads jobs and configuration', () => {
  it('shows a viewer the job queues, failed jobs and the configuration read-only, redacted, and refuses a forged retry', async () => {
    const secret = 'T0VIEWER/B0VIEWER/viewer-secret-token';
    await gql(
      t.graphqlUrl,
      CreateAlertChannel,
      {
        input: {
          name: 'viewer-channel',
          url: `https://hooks.example.com/services/${secret}`,
          kinds: ['KEY'],
        },
      },
      await t.token('admin'),
    );
    // A delivery that failed with its webhook URL in the error.
    const db = t.app.orm.em.fork().getKysely() as Kysely<unknown>;
    const inserted = await sql<{ id: string }>`
      insert into pgboss.job (name, data, state, retry_limit, started_on, completed_on, output)
      values (${DELIVERY_QUEUE}, ${JSON.stringify({ channelId: 'x' })}::jsonb, 'failed', 0, now(), now(),
              ${JSON.stringify({ message: `POST https://hooks.example.com/services/${secret} failed: socket hang up` })}::jsonb)
      returning id`.execute(db);
    const jobId = inserted.rows[0]!.id;

    const cp = await openConsole(browser, t, { role: 'viewer', path: `/jobs?queue=${DELIVERY_QUEUE}` });
    const { page } = cp;
    await page.locator(`tr[data-queue="${DELIVERY_QUEUE}"]`).waitFor();
    const failed = page.getByRole('table', { name: `Failed jobs in ${DELIVERY_QUEUE}` });
    await failed.locator(`tr[data-job="${jobId}"]`).waitFor();
    expect(await failed.locator(`tr[data-job="${jobId}"]`).textContent()).toContain(
      'POST https://hooks.example.com/… failed: socket hang up',
    );
    // Read-only: neither retry nor redrive is offered.
    await page.waitForLoadState('networkidle');
    expect(await page.locator('main button').allTextContents()).not.toContainEqual(
      expect.stringMatching(/Retry|Redrive/),
    );
    await expectAccessible(page);
    await screenshot(page, 'viewer-jobs-read-only');

    // A retry forged from the viewer's page, with the viewer's own token, is refused.
    const forged = await page.evaluate(async (id) => {
      const token = sessionStorage.getItem('tollgate.console.token');
      const response = await fetch('/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({
          query: 'mutation ($queue: String!, $id: ID!) { retryJob(queue: $queue, id: $id) { __typename } }',
          variables: { queue: 'webhook-delivery', id },
        }),
      });
      return (await response.json()) as {
        data?: { retryJob: unknown } | null;
        errors?: { message: string }[];
      };
    }, jobId);
    expect(forged.errors?.[0]?.message).toMatch(/not authorized|role/i);
    expect(forged.data?.retryJob ?? null).toBeNull();
    const state = await sql<{
      state: string;
    }>`select state::text as state from pgboss.job where id = ${jobId}::uuid`.execute(db);
    expect(state.rows[0]?.state).toBe('failed');

    // The configuration document, with the channel's URL redacted, and no way to apply one.
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Configuration' }).click();
    const yaml = page.locator('[data-export]');
    await yaml.waitFor();
    const text = (await yaml.textContent()) ?? '';
    expect(text).toContain('viewer-channel');
    expect(text).toContain('https://hooks.example.com/…');
    await page.waitForLoadState('networkidle');
    const buttons = await page.locator('main button').allTextContents();
    expect(buttons).not.toContainEqual(expect.stringMatching(/Edit a copy|Apply|Plan/));
    await page.getByRole('button', { name: 'Download YAML' }).waitFor();
    await expectAccessible(page);
    await screenshot(page, 'viewer-configuration-read-only');

    // Nothing the viewer's console received holds the secret part of the URL.
    expect(cp.graphql.length).toBeGreaterThan(0);
    for (const response of cp.graphql) expect(response.body).not.toContain('viewer-secret');
    expect(await page.content()).not.toContain('viewer-secret');
    expectClean(cp);
    await cp.close();
  }, 90_000);
});
