/**
 * The context a proxied call carries through the stages: what the caller sent (fixed once
 * admitted), what the call has done so far (the outcome accumulator, read by respond, meter
 * and settle), and the call's lifetime (the caller leaving, what to stop and to clean up).
 */
import type { IncomingMessage } from 'node:http';
import type { BudgetReservation } from '../budgets/budget-enforcer.ts';
import type { AuthenticatedClient } from '../clients/client-cache.ts';
import type { UsableKey } from '../keys/key-ring.ts';
import type { Provider } from '../providers/provider.entity.ts';
import type { Deadline } from '../resilience/deadline.ts';
import type { LimitDecision } from '../resilience/rate-limits.ts';
import type { UpstreamResponse } from '../upstream/upstream-exchange.ts';
import type { Outcome } from '../usage/usage-event.entity.ts';
import type { CallTrace } from './proxy-tracing.ts';
import type { RequestBody } from './request-body.ts';

/** The call as it arrived, before anything is decided. */
export interface CallStart {
  readonly requestId: string;
  /** performance.now() when the call arrived. */
  readonly started: number;
  readonly method: string;
  /** The whole path, /proxy/{provider}/{rest}. */
  readonly path: string;
  readonly req: IncomingMessage;
}

/** What admission decided: who calls, which provider, what goes upstream. Never changes after. */
export interface AdmittedRequest extends CallStart {
  readonly client: AuthenticatedClient;
  readonly provider: Provider;
  /** The upstream path (after the provider slug). */
  readonly restPath: string;
  /** The upstream path and query (the stale cache's key within a provider). */
  readonly rest: string;
  readonly body: RequestBody;
}

/** What one call did, accumulated by the stages, for headers, usage and the trace. */
export class CallOutcome {
  /** Known as soon as admission gets that far (refusals record them too). */
  client: AuthenticatedClient | undefined;
  provider: Provider | undefined;
  restPath: string | undefined;
  servedBy: Provider | undefined;
  /** The provider whose upstream answer went back to the caller (not set for Tollgate's own answers). */
  answeredBy: Provider | undefined;
  keyId: string | null = null;
  attempts = 0;
  fallback: string | null = null;
  upstreamMs = 0;
  requestBytes = 0;
  responseBytes = 0;
  status = 0;
  outcome: Outcome = 'SUCCESS';
  tokens: {
    model: string | null;
    promptTokens: number | null;
    completionTokens: number | null;
    cachedTokens: number | null;
  } = { model: null, promptTokens: null, completionTokens: null, cachedTokens: null };
  /** The provider rate-limit decision, for the RateLimit-* headers. */
  limit: LimitDecision | undefined;
  /** The first provider's limit, taken by admission in the same script as the budget holds: its attempt uses it. */
  admittedLimit: { providerId: string; decision: LimitDecision } | undefined;
  /** What is held against budgets for the provider currently tried. */
  reservation: BudgetReservation | null = null;
}

/** The call's lifetime: the caller leaving, and what must stop or be cleaned up. */
export class CallLifetime {
  /** Set when the caller went away. */
  gone = false;
  /** Stops what the call waits on now (an exchange, a backoff, a queue) when the caller leaves or the deadline passes. */
  abortCurrent: ((reason: Error) => void) | undefined;
  /** The deadline of the provider being tried (a fallback gets its own). */
  deadline: Deadline | undefined;
  readonly #cleanups: (() => void)[] = [];
  /** Made only when something waits on it (most calls never do). */
  #left: AbortController | undefined;

  /** Aborts when the caller goes away. */
  get signal(): AbortSignal {
    if (!this.#left) {
      this.#left = new AbortController();
      if (this.gone) this.#left.abort();
    }
    return this.#left.signal;
  }

  leave(): void {
    this.gone = true;
    this.#left?.abort();
    this.abortCurrent?.(new Error('caller went away'));
  }

  onEnd(cleanup: () => void): void {
    this.#cleanups.push(cleanup);
  }

  end(): void {
    for (const cleanup of this.#cleanups.splice(0)) cleanup();
  }
}

export interface CallContext {
  readonly request: AdmittedRequest;
  readonly outcome: CallOutcome;
  readonly life: CallLifetime;
  readonly trace: CallTrace | undefined;
}

/** An upstream answer (or one Tollgate made: stale or static) ready to go back to the caller. */
export interface UpstreamResult {
  response: UpstreamResponse;
  key: UsableKey | undefined;
  attempts: number;
  /** The deadline the answer was got under (the body may still be streaming); undefined for Tollgate's own. */
  deadline: Deadline | undefined;
  /** Frees the provider's bulkhead slot once the body has been sent (or dropped). */
  release?: () => void;
}
