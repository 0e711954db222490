import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Agent } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ResponseBody, UpstreamExchange } from './upstream-exchange.ts';

let server: Server;
let origin: string;
const agent = new Agent({ keepAliveTimeout: 1000 });
const CHUNK = Buffer.alloc(16 * 1024, 'x');

beforeAll(async () => {
  server = createServer((req, res) => {
    if (req.url === '/chunks') {
      // Ten 16 KiB chunks, each written as its own piece of a chunked response.
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      let sent = 0;
      const next = (): void => {
        if (sent === 10) {
          res.end();
          return;
        }
        sent++;
        res.write(CHUNK, () => setImmediate(next));
      };
      next();
      return;
    }
    if (req.url === '/never') return; // accepts and never answers
    if (req.url === '/broken') {
      // The status and headers, then the connection dies before any of the body.
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '100' });
      res.flushHeaders();
      setTimeout(() => res.socket?.destroy(), 20);
      return;
    }
    if (req.url === '/echo') {
      const parts: Buffer[] = [];
      req.on('data', (c: Buffer) => parts.push(c));
      req.on('end', () => res.end(Buffer.concat(parts)));
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json', 'x-multi': ['a', 'b'] });
    res.end('{"ok":true}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await agent.close();
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const exchange = (path: string, extra: { method?: 'GET' | 'POST'; body?: Buffer } = {}) =>
  new UpstreamExchange(agent, {
    origin,
    path,
    method: extra.method ?? 'GET',
    headers: {},
    body: extra.body ?? null,
  });

async function collect(body: ResponseBody): Promise<Buffer> {
  const parts: Buffer[] = [];
  await body.consume((chunk) => {
    parts.push(chunk);
    return true;
  });
  return Buffer.concat(parts);
}

describe('UpstreamExchange', () => {
  it('gives status, parsed headers and the whole body, even when the body is consumed later', async () => {
    const response = await exchange('/').response;
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toBe('application/json');
    expect(response.headers['x-multi']).toEqual(['a', 'b']);
    await new Promise((resolve) => setTimeout(resolve, 50)); // the body arrives before anyone reads it
    expect((await collect(response.body)).toString()).toBe('{"ok":true}');
  });

  it('sends the request body', async () => {
    const response = await exchange('/echo', { method: 'POST', body: Buffer.from('hello upstream') })
      .response;
    expect((await collect(response.body)).toString()).toBe('hello upstream');
  });

  it('pauses the upstream while the consumer says so, and loses nothing on resume', async () => {
    const { body } = await exchange('/chunks').response;
    let received = 0;
    let pauses = 0;
    await body.consume((chunk) => {
      received += chunk.length;
      pauses++;
      setTimeout(() => body.resume(), 5);
      return false;
    });
    expect(received).toBe(10 * CHUNK.length);
    expect(pauses).toBeGreaterThan(1);
  });

  it('aborts the upstream and rejects with the error a consumer throws', async () => {
    const { body } = await exchange('/chunks').response;
    const tooBig = new Error('over the limit');
    await expect(
      body.consume(() => {
        throw tooBig;
      }),
    ).rejects.toBe(tooBig);
  });

  it('dump() discards a body so the next call can follow', async () => {
    const first = await exchange('/').response;
    await first.body.dump();
    const second = await exchange('/').response;
    expect((await collect(second.body)).toString()).toBe('{"ok":true}');
  });

  it('abort() before the answer rejects at once with the reason', async () => {
    const pending = exchange('/never');
    setTimeout(() => pending.abort(new Error('deadline')), 50);
    const started = Date.now();
    await expect(pending.response).rejects.toThrow('deadline');
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('abort() while the body streams fails the consumer', async () => {
    const pending = exchange('/chunks');
    const { body } = await pending.response;
    let chunks = 0;
    await expect(
      body.consume(() => {
        if (++chunks === 2) pending.abort(new Error('caller went away'));
        return true;
      }),
    ).rejects.toThrow('caller went away');
  });

  it('a body that breaks before anyone reads it rejects its consumer with the error', async () => {
    const { body } = await exchange('/broken').response;
    await new Promise((resolve) => setTimeout(resolve, 100)); // the connection is gone meanwhile
    await expect(body.consume(() => true)).rejects.toMatchObject({ code: expect.stringMatching(/^UND_ERR/) });
    await expect(body.dump()).resolves.toBeUndefined();
  });

  it('a connection failure rejects the response', async () => {
    const refused = new UpstreamExchange(agent, {
      origin: 'http://127.0.0.1:1',
      path: '/',
      method: 'GET',
      headers: {},
    });
    await expect(refused.response).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });
});

describe('ResponseBody.of', () => {
  it('is a complete body that can be consumed once', async () => {
    const body = ResponseBody.of(Buffer.from('stale answer'));
    expect((await collect(body)).toString()).toBe('stale answer');
    expect(() => body.consume(() => true)).toThrow('consumed twice');
  });
});
