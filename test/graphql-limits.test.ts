import { formatDocument, stringifyDocument } from '@urql/core';
import { type DocumentNode, Kind, print } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as consoleDocuments from '../console/src/gql/graphql.ts';
import { MAX_PAGE_SIZE } from '../src/shared/pagination.ts';
import { startTestApp, type TestApp } from './helpers/app.ts';
import { wsClient } from './helpers/graphql.ts';

/** The limits configured with graphql-armor (full hardening is #8; these check what is in place). */
let t: TestApp;
let admin: string;

beforeAll(async () => {
  t = await startTestApp();
  admin = await t.token('admin');
});
afterAll(() => t?.stop());

async function post(query: string, accept = 'application/graphql-response+json') {
  const response = await fetch(t.graphqlUrl, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept,
      authorization: `Bearer ${admin}`,
    },
    body: JSON.stringify({ query }),
  });
  return {
    status: response.status,
    body: (await response.json()) as { errors?: { message: string; extensions?: { code?: string } }[] },
  };
}

describe('GraphQL limits', () => {
  it('refuses a query nested too deeply with 400, not 500', async () => {
    const deep = `{ providers { edges { node { fallbacks { fallbacks { fallbacks { fallbacks { fallbacks { fallbacks { fallbacks { fallbacks { fallbacks { slug } } } } } } } } } } } } }`;
    const { status, body } = await post(deep);
    expect(status).toBe(400);
    expect(body.errors?.[0]?.extensions?.code).toBe('QUERY_TOO_COMPLEX');
  });

  it('applies the same limits to subscriptions and to operations over WebSocket', async () => {
    const deepSubscription = `subscription { gatewayEvents { ... on ProviderHealthEvent { provider } ... on KeyEvent { id } } a1: circuitStateChanged { provider } }`;
    const aliases = Array.from({ length: 20 }, (_, i) => `a${i}: circuitStateChanged { provider }`).join(' ');
    const client = wsClient(t.graphqlUrl, admin);
    try {
      await expect(client.iterate({ query: `subscription { ${aliases} }` }).next()).rejects.toSatisfy(
        (errors) =>
          JSON.stringify(errors).includes('QUERY_TOO_COMPLEX') || JSON.stringify(errors).includes('alias'),
      );
      const deep = `{ providers { edges { node { fallbacks { fallbacks { fallbacks { fallbacks { fallbacks { fallbacks { fallbacks { fallbacks { fallbacks { slug } } } } } } } } } } } } }`;
      const result = await client
        .iterate({ query: deep })
        .next()
        .catch((errors: unknown) => ({ value: { errors } }));
      expect(JSON.stringify(result.value)).toMatch(/QUERY_TOO_COMPLEX|depth/i);
      // A subscription with two root fields is not valid GraphQL: refused before anything runs.
      await expect(client.iterate({ query: deepSubscription }).next()).rejects.toBeDefined();
    } finally {
      await client.dispose();
    }
  });

  it('refuses too many aliases', async () => {
    const aliases = Array.from({ length: 20 }, (_, i) => `a${i}: viewer { subject }`).join(' ');
    const { status, body } = await post(`{ ${aliases} }`);
    expect(status).toBe(400);
    expect(body.errors?.[0]?.extensions?.code).toBe('QUERY_TOO_COMPLEX');
  });

  it('answers a refusal 400 to graphql-response+json, and 200 to plain JSON as GraphQL over HTTP says', async () => {
    // GraphQL over HTTP: with application/json a well-formed request that fails validation SHOULD
    // get 200 (a 4xx could come from any intermediary); graphql-response+json gets 400.
    const aliases = Array.from({ length: 20 }, (_, i) => `a${i}: viewer { subject }`).join(' ');
    for (const [accept, expected] of [
      ['application/graphql-response+json', 400],
      ['application/json', 200],
      ['*/*', 200],
    ] as const) {
      const { status, body } = await post(`{ ${aliases} }`, accept);
      expect(status, accept).toBe(expected);
      expect(body.errors?.[0]?.extensions?.code, accept).toBe('QUERY_TOO_COMPLEX');
      expect(body, accept).not.toHaveProperty('data');
    }
  });

  it('describes a body that is not JSON without echoing it or the parser error', async () => {
    const response = await fetch(t.graphqlUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json' },
      body: '{"query":"SECRET-ISH',
    });
    expect(response.status).toBe(400);
    const text = await response.text();
    expect(JSON.parse(text).errors[0]).toMatchObject({
      message: 'POST body sent invalid JSON.',
      extensions: { code: 'BAD_REQUEST' },
    });
    expect(text).not.toMatch(/originalError|SyntaxError|SECRET-ISH/);
  });

  it('hides field suggestions', async () => {
    const { status, body } = await post('{ viewr { subject } }');
    expect(status).toBe(400);
    expect(JSON.stringify(body)).not.toContain('Did you mean');
  });

  it('keeps serving ordinary queries', async () => {
    const { status } = await post('{ viewer { subject } }');
    expect(status).toBe(200);
  });
});

