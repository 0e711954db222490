import { formatDocument } from '@urql/core';
import { type DocumentNode, Kind, type OperationDefinitionNode, print } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as operations from '../console/src/gql/graphql.ts';
import { startTestApp, type TestApp } from './helpers/app.ts';

let t: TestApp;

beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => {
  await t?.stop();
});

/** Every query and mutation the console sends, as urql sends it (with __typename added). */
const documents = Object.entries(operations)
  .filter(([name, value]) => name.endsWith('Document') && (value as DocumentNode)?.kind === Kind.DOCUMENT)
  .map(([name, value]) => ({ name, document: formatDocument(value as DocumentNode) }))
  .filter(({ document }) =>
    document.definitions.some(
      (d) =>
        d.kind === Kind.OPERATION_DEFINITION && (d as OperationDefinitionNode).operation !== 'subscription',
    ),
  );

describe('console operations', () => {
  it('are all within the API’s query limits (a page whose query is refused shows nothing)', async () => {
    expect(documents.length).toBeGreaterThan(10);
    const admin = await t.token('admin');
    const refused: string[] = [];
    for (const { name, document } of documents) {
      // No variables: validation (where the limits are) runs before variables are read, so a query
      // within the limits gets a variable error or data, never QUERY_TOO_COMPLEX.
      const response = await fetch(t.graphqlUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${admin}` },
        body: JSON.stringify({ query: print(document), variables: {} }),
      });
      const body = (await response.json()) as {
        errors?: { message: string; extensions?: { code?: string } }[];
      };
      const limit = body.errors?.find((e) => e.extensions?.code === 'QUERY_TOO_COMPLEX');
      if (limit) refused.push(`${name}: ${limit.message}`);
    }
    expect(refused).toEqual([]);
  });
});
