import type { IncomingHttpHeaders } from 'node:http';

/** A successful GET response kept for stale-on-error fallbacks. */
export interface StaleEntry {
  status: number;
  headers: Record<string, string | string[]>;
  body: Buffer;
  storedAt: number;
}

/** What an entry costs besides its body and headers (the map slot, the key, the object). */
const ENTRY_OVERHEAD = 256;

/**
 * Request headers that make an answer specific to the person behind the call. `authorization`
 * and `x-tollgate-key` carry the client key, which is never forwarded (and the client is part of
 * the cache key anyway); anything else that looks like a credential or a session is forwarded and
 * may change what the upstream answers.
 */
const PERSONAL_REQUEST_HEADER =
  /^(?:cookie|x-csrf-token|x-xsrf-token)$|api[-_]?key|token|session|secret|auth/i;
const CALLER_KEY_HEADERS = new Set(['authorization', 'x-tollgate-key']);

/**
 * Recent successful GET responses of providers that enable stale-on-error, in memory on each
 * replica, bounded by total bytes (least recently used evicted first). A stale answer is a best
 * effort while an upstream is failing, not an HTTP cache: entries are kept per client (one
 * client never sees what another's call produced), and only answers that HTTP would let a shared
 * cache keep (no Set-Cookie, no `Cache-Control: private/no-store`, no `Vary: *`) to requests
 * that carried no cookie or credential of their own.
 */
export class StaleCache {
  static readonly MAX_BODY = 1024 * 1024;
  // A Map iterates in insertion order: re-inserting on use keeps the least recently used first.
  readonly #entries = new Map<string, { entry: StaleEntry; size: number }>();
  readonly #maxBytes: number;
  #bytes = 0;

  constructor(maxBytes: number) {
    this.#maxBytes = maxBytes;
  }

  /** Entries are per provider and per client: an answer is only ever replayed to the client that got it. */
  static key(providerId: string, clientId: string, path: string): string {
    return `${providerId} ${clientId} ${path}`;
  }

  /** The largest body worth collecting while streaming (over it, `put` would refuse the entry). */
  get maxBody(): number {
    return Math.min(StaleCache.MAX_BODY, this.#maxBytes);
  }

  /** Bytes held now (bodies, headers and per-entry overhead). */
  get bytes(): number {
    return this.#bytes;
  }

  get size(): number {
    return this.#entries.size;
  }

  /**
   * Whether the answer to this request may be kept: checked before the body is collected, so an
   * answer that will not be kept costs no copy.
   */
  static mayStore(requestHeaders: IncomingHttpHeaders, responseHeaders: IncomingHttpHeaders): boolean {
    for (const name in requestHeaders) {
      if (!CALLER_KEY_HEADERS.has(name) && PERSONAL_REQUEST_HEADER.test(name)) return false;
    }
    if (responseHeaders['set-cookie'] !== undefined) return false;
    const cacheControl = String(responseHeaders['cache-control'] ?? '').toLowerCase();
    if (/(?:^|[\s,])(?:no-store|private)(?:$|[\s,=])/.test(cacheControl)) return false;
    const vary = String(responseHeaders.vary ?? '');
    if (vary.split(',').some((v) => v.trim() === '*')) return false;
    return true;
  }

  put(key: string, entry: StaleEntry): void {
    if (entry.body.length > this.maxBody) return;
    const size = entry.body.length + headersSize(entry.headers) + key.length + ENTRY_OVERHEAD;
    this.#delete(key);
    if (size > this.#maxBytes) return;
    this.#entries.set(key, { entry, size });
    this.#bytes += size;
    for (const oldest of this.#entries.keys()) {
      if (this.#bytes <= this.#maxBytes) break;
      this.#delete(oldest);
    }
  }

  get(key: string, maxAgeMs: number, now = Date.now()): StaleEntry | undefined {
    const held = this.#entries.get(key);
    if (!held) return undefined;
    if (now - held.entry.storedAt > maxAgeMs) {
      // Too old for this provider's TTL: it would never be served, so it stops taking memory.
      this.#delete(key);
      return undefined;
    }
    this.#entries.delete(key);
    this.#entries.set(key, held);
    return held.entry;
  }

  #delete(key: string): void {
    const held = this.#entries.get(key);
    if (!held) return;
    this.#entries.delete(key);
    this.#bytes -= held.size;
  }
}

function headersSize(headers: Record<string, string | string[]>): number {
  let size = 0;
  for (const name in headers) {
    const value = headers[name];
    size += name.length + 4;
    if (Array.isArray(value)) for (const v of value) size += v.length + 4;
    else if (value !== undefined) size += value.length;
  }
  return size;
}
