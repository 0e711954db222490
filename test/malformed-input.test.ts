import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './helpers/app.ts';

/**
 * Input a viewer (or an operator) can type that the API must refuse with a typed error, never a
 * 500 or "Unexpected error." with an error-level log and a stack trace: dates outside what
 * PostgreSQL and ISO 8601 hold, cursors this API never returned, job ids that are not UUIDs, and
 * global ids that are not ids of anything.
 */

type Body = {
  data?: Record<string, unknown> | null;
  errors?: { message: string; path?: string[]; extensions?: Record<string, unknown> }[];
};

const b64url = (text: string) => Buffer.from(text).toString('base64url');
const b64 = (text: string) => Buffer.from(text).toString('base64');
const UUID = '0190a3c4-0000-7000-8000-000000000000';

let t: TestApp;
let viewer: string;
let operator: string;

async function post(query: string, variables: Record<string, unknown> = {}, token = viewer) {
  const response = await fetch(t.graphqlUrl, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/graphql-response+json',
      authorization: `Bearer ${token}`,
    },
    body: JSON.stringify({ query, variables }),
  });
  return { status: response.status, body: (await response.json()) as Body };
}

/** Log lines at error level (pino: 50) or above written since `from`, or any with a stack. */
function seriousLogsSince(from: number): string[] {
  return t.logs.lines.slice(from).filter((line) => {
    const entry = JSON.parse(line) as { level: number };
    return entry.level >= 50 || line.includes('"stack"');
  });
}

function expectTypedRefusal(body: Body, what: string) {
  const text = JSON.stringify(body);
  expect(body.errors?.length, what).toBeGreaterThan(0);
  expect(text, what).not.toMatch(/Unexpected error|INTERNAL_SERVER_ERROR|"stack"|\.ts:\d+/);
  for (const error of body.errors ?? []) {
    expect(
      ['GRAPHQL_VALIDATION_FAILED', 'VALIDATION_FAILED', 'BAD_USER_INPUT', 'NOT_FOUND'],
      `${what}: ${error.message}`,
    ).toContain(error.extensions?.code);
  }
}

beforeAll(async () => {
  t = await startTestApp({ env: { NODE_ENV: 'production', LOG_LEVEL: 'info' } });
  viewer = await t.token('viewer');
  operator = await t.token('operator');
});
afterAll(() => t?.stop());

