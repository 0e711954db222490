import type { IncomingHttpHeaders } from 'node:http';
import type { UsableKey } from '../src/modules/keys/key-ring.ts';
import { pushResponseHeaders } from '../src/modules/upstream/upstream-request.ts';

/**
 * The cost of redacting the provider key from an upstream's response headers (it runs on every
 * call), against the baseline of copying the same headers with no key to look for. Headers are
 * those of a real OpenAI answer (Cloudflare cookie included); keys of two common lengths.
 */
const HEADERS: IncomingHttpHeaders = {
  date: 'Fri, 04 Dec 2026 17:41:03 GMT',
  'content-type': 'application/json',
  'content-length': '712',
  'access-control-expose-headers': 'X-Request-ID',
  'openai-organization': 'user-abcdefghijklmnopqrstuvwx',
  'openai-processing-ms': '412',
  'openai-version': '2020-10-01',
  'strict-transport-security': 'max-age=31536000; includeSubDomains; preload',
  'x-ratelimit-limit-requests': '10000',
  'x-ratelimit-limit-tokens': '2000000',
  'x-ratelimit-remaining-requests': '9999',
  'x-ratelimit-remaining-tokens': '1999970',
  'x-ratelimit-reset-requests': '6ms',
  'x-ratelimit-reset-tokens': '0s',
  'x-request-id': 'req_8b7a6f5e4d3c2b1a09f8e7d6c5b4a392',
  'cf-cache-status': 'DYNAMIC',
  'set-cookie': [
    '__cf_bm=Xy9.abcDEF_ghiJKLmnoPQRstu-1733333333-1.0.1.1-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcdefGHIJKLmnopqrSTUVwxyz_0123; path=/; expires=Fri, 04-Dec-26 18:11:03 GMT; domain=.api.openai.com; HttpOnly; Secure; SameSite=None',
    '_cfuvid=AbCdEfGhIjKlMnOpQrStUvWxYz0123456789.abcdef-1733333333333-0.0.1.1-604800000; path=/; domain=.api.openai.com; HttpOnly; Secure; SameSite=None',
  ],
  'x-content-type-options': 'nosniff',
  server: 'cloudflare',
  'cf-ray': '8ed1234567890abc-FRA',
  'alt-svc': 'h3=":443"; ma=86400',
};

/**
 * CPU time per call (not wall time: on a shared machine that would measure the neighbours), the
 * best of five batches.
 */
function nsPerCall(key: UsableKey | undefined, rounds: number): number {
  const out: (string | string[])[] = [];
  let best = Number.POSITIVE_INFINITY;
  for (let batch = 0; batch < 5; batch++) {
    const start = process.cpuUsage();
    for (let i = 0; i < rounds; i++) {
      out.length = 0;
      pushResponseHeaders(out, HEADERS, key);
    }
    const used = process.cpuUsage(start);
    best = Math.min(best, ((used.user + used.system) * 1000) / rounds);
  }
  return best;
}

export async function runRedactionBench(): Promise<void> {
  const keys: [string, UsableKey][] = [
    ['NVD-style 36-char key', { secret: '6f1c2a9e-1b2c-4d3e-8f9a-0b1c2d3e4f5a' } as UsableKey],
    [
      'OpenAI project key (164 chars)',
      { secret: `sk-proj-${'A1b2C3d4'.repeat(19)}x`.slice(0, 164) } as UsableKey,
    ],
  ];
  const rounds = 50_000;
  for (let warm = 0; warm < 3; warm++)
    for (const [, key] of [['', undefined], ...keys] as const) nsPerCall(key, 20_000);
  const baseline = nsPerCall(undefined, rounds);
  console.log(
    `redaction: copying ${Object.keys(HEADERS).length} headers with no key: ${baseline.toFixed(0)} ns/call`,
  );
  for (const [name, key] of keys) {
    const cost = nsPerCall(key, rounds);
    console.log(
      `redaction: ${name}: ${cost.toFixed(0)} ns/call (+${(cost - baseline).toFixed(0)} ns for the scan)`,
    );
  }
}
