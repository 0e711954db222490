import OpenAI from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import { type Behaviour, startFakeOpenAI, startUpstream, type Upstream } from './upstream.ts';

// Every upstream a test starts is closed afterwards, even when an assertion fails, so no
// hanging socket keeps the worker alive.
const started: Upstream[] = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((u) => u.close()));
});

async function upstream(initial?: Behaviour): Promise<Upstream> {
  const u = await startUpstream(initial);
  started.push(u);
  return u;
}

async function fakeOpenAI(): Promise<Upstream> {
  const u = await startFakeOpenAI();
  started.push(u);
  return u;
}

/** Polls until `check` passes: socket and abort counters settle a moment after the client side sees the end. */
async function eventually(check: () => void, timeoutMs = 1_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      check();
      return;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 10));
    }
  }
}

describe('startUpstream', () => {
  it('echoes and records method, path, query, headers and body', async () => {
    const u = await upstream();
    const res = await fetch(`${u.url}/v1/things?a=1&b=two`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-custom': 'yes' },
      body: '{"hello":"world"}',
    });
    expect(res.status).toBe(200);
    const echoed = (await res.json()) as { method: string; path: string; query: object; body: string };
    expect(echoed).toMatchObject({
      method: 'POST',
      path: '/v1/things',
      query: { a: '1', b: 'two' },
      body: '{"hello":"world"}',
    });

    expect(u.requests).toHaveLength(1);
    const [req] = u.requests;
    expect(req!.method).toBe('POST');
    expect(req!.path).toBe('/v1/things');
    expect(req!.query.get('b')).toBe('two');
    expect(req!.headers['x-custom']).toBe('yes');
    expect(req!.body.toString('utf8')).toBe('{"hello":"world"}');
  });

  it('answers a status with headers, e.g. 429 with retry-after', async () => {
    const u = await upstream({
      kind: 'status',
      status: 429,
      body: 'slow down',
      headers: { 'retry-after': '2' },
    });
    const res = await fetch(u.url);
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('2');
    expect(await res.text()).toBe('slow down');
  });

  it('decides per request with a function, and reset() restores the default', async () => {
    const u = await upstream();
    u.behave((_req, index) =>
      index < 2 ? { kind: 'status', status: 503 } : { kind: 'json', body: { n: index } },
    );
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await fetch(u.url)).status);
    expect(statuses).toEqual([503, 503, 200]);

    u.reset();
    expect(u.requests).toHaveLength(0);
    const res = await fetch(`${u.url}/after`);
    expect(((await res.json()) as { path: string }).path).toBe('/after');
  });

  it('keeps connections alive between requests', async () => {
    const u = await upstream({ kind: 'json' });
    for (let i = 0; i < 3; i++) {
      await (await fetch(u.url)).text();
      // undici hands the socket back to its pool a tick after the body resolves; without this
      // pause the next fetch would open a second connection however well the server keeps alive.
      await new Promise((r) => setImmediate(r));
    }
    expect(u.requests).toHaveLength(3);
    expect(u.openSockets()).toBe(1);
  });

  it('hang never answers; an abandoned request counts as aborted', async () => {
    const u = await upstream({ kind: 'hang' });
    await expect(fetch(u.url, { signal: AbortSignal.timeout(300) })).rejects.toThrow();
    expect(u.requests).toHaveLength(1);
    await eventually(() => expect(u.aborted()).toBe(1));
    await eventually(() => expect(u.openSockets()).toBe(0));
  });

  it('hang holds the request open until close()', async () => {
    const u = await upstream({ kind: 'hang' });
    const pending = fetch(u.url);
    await eventually(() => expect(u.requests).toHaveLength(1));
    expect(u.openSockets()).toBe(1);
    await u.close();
    await expect(pending).rejects.toThrow();
  });

  it('reset destroys the socket, so fetch rejects', async () => {
    const u = await upstream({ kind: 'reset' });
    await expect(fetch(u.url)).rejects.toThrow();
    expect(u.requests).toHaveLength(1);
  });

  it('sse delivers each event as a data line, then ends', async () => {
    const u = await upstream({ kind: 'sse', events: ['one', 'two', '{"n":3}'], intervalMs: 5 });
    const res = await fetch(u.url);
    expect(res.headers.get('content-type')).toBe('text/event-stream');
    expect(await res.text()).toBe('data: one\n\ndata: two\n\ndata: {"n":3}\n\n');
  });

  it('drip sends a chunked body over time', async () => {
    const u = await upstream({ kind: 'drip', chunks: 3, intervalMs: 20, chunk: 'x' });
    const started = Date.now();
    const res = await fetch(u.url);
    expect(res.headers.get('transfer-encoding')).toBe('chunked');
    expect(await res.text()).toBe('xxx');
    expect(Date.now() - started).toBeGreaterThanOrEqual(40);
  });

  it('huge without content-length delivers exactly N bytes', async () => {
    const bytes = 1_000_003; // not a multiple of the 64 KiB block, to exercise the tail
    const u = await upstream({ kind: 'huge', bytes, declareLength: false });
    const res = await fetch(u.url);
    expect(res.headers.get('content-length')).toBeNull();
    expect((await res.arrayBuffer()).byteLength).toBe(bytes);
  });

  it('huge with declareLength sends content-length', async () => {
    const u = await upstream({ kind: 'huge', bytes: 1234, declareLength: true });
    const res = await fetch(u.url);
    expect(res.headers.get('content-length')).toBe('1234');
    expect((await res.arrayBuffer()).byteLength).toBe(1234);
  });

  it('redirect sends a location', async () => {
    const u = await upstream({ kind: 'redirect', location: 'https://example.invalid/x', status: 307 });
    const res = await fetch(u.url, { redirect: 'manual' });
    expect(res.status).toBe(307);
    expect(res.headers.get('location')).toBe('https://example.invalid/x');
  });

  it('slow answers after the delay', async () => {
    const u = await upstream({ kind: 'slow', delayMs: 100, body: { late: true } });
    const started = Date.now();
    const res = await fetch(u.url);
    expect(await res.json()).toEqual({ late: true });
    expect(Date.now() - started).toBeGreaterThanOrEqual(90);
  });
});

