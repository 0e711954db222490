import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { expect } from 'vitest';
import type { Role } from '../../src/config.ts';
import type { TestApp } from './app.ts';

/**
 * The operator console in a real headless Chromium against a real Tollgate: every test page sees a
 * network made of Tollgate alone (anything else is blocked and recorded), and can be checked
 * with axe-core and photographed into test/.tmp/console/.
 */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DIST = join(ROOT, 'console/dist');
export const SCREENSHOTS = join(ROOT, 'test/.tmp/console');

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(full) : statSync(full).mtimeMs);
  }
  return newest;
}

/**
 * Builds the console when console/dist is missing or older than its sources (so a test never
 * runs an old build). Test files run in parallel: a lock directory makes one of them build.
 */
export async function ensureConsoleBuilt(): Promise<void> {
  const stale = () => {
    const index = join(DIST, 'index.html');
    if (!existsSync(index)) return true;
    const built = statSync(index).mtimeMs;
    return [
      'console/src',
      'console/index.html',
      'console/vite.config.ts',
      'console/graphql-documents.ts',
    ].some((p) => {
      const full = join(ROOT, p);
      return (statSync(full).isDirectory() ? newestMtime(full) : statSync(full).mtimeMs) > built;
    });
  };
  const lock = join(ROOT, 'console/.build-lock');
  for (;;) {
    if (!stale()) return;
    try {
      mkdirSync(lock);
    } catch {
      await new Promise((r) => setTimeout(r, 250));
      continue;
    }
    try {
      if (!stale()) return;
      const build = spawnSync('npm', ['run', '--silent', 'build:console'], { cwd: ROOT, encoding: 'utf8' });
      if (build.status !== 0)
        throw new Error(`npm run build:console failed:\n${build.stdout}\n${build.stderr}`);
      return;
    } finally {
      rmdirSync(lock);
    }
  }
}

export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`Chromium not found at ${CHROMIUM}: apt-get install chromium (or set CHROMIUM_PATH)`);
  }
  return chromium.launch({
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
}

export interface ConsolePage {
  page: Page;
  context: BrowserContext;
  /** Every request that tried to leave Tollgate (blocked). */
  blocked: string[];
  /** Content-Security-Policy violations the page reported. */
  cspViolations: string[];
  /** Every answer from /graphql over HTTP: status and body. */
  graphql: { status: number; body: string }[];
  close(): Promise<void>;
}

/** A fresh browser context whose network is Tollgate alone (and the origins in `allow`, such as a test's identity provider). */
export async function newConsolePage(
  browser: Browser,
  t: TestApp,
  allow: string[] = [],
): Promise<ConsolePage> {
  const context = await browser.newContext({ viewport: { width: 1360, height: 860 } });
  const page = await context.newPage();
  const origin = new URL(t.url).origin;
  const blocked: string[] = [];
  const cspViolations: string[] = [];
  const graphql: { status: number; body: string }[] = [];
  await context.route('**/*', (route) => {
    const url = route.request().url();
    if (
      url.startsWith(origin) ||
      allow.some((o) => url.startsWith(o)) ||
      url.startsWith('data:') ||
      url.startsWith('blob:')
    )
      return route.continue();
    blocked.push(url);
    return route.abort('internetdisconnected');
  });
  page.on('console', (message) => {
    if (process.env.CONSOLE_DEBUG) console.log('[page]', message.type(), message.text());
    if (/Content Security Policy/i.test(message.text())) cspViolations.push(message.text());
  });
  page.on('pageerror', (error) => {
    if (process.env.CONSOLE_DEBUG) console.log('[pageerror]', error.message);
  });
  page.on('response', async (response) => {
    if (new URL(response.url()).pathname !== '/graphql' || response.request().method() !== 'POST') return;
    const body = await response.text().catch(() => '');
    if (process.env.CONSOLE_DEBUG) console.log('[graphql]', response.status(), body.slice(0, 300));
    graphql.push({ status: response.status(), body });
  });
  return { page, context, blocked, cspViolations, graphql, close: () => context.close() };
}

/** The console signed in as `role` through a sign-in link (token in the fragment). */
export async function openConsole(
  browser: Browser,
  t: TestApp,
  options: { role?: Role; subject?: string; path?: string; token?: string } = {},
): Promise<ConsolePage> {
  const cp = await newConsolePage(browser, t);
  const token =
    options.token ??
    (await t.token(options.role ?? 'admin', {
      subject: options.subject ?? `console-${options.role ?? 'admin'}`,
    }));
  await cp.page.goto(`${t.url}/console${options.path ?? ''}#token=${token}`);
  await cp.page.getByRole('navigation', { name: 'Main' }).waitFor({ timeout: 30_000 });
  return cp;
}

const require = createRequire(import.meta.url);
const AXE_SOURCE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: string[] }[];
}

/**
 * Runs axe-core in the page (evaluated through the DevTools protocol, so the console's CSP need
 * not allow it) and fails on serious or critical violations, listing them.
 */
export async function expectAccessible(page: Page): Promise<void> {
  await page.evaluate(AXE_SOURCE);
  const violations = await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run(): Promise<{ violations: AxeViolation[] }> } }).axe;
    const result = await axe.run();
    return result.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes }));
  });
  const serious = violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.impact} ${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`);
  expect(serious).toEqual([]);
}

/** Saves the page as test/.tmp/console/<name>.png. */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const path = join(SCREENSHOTS, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}
