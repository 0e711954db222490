/** Time and failure helpers for one proxied call: backoff, Retry-After, the deadline, path templates. */
import type { ServerResponse } from 'node:http';
import type { Provider } from '../providers/provider.entity.ts';
import { headerValue } from './upstream-request.ts';

/** Exponential backoff with full jitter, at least the upstream's Retry-After. */
export function backoff(provider: Provider, attempt: number, retryAfterMs: number | undefined): number {
  const exp = Math.min(provider.retry.maxDelayMs, provider.retry.baseDelayMs * 2 ** (attempt - 1));
  return Math.max(Math.random() * exp, retryAfterMs ?? 0);
}

export function parseRetryAfter(value: string | string[] | undefined): number | undefined {
  const text = headerValue(value);
  if (!text) return undefined;
  const seconds = Number(text);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(text);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

export function isTimeout(error: unknown): boolean {
  const code = (error as { code?: string }).code;
  return (
    code === 'UND_ERR_HEADERS_TIMEOUT' ||
    code === 'UND_ERR_BODY_TIMEOUT' ||
    (error as Error).name === 'TimeoutError'
  );
}

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

/**
 * One signal for the whole call: aborted at the deadline or when the caller goes away.
 * (Cheaper than AbortSignal.timeout + AbortSignal.any on every request; the timer is unref'd
 * and cleared by the abort or when the response ends.)
 */
export function callSignal(
  timeoutMs: number,
  clientGone: AbortSignal,
  cleanups: (() => void)[],
): { signal: AbortSignal; deadline: { aborted: boolean } } {
  const controller = new AbortController();
  const deadline = { aborted: false };
  const timer = setTimeout(() => {
    deadline.aborted = true;
    controller.abort(new Error('deadline'));
  }, timeoutMs);
  timer.unref();
  const onGone = () => controller.abort(new Error('caller went away'));
  clientGone.addEventListener('abort', onGone, { once: true });
  cleanups.push(() => {
    clearTimeout(timer);
    clientGone.removeEventListener('abort', onGone);
  });
  return { signal: controller.signal, deadline };
}

export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const timer = setTimeout(resolve, ms);
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        reject(signal.reason);
      },
      { once: true },
    );
  });
}

export function waitForDrain(res: ServerResponse, clientGone: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(new Error('client went away'));
    clientGone.addEventListener('abort', onAbort, { once: true });
    res.once('drain', () => {
      clientGone.removeEventListener('abort', onAbort);
      resolve();
    });
  });
}

const ID_SEGMENT = /^(?:\d+|[0-9a-f-]{16,}|[A-Za-z0-9_-]{24,}|CVE-\d{4}-\d+)$/i;

/** The path with ids replaced by `:id`, so usage groups by endpoint rather than by object. */
export function pathTemplate(path: string): string {
  const [pathname = ''] = path.split('?');
  return pathname
    .split('/')
    .slice(0, 12)
    .map((segment) => (ID_SEGMENT.test(segment) ? ':id' : segment))
    .join('/')
    .slice(0, 300);
}

export function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}
