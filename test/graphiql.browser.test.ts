import { existsSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateProvider } from './documents.ts';
import { startTestApp, type TestApp } from './helpers/app.ts';
import { gql } from './helpers/graphql.ts';

/**
 * GraphiQL in a real (headless) Chromium with every non-local request blocked: the page must
 * work offline (no CDN), and an admin must be able to run queries and subscriptions from it.
 */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

let t: TestApp;
let browser: Browser;
let admin: string;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`Chromium not found at ${CHROMIUM}: apt-get install chromium (or set CHROMIUM_PATH)`);
  }
  t = await startTestApp();
  admin = await t.token('admin', { subject: 'browser-admin' });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
});
afterAll(async () => {
  await browser?.close();
  await t?.stop();
});

async function openGraphiql(
  options: { token?: string | null } = {},
): Promise<{ page: Page; blocked: string[] }> {
  const context = await browser.newContext();
  const page = await context.newPage();
  const blocked: string[] = [];
  const origin = new URL(t.url).origin;
  // The network, as far as this page knows, is Tollgate and nothing else.
  await page.route('**/*', (route) => {
    const url = route.request().url();
    if (url.startsWith(origin) || url.startsWith('data:') || url.startsWith('blob:')) return route.continue();
    blocked.push(url);
    return route.abort('internetdisconnected');
  });
  const token = options.token === undefined ? admin : options.token;
  if (token !== null) {
    await page.addInitScript((token) => {
      localStorage.setItem('graphiql:headers', JSON.stringify({ authorization: `Bearer ${token}` }));
    }, token);
  }
  await page.goto(`${t.url}/graphql`, { waitUntil: 'load' });
  await page.waitForSelector('.graphiql-execute-button', { timeout: 30_000 });
  return { page, blocked };
}

/** The result pane's text, whitespace (including the editor's non-breaking spaces) collapsed. */
async function responseText(page: Page, contains: string): Promise<string> {
  const read = async () =>
    ((await page.locator('.graphiql-response').textContent()) ?? '').replace(/\s+/g, ' ');
  await expect.poll(read, { timeout: 15_000 }).toContain(contains);
  return read();
}

describe('GraphiQL', () => {
  it('loads with no internet access and runs the default query with an admin token', async () => {
    const { page, blocked } = await openGraphiql();
    await page.click('.graphiql-execute-button');
    const text = await responseText(page, '"viewer"');
    expect(text).toContain('"subject": "browser-admin"');
    expect(text).toContain('"role": "ADMIN"');
    expect(blocked).toEqual([]);
    await page.context().close();
  });

  it('streams a subscription over WebSocket', async () => {
    const { page, blocked } = await openGraphiql();
    const sockets: string[] = [];
    page.on('websocket', (ws) => sockets.push(ws.url()));
    await page.locator('.graphiql-query-editor').click();
    await page.keyboard.press('Control+A');
    await page.keyboard.press('Delete');
    await page.keyboard.insertText('subscription Live { providerChanged { change slug actor } }');
    await page.click('.graphiql-execute-button');
    // Subscribe first, then cause an event.
    await expect.poll(() => sockets.length, { timeout: 10_000 }).toBeGreaterThan(0);
    await new Promise((r) => setTimeout(r, 500));
    await gql(
      t.graphqlUrl,
      CreateProvider,
      { input: { slug: 'from-browser-test', name: 'x', baseUrl: 'https://a.example' } },
      admin,
    );
    const text = await responseText(page, 'from-browser-test');
    expect(text).toContain('"change": "CREATED"');
    expect(sockets[0]).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\/graphql$/);
    expect(blocked).toEqual([]);
    await page.context().close();
  });

  it('without a token, loads but gets no schema: its introspection is refused with a clear message', async () => {
    const { page, blocked } = await openGraphiql({ token: null });
    const introspections: number[] = [];
    page.on('response', (response) => {
      if (response.url().endsWith('/graphql') && response.request().method() === 'POST')
        introspections.push(response.status());
    });
    await page.reload({ waitUntil: 'load' });
    await page.waitForSelector('.graphiql-execute-button', { timeout: 30_000 });
    await expect.poll(() => introspections, { timeout: 15_000 }).toContain(401);
    const text = await responseText(page, 'Introspection needs an operator token');
    expect(text).not.toContain('ProviderKey');
    expect(blocked).toEqual([]);
    await page.context().close();
  });
});

describe('GraphiQL page delivery', () => {
  /** GET /graphql as a browser asks for the page, raw: no client-side decompression. */
  function getPage(
    headers: Record<string, string>,
  ): Promise<{ status: number; headers: Record<string, unknown>; body: Buffer }> {
    return new Promise((resolve, reject) => {
      const req = httpRequest(`${t.url}/graphql`, { headers: { accept: 'text/html', ...headers } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
        );
      });
      req.on('error', reject);
      req.end();
    });
  }

  it('is sent compressed when the browser accepts it, and answered 304 when the browser has it', async () => {
    const plain = await getPage({});
    expect(plain.status).toBe(200);
    expect(plain.headers['content-encoding']).toBeUndefined();
    const html = plain.body.toString();
    expect(html).toContain('<title>Tollgate</title>');

    const br = await getPage({ 'accept-encoding': 'gzip, deflate, br' });
    expect(br.headers['content-encoding']).toBe('br');
    expect(br.body.length).toBeLessThan(plain.body.length / 3);
    expect(brotliDecompressSync(br.body).toString()).toBe(html);

    const gz = await getPage({ 'accept-encoding': 'gzip' });
    expect(gz.headers['content-encoding']).toBe('gzip');
    expect(gunzipSync(gz.body).toString()).toBe(html);

    const etag = plain.headers.etag as string;
    expect(etag).toMatch(/^".+"$/);
    expect(br.headers.etag).toBe(etag);
    const again = await getPage({ 'if-none-match': etag });
    expect(again.status).toBe(304);
    expect(again.body.length).toBe(0);
  });
});
