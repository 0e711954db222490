// TEMP (not committed): the console overview at 200 providers, timed and profiled.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { print } from 'graphql';
import { type Kysely, sql } from 'kysely';
import { ConsoleOverviewDocument } from '../console/src/gql/graphql.ts';
import { startApp } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { TokenService } from '../src/modules/auth/token.service.ts';
import { dayOf } from '../src/modules/usage/usage-partitions.ts';
import { UsageRollups } from '../src/modules/usage/usage-rollup.ts';
import { usageRow, writeUsageRows } from '../src/modules/usage/usage-rows.ts';
import { createLogger } from '../src/shared/logger.ts';
import { syntheticEvents } from '../test/helpers/usage-data.ts';

const EVENTS = Number(process.env.EVENTS ?? 300_000);
const FIRST = Number(process.env.FIRST ?? 100);
const uuid = (i: number) => `00000003-0000-4000-8000-${i.toString(16).padStart(12, '0')}`;
const dataDir = mkdtempSync(join(tmpdir(), 'tollgate-ovp-'));
const config = loadConfig({
  TOLLGATE_DATA_DIR: dataDir, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'warn',
  TOLLGATE_EMBEDDED_PG_PORT: String(20_000 + Math.floor(Math.random() * 12_000)),
  TOLLGATE_ROLLUP_CRON: 'off', TOLLGATE_USAGE_RETENTION_DAYS: '31', DATABASE_STATEMENT_TIMEOUT_MS: '600000',
  TOLLGATE_JWT_SECRET: randomBytes(32).toString('base64url'),
});
const app = await startApp(config, { logger: createLogger('warn') });
const db = app.orm.em.fork().getKysely() as Kysely<unknown>;
const actor = { subject: 'bench', role: 'admin' as const, requestId: undefined };
const providerIds: string[] = [];
for (let i = 0; i < 200; i++) {
  const p = await app.services.providers.create(actor, { slug: `bench-${i}`, name: `Bench provider ${i}`, baseUrl: 'https://api.example.com', ...(i % 2 === 0 ? { rateLimit: { points: 600, periodMs: 60_000 } } : {}) } as never);
  providerIds.push(p.id);
}
const now = new Date();
const from = new Date(now.getTime() - 30 * 86_400_000);
await app.services.usagePartitions.ensure(dayOf(from.getTime()), dayOf(now.getTime()));
const events = syntheticEvents({ count: EVENTS, from, to: now, providerIds, clientIds: Array.from({ length: 200 }, (_, i) => uuid(i)), seed: 11 });
const pool = await app.orm.em.getConnection().getNativeClient();
const rows = events.map((e) => usageRow(e, e.at, e.id));
for (let i = 0; i < rows.length; i += 20000) await writeUsageRows(pool, db, rows.slice(i, i + 20000));
await sql`vacuum analyze usage_events`.execute(db);
await new UsageRollups({ orm: app.orm, logger: createLogger('warn'), timeZone: config.timeZone }).run(now);
await sql`vacuum analyze usage_rollups`.execute(db);
const token = await new TokenService(config.auth).mint({ role: 'admin', subject: 'bench-console', ttlSeconds: 3600 });
const today = new Date(now.getFullYear(), now.getMonth(), now.getDate()).toISOString();
const body = JSON.stringify({ query: print(ConsoleOverviewDocument), variables: { first: FIRST, today } });
// SQL timing: wrap the pool's query.
const times: { text: string; ms: number }[] = [];
let record = false;
const pg = (await import('../node_modules/@mikro-orm/postgresql/node_modules/pg/lib/index.js' as string)).default;
const origQuery = pg.Client.prototype.query;
(pg.Client.prototype as any).query = function (...args: any[]) {
  const t0 = performance.now();
  const r = (origQuery as any).apply(this, args);
  if (record && r && typeof r.then === 'function') r.then(() => times.push({ text: String(args[0]?.text ?? args[0]).slice(0, 140).replace(/\s+/g, ' '), ms: performance.now() - t0 }));
  return r;
};
const post = async () => {
  const r = await fetch(`${app.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body });
  const j = (await r.json()) as any;
  if (j.errors) throw new Error(JSON.stringify(j.errors));
  return j;
};
for (let i = 0; i < 5; i++) await post();
const { Session } = await import('node:inspector/promises');
const session = new Session();
session.connect();
if (process.env.PROF) { await session.post('Profiler.enable'); await session.post('Profiler.start'); }
const ts: number[] = [];
for (let i = 0; i < 21; i++) {
  record = i === 10;
  const t0 = performance.now();
  await post();
  ts.push(performance.now() - t0);
}
if (process.env.PROF) {
  const { profile } = await session.post('Profiler.stop');
  (await import('node:fs')).writeFileSync(process.env.PROF, JSON.stringify(profile));
}
ts.sort((a, b) => a - b);
console.log('overview first', FIRST, 'median ms', ts[10]!.toFixed(1), 'min', ts[0]!.toFixed(1));
for (const t of times) console.log(t.ms.toFixed(1).padStart(7), t.text);
await app.stop();
rmSync(dataDir, { recursive: true, force: true });
process.exit(0);
