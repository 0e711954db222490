import type { Kysely } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UsageRecorder } from '../src/modules/usage/usage-recorder.ts';
import { type UsageRecord, usageRow, writeUsageRows } from '../src/modules/usage/usage-rows.ts';
import { createLogger } from '../src/shared/logger.ts';
import { uuid7 } from '../src/shared/uuid7.ts';
import { startTestApp, type TestApp } from './helpers/app.ts';
import { query } from './helpers/db.ts';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(() => t?.stop());

const event = (requestId: string): UsageRecord => ({
  requestId,
  providerId: null,
  providerSlug: 'recorder-test',
  servedByProviderId: null,
  keyId: null,
  clientId: null,
  method: 'GET',
  pathTemplate: '/recorder',
  status: 200,
  outcome: 'SUCCESS',
  attempts: 1,
  fallback: null,
  totalMs: 1.5,
  upstreamMs: 1.25,
  requestBytes: 0,
  responseBytes: 10,
  model: 'gpt-x',
  promptTokens: 3,
  completionTokens: 4,
  cachedTokens: null,
  costMicros: 12,
  pricedWithoutTokens: false,
});

describe('usage recorder', () => {
  it('writes every field once; with a full buffer it drops the oldest, even while a write is in flight', async () => {
    const url = t.config.database.url as string;
    const recorder = new UsageRecorder({ orm: t.app.orm, logger: createLogger('silent'), bufferMax: 100 });
    // Hold the table so the first write waits, and fill the buffer far past its bound meanwhile.
    const blocker = new pg.Client({ connectionString: url });
    await blocker.connect();
    await blocker.query('begin; lock table usage_events in exclusive mode');
    for (let i = 0; i < 60; i++) recorder.record(event(`rec-${i}`));
    const firstFlush = recorder.flush();
    await new Promise((r) => setTimeout(r, 200));
    for (let i = 60; i < 5060; i++) recorder.record(event(`rec-${i}`));
    expect(recorder.buffered).toBe(100);
    await blocker.query('commit');
    await blocker.end();
    await firstFlush;
    await recorder.flush();

    const rows = await query<{ request_id: string }>(
      url,
      "select request_id from usage_events where provider_slug = 'recorder-test' order by request_id",
    );
    const written = rows.map((r) => Number(r.request_id.slice(4))).sort((a, b) => a - b);
    // The batch already being written when the buffer overflowed, then the newest 100.
    const expected = [
      ...Array.from({ length: 60 }, (_, i) => i),
      ...Array.from({ length: 100 }, (_, i) => 4960 + i),
    ];
    expect(written).toEqual(expected);
    expect(recorder.written).toBe(160);
    expect(recorder.dropped).toBe(5060 - 160);
    expect(recorder.buffered).toBe(0);

    const [stored = {}] = await query<Record<string, unknown>>(
      url,
      "select id, at, method, path_template, status, outcome, attempts, total_ms, upstream_ms, response_bytes, model, prompt_tokens, completion_tokens, cached_tokens, cost_micros, priced_without_tokens from usage_events where request_id = 'rec-0'",
    );
    expect(stored).toMatchObject({
      method: 'GET',
      path_template: '/recorder',
      status: 200,
      outcome: 'SUCCESS',
      attempts: 1,
      total_ms: 1.5,
      upstream_ms: 1.25,
      response_bytes: '10',
      model: 'gpt-x',
      prompt_tokens: 3,
      completion_tokens: 4,
      cached_tokens: null,
      cost_micros: '12',
      priced_without_tokens: false,
    });
    expect(Math.abs((stored.at as Date).getTime() - Date.now())).toBeLessThan(60_000);
    expect(stored.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7/);
  });
});

describe('usage rows', () => {
  const stored = (slug: string) =>
    query<Record<string, unknown>>(
      t.config.database.url as string,
      'select request_id, key_id, path_template, model, fallback, total_ms, priced_without_tokens from usage_events where provider_slug = $1 order by request_id',
      [slug],
    );

  it('keep every character of every field through the COPY text format', async () => {
    const slug = 'rows-escape';
    const awkward = [
      'tab\there',
      'new\nline',
      'carriage\rreturn',
      'back\\slash',
      '\\N',
      '\\\\t',
      'ünï ✓ 🚀',
      '',
    ];
    const recorder = new UsageRecorder({ orm: t.app.orm, logger: createLogger('silent'), bufferMax: 100 });
    awkward.forEach((text, i) => {
      recorder.record({
        ...event(`esc-${i}`),
        providerSlug: slug,
        keyId: text,
        pathTemplate: `/p/${text}`,
        model: text,
        fallback: i % 2 ? null : 'static',
        totalMs: 0.1 + 0.2,
        pricedWithoutTokens: i % 2 === 0,
      });
    });
    await recorder.flush();
    expect(recorder.written).toBe(awkward.length);
    expect(await stored(slug)).toEqual(
      awkward.map((text, i) => ({
        request_id: `esc-${i}`,
        key_id: text,
        path_template: `/p/${text}`,
        model: text,
        fallback: i % 2 ? null : 'static',
        total_ms: 0.1 + 0.2,
        priced_without_tokens: i % 2 === 0,
      })),
    );
  });

  it('write a batch retried after an uncertain failure once, however much of it was written', async () => {
    const slug = 'rows-retry';
    // Around a second boundary, with one- two- and three-digit milliseconds.
    const at = Date.UTC(2026, 10, 1, 10, 30, 5, 995);
    const rows = Array.from({ length: 10 }, (_, i) =>
      usageRow({ ...event(`retry-${i}`), providerSlug: slug }, at + i * 7, uuid7(at + i * 7)),
    );
    const pool = await t.app.orm.em.getConnection().getNativeClient();
    const db = t.app.orm.em.fork().getKysely() as Kysely<unknown>;
    const hourWrites = async () =>
      (
        await query<{ writes: number }>(
          t.config.database.url as string,
          'select writes from usage_hours where hour = $1',
          [new Date(Date.UTC(2026, 10, 1, 10))],
        )
      )[0]?.writes ?? 0;
    const before = await hourWrites();

    // The first 4 were written, then the connection was lost: the whole batch comes again.
    await writeUsageRows(pool, db, rows.slice(0, 4));
    await writeUsageRows(pool, db, rows);
    // The same batch a third time: nothing is left to write.
    await writeUsageRows(pool, db, rows);

    expect((await stored(slug)).map((r) => r.request_id)).toEqual(rows.map((_, i) => `retry-${i}`));
    // Times to the millisecond, whichever way the rows went in.
    const times = await query<{ at: Date }>(
      t.config.database.url as string,
      'select at from usage_events where provider_slug = $1 order by request_id',
      [slug],
    );
    expect(times.map((r) => r.at.getTime())).toEqual(rows.map((_, i) => at + i * 7));
    // Each write that added rows to the hour counted once; the one that added none did not.
    expect((await hourWrites()) - before).toBe(2);
  });
});
