import type { IncomingMessage } from 'node:http';
import { type Span, SpanKind } from '@opentelemetry/api';
import { endSpan, type Tracing } from '../../shared/tracing.ts';
import type { Provider } from '../providers/provider.entity.ts';

/**
 * The spans of one proxied call: the call (continuing the caller's trace if it sent a
 * traceparent), a child per provider tried as a fallback, and a child per upstream attempt under
 * whichever provider made it. Every function is a no-op when tracing is off.
 */
export class CallTrace {
  readonly #tracing: Tracing;
  readonly root: Span;
  /** Where attempt spans go: the call, or the fallback provider being tried. */
  #parent: Span;

  private constructor(tracing: Tracing, root: Span) {
    this.#tracing = tracing;
    this.root = root;
    this.#parent = root;
  }

  static start(
    tracing: Tracing | undefined,
    req: IncomingMessage,
    method: string,
    requestId: string,
  ): CallTrace | undefined {
    if (!tracing) return undefined;
    const root = tracing.start(
      'proxy',
      {
        kind: SpanKind.SERVER,
        attributes: { 'http.request.method': method, 'tollgate.request_id': requestId },
      },
      tracing.extract(req.headers),
    );
    return new CallTrace(tracing, root);
  }

  provider(provider: Provider): void {
    this.root.updateName(`proxy ${provider.slug}`);
    this.root.setAttribute('tollgate.provider', provider.slug);
  }

  attempt(provider: Provider, attempt: number, keyId: string | undefined): Span {
    return this.#tracing.start(
      `upstream ${provider.slug}`,
      {
        kind: SpanKind.CLIENT,
        attributes: {
          'tollgate.provider': provider.slug,
          'tollgate.attempt': attempt,
          ...(keyId ? { 'tollgate.key_id': keyId } : {}),
        },
      },
      this.#parent,
    );
  }

  /** Runs `work` (serving through a fallback provider) under its own span. */
  async fallback<T>(provider: Provider, work: () => Promise<T>, failed: (result: T) => boolean): Promise<T> {
    const span = this.#tracing.start(
      `fallback ${provider.slug}`,
      { attributes: { 'tollgate.provider': provider.slug } },
      this.root,
    );
    this.#parent = span;
    try {
      const result = await work();
      endSpan(span, failed(result));
      return result;
    } catch (error) {
      endSpan(span, true, (error as Error).message);
      throw error;
    } finally {
      this.#parent = this.root;
    }
  }

  end(call: {
    status: number;
    outcome: string;
    attempts: number;
    fallback: string | null;
    clientId: string | undefined;
  }): void {
    this.root.setAttributes({
      'http.response.status_code': call.status,
      'tollgate.outcome': call.outcome,
      'tollgate.attempts': call.attempts,
      ...(call.fallback ? { 'tollgate.fallback': call.fallback } : {}),
      ...(call.clientId ? { 'tollgate.client_id': call.clientId } : {}),
    });
    endSpan(this.root, call.status >= 500, call.status >= 500 ? call.outcome : undefined);
  }
}

/** Ends an attempt's span with the upstream status, or with the error that ended it. */
export function endAttempt(span: Span | undefined, outcome: { status: number } | { error: string }): void {
  if (!span) return;
  if ('status' in outcome) {
    span.setAttribute('http.response.status_code', outcome.status);
    endSpan(span, outcome.status >= 500);
  } else {
    endSpan(span, true, outcome.error);
  }
}