describe('malformed input from a viewer', () => {
  it('refuses DateTimes outside years 0001–9999 (as a literal and as a variable), naming the argument', async () => {
    const from = t.logs.lines.length;
    for (const since of ['+200000-01-01T00:00:00Z', '-000001-01-01T00:00:00Z', '+010000-01-01T00:00:00Z']) {
      const literal = await post(`{ auditLog(filter: { since: "${since}" }) { edges { cursor } } }`);
      expectTypedRefusal(literal.body, `literal ${since}`);
      expect(literal.body.errors?.[0]?.message).toMatch(/DateTime/);
      const variable = await post('query Q($f: AuditFilter) { auditLog(filter: $f) { edges { cursor } } }', {
        f: { since },
      });
      expectTypedRefusal(variable.body, `variable ${since}`);
      // The message names the variable and the field, and says what is allowed.
      expect(variable.body.errors?.[0]).toMatchObject({
        message: expect.stringMatching(/"\$f".*"f\.since".*0001 to 9999/),
        extensions: { code: 'BAD_USER_INPUT' },
      });
      const usage = await post('query U($to: DateTime) { usage(to: $to) { __typename } }', { to: since });
      expectTypedRefusal(usage.body, `usage ${since}`);
    }
    // Dates PostgreSQL and every client agree on still work.
    const ok = await post('{ auditLog(filter: { since: "2020-01-01T00:00:00Z" }) { edges { cursor } } }');
    expect(ok.body.errors).toBeUndefined();
    expect(seriousLogsSince(from)).toEqual([]);
  });

  it('refuses cursors it never returned, on every connection, with VALIDATION_FAILED naming after/before', async () => {
    const from = t.logs.lines.length;
    const cursors = {
      garbage: '!!not a cursor!!',
      'not base64': '%%%',
      'far future': b64url(`+200000-01-01T00:00:00.000Z|${UUID}`),
      'far past': b64url(`-271821-04-20T00:00:00.000Z|${UUID}`),
      'year 10000': b64url(`+010000-01-01T00:00:00.000Z|${UUID}`),
      'dashes for a uuid': b64url(`2020-01-01T00:00:00.000Z|${'-'.repeat(36)}`),
      'hex without dashes': b64url(`2020-01-01T00:00:00.000Z|${'a'.repeat(36)}`),
      'a number as date': b64url(`1e400|${UUID}`),
      empty: '',
      huge: b64url(`2020-01-01T00:00:00.000Z|${UUID}`).repeat(2000).slice(0, 60_000),
    };
    for (const connection of ['auditLog', 'budgets', 'clients', 'providers']) {
      for (const [name, cursor] of Object.entries(cursors)) {
        for (const [arg, size] of [
          ['after', 'first'],
          ['before', 'last'],
        ] as const) {
          const { body } = await post(
            `query C($c: String) { ${connection}(${size}: 2, ${arg}: $c) { edges { cursor } } }`,
            { c: cursor },
          );
          if (name === 'empty') {
            // An empty cursor means "from the start", as no cursor does.
            expect(body.errors, `${connection} ${arg} empty`).toBeUndefined();
            continue;
          }
          expectTypedRefusal(body, `${connection} ${arg} ${name}`);
          expect(body.errors?.[0]?.extensions?.fieldErrors, `${connection} ${arg} ${name}`).toEqual([
            expect.objectContaining({ path: [arg] }),
          ]);
        }
      }
    }
    expect(seriousLogsSince(from)).toEqual([]);
  });

  it('answers retryJob with a malformed id as a ValidationError on `id`', async () => {
    const from = t.logs.lines.length;
    for (const id of ['not-a-uuid', `${UUID}x`, "'; drop table job; --", '']) {
      const { body } = await post(
        'mutation R($id: ID!) { retryJob(queue: "webhook-delivery", id: $id) { __typename ... on ValidationError { code fieldErrors { path message } } } }',
        { id },
        operator,
      );
      expect(body.errors, id).toBeUndefined();
      expect(body.data?.retryJob, id).toMatchObject({
        __typename: 'ValidationError',
        code: 'VALIDATION_FAILED',
        fieldErrors: [expect.objectContaining({ path: ['id'] })],
      });
    }
    // A well-formed id of no job is not an error: nothing to retry.
    const { body } = await post(
      `mutation { retryJob(queue: "webhook-delivery", id: "${UUID}") { __typename ... on JobCountPayload { count } } }`,
      {},
      operator,
    );
    expect(body.data?.retryJob).toEqual({ __typename: 'JobCountPayload', count: 0 });
    expect(seriousLogsSince(from)).toEqual([]);
  });

  it('answers node() with null and NOT_FOUND for any id that is not an id of something', async () => {
    const from = t.logs.lines.length;
    for (const id of [
      b64('Provider:x'),
      b64(`Provider:${'-'.repeat(36)}`),
      b64('Provider:'),
      b64('Nothing:x'),
      b64(`Nothing:${UUID}`),
      b64('no colon at all'),
      b64('::::'),
      'not base64 !!!',
      '',
      b64(`Provider:${UUID}`),
    ]) {
      const { status, body } = await post('query N($id: ID!) { node(id: $id) { id } }', { id });
      expect(status, id).toBe(200);
      expect(body.data, id).toEqual({ node: null });
      expectTypedRefusal(body, `node ${id}`);
      expect(body.errors?.[0]?.extensions?.code, id).toBe('NOT_FOUND');
    }
    expect(seriousLogsSince(from)).toEqual([]);
  });
});
