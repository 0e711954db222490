import { randomBytes } from 'node:crypto';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AddProviderKey,
  GetProvider,
  ListProviders,
  ProviderCircuit,
  TripCircuit,
  UpdateProvider,
} from './documents.ts';
import { startTestApp, type TestApp } from './helpers/app.ts';
import {
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
    startTestApp(),
    launchBrowser(),
    startUpstream({ kind: 'json', body: { forecast: 'sunny' } }),
  ]);
});
afterAll(async () => {
  await browser?.close();
  await upstream?.close();
  await t?.stop();
});

/** The validation message shown for the field labelled `label` (via aria-describedby), or null. */
async function fieldError(page: Page, label: string): Promise<string | null> {
  const input = page.getByLabel(label, { exact: true });
  if ((await input.getAttribute('aria-invalid')) !== 'true') return null;
  const id = await input.getAttribute('aria-describedby');
  return id ? page.locator(`[id="${id}"]`).textContent() : null;
}

function nav(page: Page, name: string) {
  return page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name });
}

async function proxyCode(key: string, path: string): Promise<string | number> {
  const response = await call(t, key, path);
  if (response.ok) return response.status;
  const body = (await response.json()) as { error?: { code?: string } };
  return body.error?.code ?? response.status;
}

describe('console: providers and clients', () => {
  it('creates a provider through the form (field errors first, nothing written), disables and enables it, adds a key, creates a client whose calls show in recent calls and the usage chart', async () => {
    const admin = await t.token('admin');
    const cp = await openConsole(browser, t, { role: 'admin', path: '/providers' });
    const { page } = cp;

    // ---- invalid input: each error on its own field, nothing stored ----
    await page.getByRole('link', { name: 'New provider' }).click();
    await page.getByRole('heading', { name: 'New provider' }).waitFor();
    await page.getByLabel('Name', { exact: true }).fill('Weather API');
    await page.getByLabel('Slug', { exact: true }).fill('Weather API!');
    await page.getByLabel('Base URL', { exact: true }).fill('ftp://weather.example');
    await page.getByLabel('Attempts (first included)', { exact: true }).fill('0');
    await page.getByRole('button', { name: 'Create provider' }).click();
    await page.getByTestId('form-problems').waitFor();
    expect(await fieldError(page, 'Slug')).toMatch(/lowercase|slug/i);
    expect(await fieldError(page, 'Base URL')).toMatch(/http/i);
    expect(await fieldError(page, 'Attempts (first included)')).toMatch(/at least 1/);
    expect(await fieldError(page, 'Name')).toBeNull();
    expect(await fieldError(page, 'Timeout (ms)')).toBeNull();
    await screenshot(page, 'providers-create-errors');
    const none = await gql(t.graphqlUrl, ListProviders, { first: 50, filter: { search: 'weather' } }, admin);
    expect(none.data?.providers.edges).toEqual([]);

    // ---- fixed: saved, and the page moves to the new provider ----
    await page.getByLabel('Slug', { exact: true }).fill('weather');
    await page.getByLabel('Base URL', { exact: true }).fill(upstream.url);
    await page.getByLabel('Attempts (first included)', { exact: true }).fill('2');
    await page.getByLabel('Allow private network', { exact: true }).check();
    await page.getByRole('button', { name: 'Create provider' }).click();
    await page.getByText('Provider created.').waitFor();
    expect(new URL(page.url()).pathname).toBe('/console/providers/weather');
    const stored = (await gql(t.graphqlUrl, GetProvider, { slug: 'weather' }, admin)).data?.provider;
    expect(stored).toMatchObject({
      name: 'Weather API',
      baseUrl: upstream.url,
      enabled: true,
      retry: { maxAttempts: 2 },
    });

    // ---- a key, typed into a password field and never shown again ----
    const secret = `sk-weather-${randomBytes(10).toString('hex')}`;
    await page.getByRole('link', { name: /^Keys/ }).click();
    await page.getByLabel('Label', { exact: true }).fill('primary');
    const secretField = page.getByLabel('Secret', { exact: true });
    expect(await secretField.getAttribute('type')).toBe('password');
    await secretField.fill(secret);
    await page.getByRole('button', { name: 'Add key' }).click();
    await page.locator('[data-key-label="primary"]').waitFor();
    expect(await page.locator('[data-key-label="primary"]').textContent()).toContain(
      `••••${secret.slice(-4)}`,
    );
    expect(await secretField.inputValue()).toBe('');
    expect(await page.content()).not.toContain(secret);
    await expectAccessible(page);
    await screenshot(page, 'provider-keys');

    // ---- a client, whose key is shown once ----
    await nav(page, 'Clients').click();
    await page.getByRole('link', { name: 'New client' }).click();
    await page.getByLabel('Name', { exact: true }).fill('checkout-service');
    await page.getByRole('button', { name: 'Create client' }).click();
    await page.getByTestId('key-reveal').waitFor();
    const clientKey = await page.getByTestId('client-key').inputValue();
    expect(clientKey).toMatch(/^tg_[\w-]{40,}$/);
    expect(await page.getByTestId('key-reveal').textContent()).toContain('only time it is shown');
    await page.getByRole('button', { name: 'Copy' }).click();
    await page.getByText(/Copied to the clipboard|press Ctrl\+C/).waitFor();
    await expectAccessible(page);
    await screenshot(page, 'client-key-shown-once');
    await page.getByRole('button', { name: 'I have stored the key' }).click();
    await page.getByRole('heading', { name: 'checkout-service' }).waitFor();
    expect(await page.content()).not.toContain(clientKey);

    // ---- the proxy serves, refuses while disabled, serves again ----
    await expect.poll(() => proxyCode(clientKey, 'weather/forecast?day=1')).toBe(200);
    await page.goto(`${t.url}/console/providers/weather`);
    const enabledSwitch = page.getByRole('switch', { name: 'Weather API enabled' });
    await enabledSwitch.click();
    await expect.poll(() => enabledSwitch.getAttribute('aria-checked')).toBe('false');
    await page.getByText('Disabled: calls are refused with PROVIDER_DISABLED.').waitFor();
    expect((await gql(t.graphqlUrl, GetProvider, { slug: 'weather' }, admin)).data?.provider?.enabled).toBe(
      false,
    );
    await expect.poll(() => proxyCode(clientKey, 'weather/forecast?day=2')).toBe('PROVIDER_DISABLED');
    await enabledSwitch.click();
    await expect.poll(() => enabledSwitch.getAttribute('aria-checked')).toBe('true');
    await expect.poll(() => proxyCode(clientKey, 'weather/forecast?day=3')).toBe(200);

    // ---- the calls show in recent calls and the usage chart ----
    const clientId = await clientIdByName('checkout-service');
    await expect
      .poll(
        async () =>
          (await gql(t.graphqlUrl, ProviderCircuit, { slug: 'weather' }, admin)).data?.provider?.recentCalls
            .length,
      )
      .toBeGreaterThanOrEqual(3);
    await page.reload();
    const calls = page.getByTestId('recent-calls');
    await calls.waitFor();
    const callsText = await calls.textContent();
    expect(callsText).toContain('GET /forecast');
    expect(callsText).toContain('Disabled');
    expect(callsText).toContain('Success');
    expect(callsText).toContain(clientId.slice(0, 8));
    const totals = page.getByTestId('usage-totals');
    await expect.poll(() => totals.getAttribute('data-calls')).toBe(String(await callCount()));
    await page.locator('.chart canvas').first().waitFor();
    expect(Number(await page.locator('.chart').getAttribute('data-chart-points'))).toBeGreaterThan(0);
    await expectAccessible(page);
    await screenshot(page, 'provider-detail');

    // ---- the list: search and filters ----
    await setUpProvider(t, upstream.url, { slug: 'maps', input: { name: 'Maps', enabled: false } });
    await nav(page, 'Providers').click();
    await page.locator('[data-provider="maps"]').waitFor();
    await page.locator('[data-provider="weather"]').waitFor();
    await expectAccessible(page);
    await screenshot(page, 'providers-list');
    await page.getByLabel('State').selectOption('false');
    await expect.poll(() => page.locator('[data-provider]').count()).toBe(1);
    expect(await page.locator('[data-provider="maps"]').count()).toBe(1);
    await page.getByRole('button', { name: 'Clear filters' }).click();
    await page.getByLabel('Search').fill('weath');
    await expect.poll(() => page.locator('[data-provider]').count()).toBe(1);
    expect(await page.locator('[data-provider="weather"]').count()).toBe(1);
    await page.getByRole('button', { name: 'Clear filters' }).click();
    await page.getByLabel('Circuit').selectOption('ISOLATED');
    await page.getByText('No provider matches these filters.').waitFor();

    // ---- the client's page: its usage ----
    await page.goto(`${t.url}/console/clients/${clientId}`);
    await page.getByRole('heading', { name: 'checkout-service' }).waitFor();
    await expect
      .poll(() => page.getByTestId('usage-totals').getAttribute('data-calls'))
      .toBe(String(await callCount()));
    await expectAccessible(page);
    await screenshot(page, 'client-detail');
    await nav(page, 'Clients').click();
    await page.locator('[data-client="checkout-service"]').waitFor();
    await screenshot(page, 'clients-list');

    expect(cp.blocked).toEqual([]);
    expect(cp.cspViolations).toEqual([]);
    await cp.close();

    async function clientIdByName(name: string): Promise<string> {
      const response = await fetch(t.graphqlUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${admin}` },
        body: JSON.stringify({ query: '{ clients(first: 100) { edges { node { id name } } } }' }),
      });
      const body = (await response.json()) as {
        data: { clients: { edges: { node: { id: string; name: string } }[] } };
      };
      const found = body.data.clients.edges.find((e) => e.node.name === name);
      if (!found) throw new Error(`no client ${name}`);
      return found.node.id;
    }
    async function callCount(): Promise<number> {
      const r = await gql(t.graphqlUrl, ProviderCircuit, { slug: 'weather' }, admin);
      return r.data?.provider?.recentCalls.length ?? -1;
    }
  }, 240_000);

  it('narrows a client to one provider, rotates its key (the new key shown once, the old one refused) and revokes it', async () => {
    const { slug } = await setUpProvider(t, upstream.url);
    const client = await createClient(t, { name: 'billing-job' });
    expect(await proxyCode(client.key, `${slug}/ping`)).toBe(200);
    const cp = await openConsole(browser, t, { role: 'admin', path: `/clients/${client.id}` });
    const { page } = cp;
    await page.getByRole('heading', { name: 'billing-job' }).waitFor();

    // Narrowed to another provider from the page: the proxy refuses this one, keeping the key.
    const other = await setUpProvider(t, upstream.url);
    await page.getByRole('button', { name: 'Edit access' }).click();
    await page.getByLabel('Every provider, including ones added later').uncheck();
    await page.getByLabel(other.slug, { exact: true }).check();
    await page.getByRole('button', { name: 'Save access' }).click();
    await page.getByText('Saved: the proxy applies it').waitFor();
    expect(await page.locator('.facts').textContent()).toContain(other.slug);
    await expect.poll(() => proxyCode(client.key, `${slug}/ping`)).toBe('PROVIDER_NOT_FOUND'); // a provider the client may not call looks like none (no enumeration)
    await expect.poll(() => proxyCode(client.key, `${other.slug}/ping`)).toBe(200);

    await page.getByRole('button', { name: 'Rotate key' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Rotate key' }).click();
    const newKey = await page.getByTestId('client-key').inputValue();
    expect(newKey).not.toBe(client.key);
    await expect.poll(() => proxyCode(client.key, `${slug}/ping`)).toBe('UNAUTHENTICATED');
    await expect.poll(() => proxyCode(newKey, `${other.slug}/ping`)).toBe(200);
    await page.getByRole('button', { name: 'I have stored the key' }).click();
    expect(await page.content()).not.toContain(newKey);

    await page.getByRole('button', { name: 'Revoke' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Revoke client' }).click();
    await page.getByText('Client revoked: its key no longer works.').waitFor();
    await expect.poll(() => proxyCode(newKey, `${other.slug}/ping`)).toBe('UNAUTHENTICATED');
    await cp.close();
  });

  it('explains a version conflict and reloads the current settings', async () => {
    const admin = await t.token('admin');
    const { slug } = await setUpProvider(t, upstream.url, { input: { name: 'Geocoder' } });
    const cp = await openConsole(browser, t, { role: 'admin', path: `/providers/${slug}/settings` });
    const { page } = cp;
    await page.getByLabel('Name', { exact: true }).waitFor();
    await page.getByLabel('Name', { exact: true }).fill('Geocoder (mine)');

    const before = (await gql(t.graphqlUrl, GetProvider, { slug }, admin)).data?.provider;
    const theirs = await gql(
      t.graphqlUrl,
      UpdateProvider,
      { input: { slug, version: before?.version ?? 0, name: 'Geocoder (theirs)' } },
      admin,
    );
    expect(theirs.data?.updateProvider.__typename).toBe('ProviderPayload');

    await page.getByRole('button', { name: 'Save changes' }).click();
    const conflict = page.getByTestId('version-conflict');
    await conflict.waitFor();
    expect(await conflict.textContent()).toContain('Someone else saved this provider');
    expect((await gql(t.graphqlUrl, GetProvider, { slug }, admin)).data?.provider?.name).toBe(
      'Geocoder (theirs)',
    );
    await screenshot(page, 'provider-settings-conflict');
    await conflict.getByRole('button', { name: 'Reload' }).click();
    await expect.poll(() => page.getByLabel('Name', { exact: true }).inputValue()).toBe('Geocoder (theirs)');
    await page.getByLabel('Timeout (ms)', { exact: true }).fill('12000');
    await page.getByRole('button', { name: 'Save changes' }).click();
    await page.getByText(/^Saved \(version/).waitFor();
    expect((await gql(t.graphqlUrl, GetProvider, { slug }, admin)).data?.provider?.timeoutMs).toBe(12000);
    await expectAccessible(page);
    await screenshot(page, 'provider-settings');
    await cp.close();
  });

  it('shows a circuit tripped from outside and a key added from outside, live, without reloading', async () => {
    const admin = await t.token('admin');
    const { slug } = await setUpProvider(t, upstream.url, { input: { name: 'Live one' } });
    const cp = await openConsole(browser, t, { role: 'operator', path: `/providers/${slug}` });
    const { page } = cp;
    await page.locator('.stat[data-circuit="CLOSED"]').waitFor();
    await expect.poll(() => page.locator('[data-connection]').getAttribute('data-connection')).toBe('live');
    let navigations = 0;
    page.on('framenavigated', () => navigations++);

    await gql(t.graphqlUrl, TripCircuit, { provider: slug, reason: 'maintenance window' }, admin);
    await page.locator('.stat[data-circuit="ISOLATED"]').waitFor();
    expect(await page.locator('.stat[data-circuit]').textContent()).toContain('maintenance window');
    expect(await page.getByTestId('provider-last-event').textContent()).not.toBe(
      'None since you opened this page',
    );

    await gql(
      t.graphqlUrl,
      AddProviderKey,
      { input: { provider: slug, secret: 'sk-live-added-0000000000', label: 'added-live' } },
      admin,
    );
    await expect.poll(() => page.getByRole('link', { name: /^Keys/ }).textContent()).toContain('2');
    expect(navigations).toBe(0);

    // An operator tests and resets, but does not get the admin's switch.
    expect(await page.getByRole('switch').count()).toBe(0);
    await page.getByRole('button', { name: 'Test', exact: true }).click();
    await page
      .getByTestId('provider-action-outcome')
      .getByText(/Test (passed|failed)/)
      .waitFor();
    await page.getByRole('button', { name: 'Reset circuit' }).click();
    await page.locator('.stat[data-circuit="CLOSED"]').waitFor();
    await cp.close();
  });

  it('offers a viewer no change controls, and refuses a mutation forged from the viewer’s page', async () => {
    const admin = await t.token('admin');
    const { slug } = await setUpProvider(t, upstream.url, { input: { name: 'Read only' } });
    const client = await createClient(t, { name: 'viewer-sees-me' });
    const cp = await openConsole(browser, t, { role: 'viewer', path: '/providers' });
    const { page } = cp;
    await page.locator(`[data-provider="${slug}"]`).waitFor();
    expect(await page.getByRole('link', { name: 'New provider' }).count()).toBe(0);

    await page.goto(`${t.url}/console/providers/${slug}`);
    await page.locator('.stat[data-circuit]').waitFor();
    for (const name of ['Test', 'Trip circuit', 'Reset circuit']) {
      expect(await page.getByRole('button', { name, exact: true }).count(), name).toBe(0);
    }
    expect(await page.getByRole('switch').count()).toBe(0);
    await page.getByRole('link', { name: /^Keys/ }).click();
    await page.getByTestId('provider-keys').waitFor();
    expect(await page.getByRole('button', { name: /Add key|Rotate|Revoke|Edit/ }).count()).toBe(0);
    expect(await page.getByLabel('Secret').count()).toBe(0);
    await page.getByRole('link', { name: 'Settings' }).click();
    await page.getByText('Read-only: changing a provider needs the admin role.').waitFor();
    expect(await page.getByRole('button', { name: 'Save changes' }).count()).toBe(0);
    expect(await page.getByLabel('Name', { exact: true }).isDisabled()).toBe(true);
    await expectAccessible(page);
    await screenshot(page, 'provider-settings-viewer');

    await page.goto(`${t.url}/console/clients/${client.id}`);
    await page.getByRole('heading', { name: 'viewer-sees-me' }).waitFor();
    expect(await page.getByRole('button', { name: /Rotate|Revoke/ }).count()).toBe(0);

    // The page's own token, used by hand: the server refuses it.
    const forged = await page.evaluate(async (target) => {
      const token = sessionStorage.getItem('tollgate.console.token');
      const response = await fetch('/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({
          query:
            'mutation($slug: String!) { setProviderEnabled(slug: $slug, enabled: false) { __typename } }',
          variables: { slug: target },
        }),
      });
      return { status: response.status, body: await response.json() };
    }, slug);
    expect(JSON.stringify(forged.body)).toContain('FORBIDDEN');
    expect(forged.body.data?.setProviderEnabled ?? null).toBeNull();
    expect((await gql(t.graphqlUrl, GetProvider, { slug }, admin)).data?.provider?.enabled).toBe(true);
    await cp.close();
  });
});
