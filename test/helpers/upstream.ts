import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** A request as the upstream received it. */
export interface RecordedRequest {
  method: string;
  /** The request target exactly as received (path and query, nothing decoded). */
  url: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  body: Buffer;
  at: number;
}

export type Behaviour =
  | { kind: 'json'; status?: number; body?: unknown; headers?: Record<string, string | string[]> }
  | { kind: 'status'; status: number; body?: string; headers?: Record<string, string> }
  | { kind: 'slow'; delayMs: number; status?: number; body?: unknown }
  | { kind: 'hang' }
  | { kind: 'drip'; chunks: number; intervalMs: number; chunk?: string }
  | { kind: 'reset' }
  | { kind: 'huge'; bytes: number; declareLength?: boolean }
  | { kind: 'redirect'; location: string; status?: number }
  | { kind: 'sse'; events: string[]; intervalMs?: number }
  | { kind: 'echo' }
  | { kind: 'openai' };

export interface Upstream {
  url: string;
  port: number;
  /** Every request received, in order. */
  requests: RecordedRequest[];
  /** Sets the behaviour for later requests; a function decides per request (by arrival index). */
  behave(b: Behaviour | ((req: RecordedRequest, index: number) => Behaviour)): void;
  /** Sockets currently open, to check that connections are freed. */
  openSockets(): number;
  /** Responses whose caller went away before they finished. */
  aborted(): number;
  reset(): void;
  close(): Promise<void>;
}

const json = (
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string | string[]> = {},
) => {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
};

/**
 * A real HTTP server on 127.0.0.1 standing in for a third-party API, able to misbehave on
 * demand: slow, hanging, dripping, resetting, erroring, huge, redirecting, streaming.
 */
export async function startUpstream(initial: Behaviour = { kind: 'echo' }): Promise<Upstream> {
  let behaviour: Behaviour | ((req: RecordedRequest, index: number) => Behaviour) = initial;
  const requests: RecordedRequest[] = [];
  const sockets = new Set<Socket>();
  let aborted = 0;

  const server = createServer(
    { keepAliveTimeout: 5_000 },
    async (req: IncomingMessage, res: ServerResponse) => {
      const url = new URL(req.url ?? '/', 'http://upstream');
      const chunks: Buffer[] = [];
      const record: RecordedRequest = {
        method: req.method ?? 'GET',
        url: req.url ?? '/',
        path: url.pathname,
        query: url.searchParams,
        headers: req.headers,
        body: Buffer.alloc(0),
        at: Date.now(),
      };
      const index = requests.length;
      requests.push(record);
      res.once('close', () => {
        if (!res.writableFinished) aborted++;
      });
      const current = typeof behaviour === 'function' ? behaviour(record, index) : behaviour;
      if (current.kind === 'hang') return; // never answer
      if (current.kind === 'reset') {
        req.socket.destroy();
        return;
      }
      try {
        for await (const chunk of req) chunks.push(chunk as Buffer);
        record.body = Buffer.concat(chunks);
        await respond(current, record, res);
      } catch {
        // A caller that went away mid-upload, or a body the fake cannot parse: answer 400 if we still can.
        if (!res.headersSent && !res.destroyed) res.writeHead(400).end();
      }
    },
  );
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    behave: (b) => {
      behaviour = b;
    },
    openSockets: () => sockets.size,
    aborted: () => aborted,
    reset: () => {
      requests.length = 0;
      aborted = 0;
      behaviour = initial;
    },
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

async function respond(b: Behaviour, req: RecordedRequest, res: ServerResponse): Promise<void> {
  switch (b.kind) {
    case 'echo':
      return json(res, 200, {
        method: req.method,
        path: req.path,
        query: Object.fromEntries(req.query),
        headers: req.headers,
        body: req.body.toString('utf8'),
      });
    case 'json':
      return json(res, b.status ?? 200, b.body ?? { ok: true }, b.headers);
    case 'status':
      res.writeHead(b.status, b.headers ?? {});
      res.end(b.body ?? '');
      return;
    case 'slow':
      await sleep(b.delayMs);
      if (!res.destroyed) json(res, b.status ?? 200, b.body ?? { ok: true });
      return;
    case 'drip': {
      res.writeHead(200, { 'content-type': 'text/plain' });
      for (let i = 0; i < b.chunks && !res.destroyed; i++) {
        res.write(b.chunk ?? `chunk ${i}\n`);
        await sleep(b.intervalMs);
      }
      if (!res.destroyed) res.end();
      return;
    }
    case 'huge': {
      res.writeHead(200, {
        'content-type': 'application/octet-stream',
        ...(b.declareLength ? { 'content-length': String(b.bytes) } : {}),
      });
      const block = Buffer.alloc(64 * 1024, 120);
      let left = b.bytes;
      while (left > 0 && !res.destroyed) {
        const piece = left >= block.length ? block : block.subarray(0, left);
        left -= piece.length;
        if (!res.write(piece)) await new Promise((r) => res.once('drain', r));
      }
      if (!res.destroyed) res.end();
      return;
    }
    case 'redirect':
      res.writeHead(b.status ?? 302, { location: b.location });
      res.end();
      return;
    case 'sse': {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      for (const event of b.events) {
        if (res.destroyed) return;
        res.write(`data: ${event}\n\n`);
        if (b.intervalMs) await sleep(b.intervalMs);
      }
      res.end();
      return;
    }
    case 'openai':
      return openAI(req, res);
    case 'hang':
    case 'reset':
      return;
  }
}

/** Answers /chat/completions like OpenAI does, streaming included (usage only with include_usage). */
function openAI(req: RecordedRequest, res: ServerResponse): void {
  if (!req.path.endsWith('/chat/completions')) {
    json(res, 404, { error: { message: 'not found' } });
    return;
  }
  const body = JSON.parse(req.body.toString('utf8') || '{}') as {
    model?: string;
    stream?: boolean;
    stream_options?: { include_usage?: boolean };
  };
  const model = body.model ?? 'gpt-test';
  const created = Math.floor(Date.now() / 1000);
  const usage = { prompt_tokens: 12, completion_tokens: 3, total_tokens: 15 };
  if (!body.stream) {
    json(res, 200, {
      id: 'chatcmpl-1',
      object: 'chat.completion',
      created,
      model,
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content: 'Hello!' },
          finish_reason: 'stop',
          logprobs: null,
        },
      ],
      usage,
    });
    return;
  }
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  const chunk = (delta: object, finish: string | null) =>
    `data: ${JSON.stringify({ id: 'chatcmpl-1', object: 'chat.completion.chunk', created, model, choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
  res.write(chunk({ role: 'assistant', content: 'Hel' }, null));
  res.write(chunk({ content: 'lo' }, null));
  res.write(chunk({ content: '!' }, null));
  res.write(chunk({}, 'stop'));
  if (body.stream_options?.include_usage) {
    res.write(
      `data: ${JSON.stringify({ id: 'chatcmpl-1', object: 'chat.completion.chunk', created, model, choices: [], usage })}\n\n`,
    );
  }
  res.end('data: [DONE]\n\n');
}

/** An OpenAI-compatible upstream (chat completions, plain and streaming). */
export function startFakeOpenAI(): Promise<Upstream> {
  return startUpstream({ kind: 'openai' });
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
