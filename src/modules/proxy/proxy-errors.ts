import type { ServerResponse } from 'node:http';
import type { Outcome } from '../usage/usage-event.entity.ts';

/** A gateway-originated failure: its HTTP status, stable code and usage outcome. */
export const GATEWAY_ERRORS = {
  UNAUTHENTICATED: { status: 401, outcome: 'UNAUTHENTICATED', retryable: false },
  FORBIDDEN: { status: 403, outcome: 'FORBIDDEN', retryable: false },
  PROVIDER_NOT_FOUND: { status: 404, outcome: 'NOT_FOUND', retryable: false },
  PROVIDER_DISABLED: { status: 503, outcome: 'DISABLED', retryable: false },
  NO_USABLE_KEY: { status: 503, outcome: 'UNAVAILABLE', retryable: true },
  BUDGET_EXCEEDED: { status: 402, outcome: 'BUDGET_BLOCKED', retryable: false },
  RATE_LIMITED: { status: 429, outcome: 'RATE_LIMITED', retryable: true },
  CIRCUIT_OPEN: { status: 503, outcome: 'CIRCUIT_OPEN', retryable: true },
  // The provider's bulkhead is full (calls in flight and its short queue): shed at once.
  PROVIDER_SATURATED: { status: 503, outcome: 'UNAVAILABLE', retryable: true },
  UPSTREAM_TIMEOUT: { status: 504, outcome: 'TIMEOUT', retryable: true },
  UPSTREAM_UNAVAILABLE: { status: 502, outcome: 'UNAVAILABLE', retryable: true },
  PAYLOAD_TOO_LARGE: { status: 413, outcome: 'PAYLOAD_TOO_LARGE', retryable: false },
  INVALID_PATH: { status: 400, outcome: 'CLIENT_ERROR', retryable: false },
  METHOD_NOT_ALLOWED: { status: 405, outcome: 'CLIENT_ERROR', retryable: false },
  // The caller went away or broke its own request (a malformed chunk) before an answer: nobody
  // receives this status; it is nginx's "client closed request", for the access log and usage.
  CLIENT_ABORTED: { status: 499, outcome: 'CLIENT_ABORTED', retryable: false },
} as const satisfies Record<string, { status: number; outcome: Outcome; retryable: boolean }>;

export type GatewayErrorCode = keyof typeof GATEWAY_ERRORS;

export class GatewayError extends Error {
  readonly code: GatewayErrorCode;
  readonly retryAfterMs: number | undefined;
  readonly headers: Record<string, string>;
  /** Extra fields for the error body (e.g. which budget refused). */
  readonly details: Record<string, unknown>;
  /** Whether retrying later can help: the code's default unless this refusal knows better. */
  readonly retryable: boolean;
  /** What usage records, when it is not what the caller is told (see the handler's FORBIDDEN). */
  readonly #outcome: Outcome | undefined;
  constructor(
    code: GatewayErrorCode,
    message: string,
    options: {
      cause?: unknown;
      retryAfterMs?: number;
      headers?: Record<string, string>;
      details?: Record<string, unknown>;
      retryable?: boolean;
      outcome?: Outcome;
    } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'GatewayError';
    this.code = code;
    this.retryAfterMs = options.retryAfterMs;
    this.headers = options.headers ?? {};
    this.details = options.details ?? {};
    this.retryable = options.retryable ?? GATEWAY_ERRORS[code].retryable;
    this.#outcome = options.outcome;
  }

  get status(): number {
    return GATEWAY_ERRORS[this.code].status;
  }

  get outcome(): Outcome {
    return this.#outcome ?? GATEWAY_ERRORS[this.code].outcome;
  }
}

/** Writes the JSON error body of DESIGN.md §3, with Retry-After when a retry time is known. */
export function sendGatewayError(
  res: ServerResponse,
  error: GatewayError,
  context: { requestId: string; provider: string | null; headers?: Record<string, string> },
): void {
  const body = JSON.stringify({
    error: {
      code: error.code,
      message: error.message,
      provider: context.provider,
      retryable: error.retryable,
      ...(error.retryAfterMs !== undefined ? { retryAfterMs: Math.ceil(error.retryAfterMs) } : {}),
      ...error.details,
      requestId: context.requestId,
    },
  });
  const headers: Record<string, string | number> = {
    ...context.headers,
    ...error.headers,
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
  };
  if (error.retryAfterMs !== undefined)
    headers['retry-after'] = String(Math.max(1, Math.ceil(error.retryAfterMs / 1000)));
  if (error.code === 'UNAUTHENTICATED') headers['www-authenticate'] = 'Bearer realm="tollgate"';
  res.writeHead(error.status, headers);
  res.end(body);
}
