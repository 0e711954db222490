import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateBudget } from './documents.ts';
import { startTestApp, type TestApp } from './helpers/app.ts';
import {
  ensureConsoleBuilt,
  launchBrowser,
  newConsolePage,
  openConsole,
  screenshot,
} from './helpers/console.ts';
import { gql } from './helpers/graphql.ts';

/**
 * Counts come from the connections' `totalCount`, not from the page the console holds: with more
 * providers than the Overview's first page and more budgets than the Budgets page's first page,
 * the console says how many there are in all.
 */
let t: TestApp;
let browser: Browser;

beforeAll(async () => {
  await ensureConsoleBuilt();
  [t, browser] = await Promise.all([startTestApp(), launchBrowser()]);
}, 120_000);
afterAll(async () => {
  await browser?.close();
  await t?.stop();
});

describe('console counts', () => {
  it('shows how many providers and budgets there are in all, beyond the page on screen', async () => {
    const actor = { subject: 'counts', role: 'admin' as const, requestId: undefined };
    // One more than the Overview's page of 100; every third one disabled.
    for (let i = 0; i < 101; i++) {
      await t.app.services.providers.create(actor, {
        slug: `count-${String(i).padStart(3, '0')}`,
        name: `Count ${i}`,
        baseUrl: 'https://api.example.com',
        enabled: i % 3 !== 0,
      } as never);
    }
    const admin = await t.token('admin');
    // One more than the Budgets page's first page of 25.
    for (let i = 0; i < 26; i++) {
      const created = await gql(
        t.graphqlUrl,
        CreateBudget,
        { input: { name: `count-${i}`, scope: 'GLOBAL', period: 'MONTH', limitMicros: 1_000_000 } },
        admin,
      );
      expect(created.data?.createBudget.__typename).toBe('BudgetPayload');
    }

    const cp = await openConsole(browser, t, { role: 'admin', path: '/' });
    const { page } = cp;
    await page.locator('table.overview-table tbody tr').nth(99).waitFor();
    expect(await page.locator('table.overview-table tbody tr').count()).toBe(100);
    const tile = page.locator('.tile', { hasText: 'Providers' });
    expect(await tile.locator('.tile-value').textContent()).toBe('101');
    expect(await tile.locator('.tile-sub').textContent()).toBe('66 enabled of the first 100');
    expect(await page.getByText('Showing the first 100 of 101 providers.').count()).toBe(1);

    await page.getByRole('link', { name: 'Providers', exact: true }).click();
    await page.locator('[data-total="101"]').waitFor();
    expect(await page.locator('[data-total="101"]').textContent()).toBe('101 providers · page 1 of 2');

    await page.getByRole('link', { name: 'Budgets', exact: true }).click();
    await page.locator('.budget-list > li').nth(24).waitFor();
    expect(await page.locator('.budget-list > li').count()).toBe(25);
    expect(await page.locator('[data-total]').textContent()).toBe('26 budgets');
    await screenshot(page, 'budgets-count');
    await cp.close();
  }, 180_000);

  it('asks a signed-in console’s server for GraphQL only, not for the sign-in page’s single sign-on settings', async () => {
    const cp = await newConsolePage(browser, t);
    const asked: string[] = [];
    cp.page.on('request', (request) => asked.push(new URL(request.url()).pathname));
    await cp.page.goto(`${t.url}/console#token=${await t.token('admin')}`);
    await cp.page.locator('table.overview-table tbody tr').first().waitFor();
    await cp.page.locator('[data-connection="live"]').waitFor();
    expect(asked.filter((path) => path.startsWith('/auth/'))).toEqual([]);
    expect(asked).toContain('/graphql');
    // Signed out, the sign-in page asks for them (to offer single sign-on when there is one).
    await cp.page.getByRole('button', { name: 'Sign out' }).click();
    await cp.page
      .getByRole('heading', { name: /sign in/i })
      .first()
      .waitFor();
    await expect.poll(() => asked.includes('/auth/config')).toBe(true);
    await cp.close();
  }, 60_000);
});