describe('startFakeOpenAI', () => {
  // maxRetries 0: a broken fake should fail the test at once, not after the SDK's backoff.
  const client = (u: Upstream) => new OpenAI({ apiKey: 'sk-test', baseURL: `${u.url}/v1`, maxRetries: 0 });

  it('answers chat completions for the real openai SDK and records the Authorization header', async () => {
    const u = await fakeOpenAI();
    const completion = await client(u).chat.completions.create({
      model: 'gpt-test',
      messages: [{ role: 'user', content: 'Hi' }],
    });
    expect(completion.choices[0]?.message.content).toBe('Hello!');
    expect(completion.model).toBe('gpt-test');
    expect(completion.usage?.total_tokens).toBe(15);

    expect(u.requests).toHaveLength(1);
    const [req] = u.requests;
    expect(req!.method).toBe('POST');
    expect(req!.path).toBe('/v1/chat/completions');
    expect(req!.headers.authorization).toBe('Bearer sk-test');
    expect(JSON.parse(req!.body.toString('utf8'))).toMatchObject({ model: 'gpt-test' });
  });

  it('streams chunks, with usage only when include_usage is set', async () => {
    const u = await fakeOpenAI();
    const stream = await client(u).chat.completions.create({
      model: 'gpt-test',
      messages: [{ role: 'user', content: 'Hi' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let content = '';
    let usage: OpenAI.CompletionUsage | null | undefined;
    const finishes: (string | null)[] = [];
    for await (const chunk of stream) {
      content += chunk.choices[0]?.delta.content ?? '';
      if (chunk.choices[0]) finishes.push(chunk.choices[0].finish_reason);
      if (chunk.usage) usage = chunk.usage;
    }
    expect(content).toBe('Hello!');
    expect(finishes.at(-1)).toBe('stop');
    expect(usage).toEqual({ prompt_tokens: 12, completion_tokens: 3, total_tokens: 15 });

    // Without include_usage the stream carries no usage chunk at all.
    const plain = await (
      await fetch(`${u.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'gpt-test', messages: [], stream: true }),
      })
    ).text();
    expect(plain).not.toContain('"usage"');
    expect(plain.endsWith('data: [DONE]\n\n')).toBe(true);
  });

  it('lets behave() override the OpenAI default', async () => {
    const u = await fakeOpenAI();
    u.behave({ kind: 'status', status: 429, headers: { 'retry-after': '1' }, body: '{"error":{}}' });
    await expect(
      client(u).chat.completions.create({ model: 'gpt-test', messages: [{ role: 'user', content: 'Hi' }] }),
    ).rejects.toMatchObject({ status: 429 });
    expect(u.requests[0]?.headers.authorization).toBe('Bearer sk-test');
  });
});
