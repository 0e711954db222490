import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { type ExecutionResult, print } from 'graphql';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';

export interface GraphqlResponse<T> extends ExecutionResult<T> {
  status: number;
}

/** Runs a typed document over HTTP POST, as any GraphQL client would. */
export async function gql<R, V>(
  url: string,
  document: TypedDocumentNode<R, V>,
  variables: V,
  token?: string,
): Promise<GraphqlResponse<R>> {
  const response = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/graphql-response+json',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: JSON.stringify({ query: print(document), variables }),
  });
  const body = (await response.json()) as ExecutionResult<R>;
  return { ...body, status: response.status };
}

export function wsUrl(httpUrl: string): string {
  return httpUrl.replace(/^http/, 'ws');
}

/** A graphql-ws client; the token travels in connectionParams like a browser's would. */
export function wsClient(graphqlUrl: string, token?: string) {
  return createClient({
    url: wsUrl(graphqlUrl),
    webSocketImpl: WebSocket,
    lazy: true,
    retryAttempts: 0,
    connectionParams: token ? { authorization: `Bearer ${token}` } : {},
  });
}

/** Runs a typed query or mutation over WebSocket and returns its single result. */
export async function gqlWs<R, V>(
  client: ReturnType<typeof createClient>,
  document: TypedDocumentNode<R, V>,
  variables: V,
): Promise<ExecutionResult<R>> {
  const iterator = client.iterate<R>({
    query: print(document),
    variables: variables as Record<string, unknown>,
  });
  const first = await iterator.next();
  await iterator.return?.();
  return first.value as ExecutionResult<R>;
}

/** The database id inside a Relay global id (base64 of `Type:id`). */
export function fromGlobalId(globalId: string | undefined): string {
  const [, id] = Buffer.from(globalId ?? '', 'base64')
    .toString()
    .split(':');
  if (!id) throw new Error(`not a global id: ${globalId}`);
  return id;
}
