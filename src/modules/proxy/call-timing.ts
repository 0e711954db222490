/** Time and failure helpers for one proxied call: backoff, Retry-After, failure reasons, path templates. */
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

const ID_SEGMENT = /^(?:\d+|[0-9a-f-]{16,}|[A-Za-z0-9_-]{24,}|CVE-\d{4}-\d+)$/i;

/** Templates of recent (short) paths: most calls repeat a few endpoints. Cleared when full. */
const templates = new Map<string, string>();
const TEMPLATE_CACHE_SIZE = 2000;

/** The path with ids replaced by `:id`, so usage groups by endpoint rather than by object. */
export function pathTemplate(path: string): string {
  let template = templates.get(path);
  if (template === undefined) {
    const [pathname = ''] = path.split('?');
    template = pathname
      .split('/')
      .slice(0, 12)
      .map((segment) => (ID_SEGMENT.test(segment) ? ':id' : segment))
      .join('/')
      .slice(0, 300);
    if (path.length <= 256) {
      if (templates.size >= TEMPLATE_CACHE_SIZE) templates.clear();
      templates.set(path, template);
    }
  }
  return template;
}

export function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}