async function postOperation(query: string, variables: Record<string, unknown>) {
  const response = await fetch(t.graphqlUrl, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/graphql-response+json',
      authorization: `Bearer ${admin}`,
    },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as { errors?: { message: string; extensions?: { code?: string } }[] };
  return { status: response.status, codes: (body.errors ?? []).map((e) => e.extensions?.code) };
}

describe('query cost with list sizes in variables', () => {
  // Nested lists: each level multiplies the cost by its page size.
  const nested = (size: string) =>
    `{ providers(first: ${size}) { edges { node { slug recentCalls(last: ${size}) { id status } } } } }`;

  it('refuses `first: $n` with a huge n just like the literal form', async () => {
    const literal = await postOperation(nested('1000000'), {});
    expect(literal).toEqual({ status: 400, codes: ['QUERY_TOO_COMPLEX'] });
    const query = `query Nested($n: Int!) ${nested('$n')}`;
    const variable = await postOperation(query, { n: 1_000_000 });
    expect(variable).toEqual({ status: 400, codes: ['QUERY_TOO_COMPLEX'] });
  });

  it('judges each request by its own values, though the document is validated once and cached', async () => {
    const query = `query Nested($n: Int!) ${nested('$n')}`;
    expect(await postOperation(query, { n: 2 })).toEqual({ status: 200, codes: [] });
    expect((await postOperation(query, { n: 1_000_000 })).codes).toEqual(['QUERY_TOO_COMPLEX']);
    expect(await postOperation(query, { n: 2 })).toEqual({ status: 200, codes: [] });
  });

  it("counts a variable's default when the request does not send it", async () => {
    const query = `query Nested($n: Int = 1000000) ${nested('$n')}`;
    expect((await postOperation(query, {})).codes).toEqual(['QUERY_TOO_COMPLEX']);
  });

  it('applies over WebSocket too', async () => {
    const client = wsClient(t.graphqlUrl, admin);
    try {
      const result = await client
        .iterate({ query: `query Nested($n: Int!) ${nested('$n')}`, variables: { n: 1_000_000 } })
        .next()
        .catch((errors: unknown) => ({ value: { errors } }));
      expect(JSON.stringify(result.value)).toContain('QUERY_TOO_COMPLEX');
    } finally {
      await client.dispose();
    }
  });

  it(`keeps every query of the console within the limit at the largest page size`, async () => {
    const queries = Object.entries(consoleDocuments).filter(
      ([name, doc]) =>
        name.endsWith('Document') &&
        (doc as DocumentNode).definitions.some(
          (d) => d.kind === Kind.OPERATION_DEFINITION && d.operation === 'query',
        ),
    );
    expect(queries.map(([name]) => name)).toContain('ConsoleOverviewDocument');
    for (const [name, doc] of queries) {
      // Every Int variable at the largest page: list sizes at their worst; other variables are
      // missing, so a query that passes the limit stops at variable coercion (nothing runs).
      const variables: Record<string, unknown> = {};
      for (const d of (doc as DocumentNode).definitions) {
        if (d.kind !== Kind.OPERATION_DEFINITION) continue;
        for (const v of d.variableDefinitions ?? []) {
          const type = print(v.type).replace(/!$/, '');
          if (type === 'Int') variables[v.variable.name.value] = MAX_PAGE_SIZE;
        }
      }
      // As the console sends it: urql's normalised cache adds `__typename` to every selection,
      // and each one counts (the Overview once went over the limit by them alone).
      const sent = stringifyDocument(formatDocument(doc as DocumentNode));
      const { codes } = await postOperation(sent, variables);
      expect(codes, name).not.toContain('QUERY_TOO_COMPLEX');
    }
  });
});
