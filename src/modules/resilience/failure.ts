/**
 * Error classification for upstream calls: what a failed exchange means (the deadline, a
 * connection problem, a refused private address, the caller's own body) and which answers count
 * against a provider's circuit. One place, so the proxy, health probes and webhooks agree.
 */

/** undici's and AbortSignal.timeout's ways of saying that time ran out. */
export function isTimeout(error: unknown): boolean {
  const code = (error as { code?: string }).code;
  return (
    code === 'UND_ERR_HEADERS_TIMEOUT' ||
    code === 'UND_ERR_BODY_TIMEOUT' ||
    (error as Error).name === 'TimeoutError'
  );
}

/** A short reason for a failed connection (an errno code when there is one), for logs and breakers. */
export function connectionReason(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return (
    (error as { code?: string }).code ??
    cause?.code ??
    cause?.message ??
    (error as Error).message ??
    'connection error'
  );
}

/** The error itself or its cause, when it is of class `type` (undici wraps what a hook threw). */
export function causeOf<T>(error: unknown, type: abstract new (...args: never[]) => T): T | undefined {
  if (error instanceof type) return error;
  const cause = (error as { cause?: unknown } | null)?.cause;
  return cause instanceof type ? cause : undefined;
}

/**
 * Whether an upstream status counts against the provider's circuit: 5xx do; 4xx are about the
 * request (or the key, judged elsewhere) and say the provider is up.
 */
export function isUpstreamFailure(status: number): boolean {
  return status >= 500;
}

/** A failed exchange in a few words (for probes, deliveries and logs): out of time, or why the connection failed. */
export function describeFailure(error: unknown, timeoutMs: number): string {
  if (isTimeout(error)) return `no answer within ${timeoutMs} ms`;
  return connectionReason(error).slice(0, 200);
}
