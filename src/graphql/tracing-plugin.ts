import { type Span, SpanKind } from '@opentelemetry/api';
import { type DocumentNode, getOperationAST } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { endSpan, type Tracing } from '../shared/tracing.ts';

interface TracedContext {
  requestId?: string;
  /** Yoga's request (HTTP and SSE); absent over WebSocket. */
  request?: { headers: Headers };
}

/** One span per GraphQL operation (for a subscription: its set-up), with the request id. */
export function useTracing(tracing: Tracing): Plugin {
  const start = (
    document: DocumentNode,
    operationName: string | null | undefined,
    context: TracedContext,
  ) => {
    const operation = getOperationAST(document, operationName);
    const type = operation?.operation ?? 'query';
    const name = operation?.name?.value;
    const traceparent = context.request?.headers.get('traceparent');
    return tracing.start(
      `graphql ${type}${name ? ` ${name}` : ''}`,
      {
        kind: SpanKind.SERVER,
        attributes: {
          'graphql.operation.type': type,
          ...(name ? { 'graphql.operation.name': name } : {}),
          ...(context.requestId ? { 'tollgate.request_id': context.requestId } : {}),
        },
      },
      traceparent ? tracing.extract({ traceparent }) : undefined,
    );
  };
  const finish = (span: Span, result: unknown) => {
    const errors = (result as { errors?: readonly { message: string }[] } | undefined)?.errors;
    if (errors?.length) span.setAttribute('graphql.errors', errors.length);
    endSpan(span, Boolean(errors?.length), errors?.[0]?.message);
  };
  return {
    onExecute({ args }) {
      const span = start(args.document, args.operationName, args.contextValue as TracedContext);
      return { onExecuteDone: ({ result }) => finish(span, result) };
    },
    onSubscribe({ args }) {
      const span = start(args.document, args.operationName, args.contextValue as TracedContext);
      return { onSubscribeResult: ({ result }) => finish(span, result) };
    },
  };
}
