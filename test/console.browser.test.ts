import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createConsoleRoute } from '../src/server/console.ts';
import { startTestApp, TEST_JWT_SECRET, type TestApp } from './helpers/app.ts';
import {
  ensureConsoleBuilt,
  expectAccessible,
  launchBrowser,
  newConsolePage,
  openConsole,
  screenshot,
} from './helpers/console.ts';

let t: TestApp;
let browser: Browser;

beforeAll(async () => {
  await ensureConsoleBuilt();
  [t, browser] = await Promise.all([startTestApp(), launchBrowser()]);
});
afterAll(async () => {
  await browser?.close();
  await t?.stop();
});

/** GET as a browser would, raw (no decompression, no redirect following). */
function get(
  url: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { headers }, (res) => {
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

describe('console sign-in', () => {
  it('signs in with the link `npm run token -- --console` prints, and the token leaves the address bar', async () => {
    const port = new URL(t.url).port;
    const cli = spawnSync(
      'node',
      ['src/cli/main.ts', 'token', '--role', 'admin', '--sub', 'link-admin', '--console'],
      {
        encoding: 'utf8',
        env: { ...process.env, TOLLGATE_JWT_SECRET: TEST_JWT_SECRET, HOST: '127.0.0.1', PORT: port },
      },
    );
    expect(cli.status, cli.stderr).toBe(0);
    const link = cli.stdout.trim();
    expect(link).toMatch(
      new RegExp(`^http://127\\.0\\.0\\.1:${port}/console#token=ey[\\w-]+\\.[\\w-]+\\.[\\w-]+$`),
    );

    const cp = await newConsolePage(browser, t);
    const { page } = cp;
    await page.goto(link);
    await page.getByRole('navigation', { name: 'Main' }).waitFor();
    expect(page.url()).toBe(`${t.url}/console`);
    expect(await page.evaluate(() => window.location.hash)).toBe('');
    expect(await page.evaluate(() => sessionStorage.getItem('tollgate.console.token'))).toBe(
      link.split('#token=')[1],
    );
    await expect.poll(() => page.locator('.viewer-subject').textContent()).toBe('link-admin');
    await expect.poll(() => page.locator('.viewer-role').textContent()).toBe('admin');
    await expect.poll(() => page.locator('[data-connection]').getAttribute('data-connection')).toBe('live');
    await expectAccessible(page);
    await screenshot(page, 'shell');
    expect(cp.blocked).toEqual([]);
    expect(cp.cspViolations).toEqual([]);
    // Nor in history: the entry was replaced, so going back leaves the console altogether.
    await page.goBack();
    expect(page.url()).not.toContain('token=');
    await cp.close();
  });

  it('opens every page of the navigation by keyboard, each without serious accessibility problems', async () => {
    const cp = await openConsole(browser, t, { role: 'viewer' });
    const { page } = cp;
    // The first Tab reaches the skip link, which moves focus to the page.
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Skip to content');
    const links = await page.getByRole('navigation', { name: 'Main' }).getByRole('link').allTextContents();
    expect(links).toEqual([
      'Overview',
      'Providers',
      'Clients',
      'Budgets',
      'Usage',
      'Jobs',
      'Audit log',
      'Sessions',
      'Configuration',
    ]);
    // The overview is open already: it comes last, once focus has somewhere to move from.
    for (const name of [...links.slice(1), links[0]!]) {
      await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name }).focus();
      await page.keyboard.press('Enter');
      await page.getByRole('heading', { level: 1, name }).waitFor();
      // Focus moves to the page's main region once the page has rendered (an effect after the
      // heading paints), so it is waited for rather than read at the first paint.
      await expect
        .poll(() => page.evaluate(() => document.activeElement?.id), { timeout: 5_000 })
        .toBe('main');
      await expectAccessible(page);
    }
    expect(cp.blocked).toEqual([]);
    expect(cp.cspViolations).toEqual([]);
    await cp.close();
  });

  it('shows the sign-in page and no data to a signed-out visit, and asks nothing of GraphQL', async () => {
    const cp = await newConsolePage(browser, t);
    const { page } = cp;
    const graphqlRequests: string[] = [];
    page.on('request', (r) => {
      if (new URL(r.url()).pathname === '/graphql') graphqlRequests.push(r.method());
    });
    page.on('websocket', (ws) => graphqlRequests.push(`ws ${ws.url()}`));
    await page.goto(`${t.url}/console/providers`);
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    expect(await page.getByRole('navigation', { name: 'Main' }).count()).toBe(0);
    await page.waitForLoadState('networkidle');
    expect(graphqlRequests).toEqual([]);
    expect(cp.graphql.filter((r) => r.status === 200 && r.body.includes('"data"'))).toEqual([]);
    await expectAccessible(page);
    await screenshot(page, 'sign-in');
    expect(cp.blocked).toEqual([]);
    await cp.close();
  });

  it('signs in with a pasted token, stays on the page asked for, and signs out', async () => {
    const cp = await newConsolePage(browser, t);
    const { page } = cp;
    await page.goto(`${t.url}/console/budgets`);
    await page.getByLabel('Token').fill(`Bearer ${await t.token('viewer', { subject: 'pasted-viewer' })}`);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.locator('.viewer-role').textContent()).toBe('viewer');
    expect(new URL(page.url()).pathname).toBe('/console/budgets');
    await page.getByRole('link', { name: 'Overview' }).click();
    expect(new URL(page.url()).pathname).toBe('/console');
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByText('You have signed out.').waitFor();
    expect(await page.evaluate(() => sessionStorage.getItem('tollgate.console.token'))).toBeNull();
    await cp.close();
  });

  it('says an expired token has expired, without asking the server', async () => {
    const expired = await new SignJWT({ role: 'admin' })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('old')
      .setIssuer('tollgate')
      .setAudience('tollgate')
      .setIssuedAt(Math.floor(Date.now() / 1000) - 7200)
      .setExpirationTime(Math.floor(Date.now() / 1000) - 3600)
      .sign(new TextEncoder().encode(TEST_JWT_SECRET));
    const cp = await newConsolePage(browser, t);
    await cp.page.goto(`${t.url}/console#token=${expired}`);
    await cp.page.getByText('Your token has expired').waitFor();
    expect(cp.graphql).toEqual([]);
    await cp.close();
  });

  it('signs out once when the token expires while the console is open, with no retry loop', async () => {
    const cp = await newConsolePage(browser, t);
    await cp.page.goto(`${t.url}/console#token=${await t.token('admin', { ttlSeconds: 5 })}`);
    await cp.page.getByText('Your token has expired').waitFor({ timeout: 20_000 });
    const requests = cp.graphql.length;
    await cp.page.waitForTimeout(1500);
    expect(cp.graphql.length).toBe(requests);
    await cp.close();
  });

  it('ends the session when Tollgate refuses the token, and does not loop on the refusal', async () => {
    const forged = await new SignJWT({ role: 'admin' })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('forger')
      .setIssuer('tollgate')
      .setAudience('tollgate')
      .setIssuedAt()
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode('another-secret-that-is-long-enough-for-hs256-000000'));
    const cp = await newConsolePage(browser, t);
    let sent = 0;
    cp.page.on('request', (request) => {
      if (new URL(request.url()).pathname === '/graphql' && request.method() === 'POST') sent++;
    });
    await cp.page.goto(`${t.url}/console#token=${forged}`);
    await cp.page.getByText('Tollgate did not accept the token').waitFor();
    await cp.page.waitForTimeout(1500);
    expect(cp.graphql.length).toBeLessThanOrEqual(2);
    // Every request sent with the token was answered in full (none cut off as the session ended).
    expect(cp.graphql).toHaveLength(sent);
    expect(cp.graphql.every((r) => r.body.includes('UNAUTHENTICATED') && !r.body.includes('"data":{'))).toBe(
      true,
    );
    expect(await cp.page.evaluate(() => sessionStorage.getItem('tollgate.console.token'))).toBeNull();
    await cp.close();
  });
});

