import { EventEmitter } from 'node:events';
import type { ServerResponse } from 'node:http';
import { describe, expect, it } from 'vitest';
import { ResponseBody } from '../../upstream/upstream-exchange.ts';
import type { UpstreamResult } from '../call-context.ts';
import { StaleCache } from '../stale-cache.ts';
import { respond } from './respond.ts';
import { fakeContext, fakeProvider, key } from './test-kit.ts';

/** Enough of a ServerResponse for respond: what was written, and nothing else. */
class FakeResponse extends EventEmitter {
  status = 0;
  headers: (string | string[])[] = [];
  chunks: Buffer[] = [];
  ended = false;
  writeHead(status: number, headers: (string | string[])[]) {
    this.status = status;
    this.headers = headers;
    return this;
  }
  flushHeaders() {}
  write(chunk: Buffer) {
    this.chunks.push(chunk);
    return true;
  }
  end() {
    this.ended = true;
  }
  header(name: string) {
    const i = this.headers.indexOf(name);
    return i >= 0 ? this.headers[i + 1] : undefined;
  }
}

function result(
  status: number,
  body: string,
  headers: Record<string, string> = {},
  attempts = 1,
): UpstreamResult {
  return {
    response: { statusCode: status, headers, body: ResponseBody.of(Buffer.from(body)) },
    key: key('k1'),
    attempts,
    deadline: undefined,
  };
}

const deps = (maxResponseBytes = 1024) => ({ maxResponseBytes, staleCache: new StaleCache(1 << 20) });

describe('respond stage', () => {
  it('streams the answer with Tollgate\u2019s headers, meters the bytes and sets the outcome', async () => {
    const ctx = fakeContext();
    ctx.outcome.attempts = 2;
    ctx.outcome.servedBy = ctx.request.provider;
    const res = new FakeResponse();
    await respond(ctx, result(201, 'hello'), res as unknown as ServerResponse, deps());
    expect(res.status).toBe(201);
    expect(Buffer.concat(res.chunks).toString()).toBe('hello');
    expect(res.ended).toBe(true);
    expect(res.header('x-tollgate-attempts')).toBe('2');
    expect(res.header('x-request-id')).toBe('req-1');
    expect(ctx.outcome).toMatchObject({
      status: 201,
      outcome: 'SUCCESS',
      responseBytes: 5,
      answeredBy: ctx.request.provider,
    });
  });

  it('never lets the injected key out in a response header', async () => {
    const ctx = fakeContext();
    const res = new FakeResponse();
    const k = key('k1');
    await respond(
      ctx,
      result(302, '', { location: `https://x.example/?key=${k.secret}` }),
      res as unknown as ServerResponse,
      deps(),
    );
    expect(String(res.header('location'))).not.toContain(k.secret);
  });

  it('refuses a declared body over the limit before writing anything', async () => {
    const ctx = fakeContext();
    const res = new FakeResponse();
    const error = await respond(
      ctx,
      result(200, 'x', { 'content-length': '4096' }),
      res as unknown as ServerResponse,
      deps(),
    ).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'UPSTREAM_UNAVAILABLE' });
    expect(res.status).toBe(0);
  });

  it('keeps a good GET for stale-on-error, and marks a fallback answer as FALLBACK', async () => {
    const provider = fakeProvider({ degradedMode: { staleOnError: true } });
    const ctx = fakeContext({ provider });
    const d = deps();
    await respond(ctx, result(200, '{"a":1}'), new FakeResponse() as unknown as ServerResponse, d);
    expect(
      d.staleCache.get(StaleCache.key(provider.id, 'client-1', '/v1/things'), 60_000)?.body.toString(),
    ).toBe('{"a":1}');
    const viaFallback = fakeContext();
    viaFallback.outcome.fallback = 'provider';
    await respond(viaFallback, result(200, 'ok'), new FakeResponse() as unknown as ServerResponse, deps());
    expect(viaFallback.outcome.outcome).toBe('FALLBACK');
  });
});