describe('console delivery', () => {
  it('redirects / to the console', async () => {
    const response = await get(`${t.url}/`);
    expect(response.status).toBe(302);
    expect(response.headers.location).toBe('/console/');
  });

  it('sends a strict Content-Security-Policy with every console response', async () => {
    const index = await get(`${t.url}/console`);
    expect(index.status).toBe(200);
    const csp = String(index.headers['content-security-policy']);
    const directives = new Map(
      csp.split(';').map((d) => {
        const [name, ...values] = d.trim().split(/\s+/);
        return [name, values] as const;
      }),
    );
    expect(directives.get('default-src')).toEqual(["'none'"]);
    expect(directives.get('script-src')).toEqual(["'self'"]);
    expect(directives.get('frame-ancestors')).toEqual(["'none'"]);
    expect(directives.get('object-src')).toEqual(["'none'"]);
    expect(directives.get('base-uri')).toEqual(["'none'"]);
    expect(directives.get('connect-src')?.[0]).toBe("'self'");
    expect(csp).not.toMatch(/unsafe-inline|unsafe-eval|\*|https?:/);
    expect(index.headers['x-content-type-options']).toBe('nosniff');
    // No inline script in the page itself.
    expect(index.body.toString()).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    for (const path of ['/console/providers/openai', '/console/favicon.svg']) {
      expect((await get(`${t.url}${path}`)).headers['content-security-policy']).toBe(csp);
    }
  });

  it('caches hashed files for a year and revalidates index.html; unknown pages get index.html', async () => {
    const index = await get(`${t.url}/console/`, { 'accept-encoding': 'br, gzip' });
    expect(index.headers['cache-control']).toBe('no-cache');
    const html = (await get(`${t.url}/console/`)).body.toString();
    const script = /src="(\/console\/assets\/[^"]+\.js)"/.exec(html)?.[1];
    expect(script).toBeDefined();
    const js = await get(`${t.url}${script}`, { 'accept-encoding': 'br, gzip' });
    expect(js.status).toBe(200);
    expect(js.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(js.headers['content-encoding']).toBe('br');
    expect(js.headers['content-type']).toBe('text/javascript; charset=utf-8');
    const revalidated = await get(`${t.url}${script}`, { 'if-none-match': String(js.headers.etag) });
    expect(revalidated.status).toBe(304);

    const deep = await get(`${t.url}/console/clients/some/where`);
    expect(deep.status).toBe(200);
    expect(deep.body.toString()).toBe(html);
    expect((await get(`${t.url}/console/assets/not-there.js`)).status).toBe(404);
  });

  it('serves nothing outside the build, however the path is written', async () => {
    const html = (await get(`${t.url}/console/`)).body.toString();
    for (const path of [
      '/console/../package.json',
      '/console/..%2f..%2fpackage.json',
      '/console/%2e%2e/%2e%2e/package.json',
      '/console/assets/..%2f..%2f..%2fpackage.json',
      '/console//etc/passwd',
    ]) {
      const response = await get(`${t.url}${path}`);
      const body = response.body.toString();
      expect(body, path).not.toContain('"name": "tollgate"');
      expect(body, path).not.toContain('root:');
      if (response.status === 200) expect(body, path).toBe(html);
    }
  });

  it('answers 503 with what to run when the console is not built', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'tollgate-console-missing-'));
    const route = createConsoleRoute(empty);
    const server = createServer((req, res) => route.serve(req, res, (req.url ?? '/').split('?')[0]!));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const response = await get(`http://127.0.0.1:${port}/console/`);
      expect(response.status).toBe(503);
      const body = JSON.parse(response.body.toString()) as { error: { code: string; message: string } };
      expect(body.error.code).toBe('CONSOLE_NOT_BUILT');
      expect(body.error.message).toContain('npm run build:console');
    } finally {
      server.close();
      rmSync(empty, { recursive: true, force: true });
    }
  });
});
