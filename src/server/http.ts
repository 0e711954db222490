import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Logger } from '../shared/logger.ts';
import { requestIdFrom } from '../shared/request-id.ts';

export interface ReadinessCheck {
  name: string;
  check(): Promise<void>;
}

export interface HttpRoutes {
  graphql(req: IncomingMessage, res: ServerResponse, requestId: string): unknown;
  proxy(req: IncomingMessage, res: ServerResponse, requestId: string, path: string): Promise<void>;
  metrics(): Promise<{ contentType: string; body: string }>;
  readiness: ReadinessCheck[];
}

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const payload = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(payload),
    'cache-control': 'no-store',
    ...headers,
  });
  res.end(payload);
}

async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The one HTTP server: GraphQL (and GraphiQL) on /graphql, liveness and readiness probes.
 * Every response carries x-request-id. Nothing thrown here may escape: node:http would crash.
 */
export function createHttpServer(routes: HttpRoutes, logger: Logger): Server {
  const server = createServer(
    { requestTimeout: 0, headersTimeout: 30_000, keepAliveTimeout: 5_000 },
    (req, res) => {
      const requestId = requestIdFrom(req.headers['x-request-id']);
      res.setHeader('x-request-id', requestId);
      const path = (req.url ?? '/').split('?')[0] ?? '/';
      const started = performance.now();
      res.once('close', () => {
        // Probes hit these every few seconds; keep them out of the info log.
        const level = path === '/healthz' || path === '/readyz' ? 'debug' : 'info';
        logger[level](
          {
            requestId,
            method: req.method,
            path,
            status: res.statusCode,
            ms: Math.round((performance.now() - started) * 10) / 10,
            completed: res.writableFinished,
          },
          'request',
        );
      });
      handle(path, req, res, requestId).catch((error: unknown) => {
        logger.error({ err: error, requestId, path }, 'unhandled error in HTTP handler');
        if (!res.headersSent)
          sendJson(res, 500, { error: { code: 'INTERNAL', message: 'Unexpected error.', requestId } });
        else res.destroy();
      });
    },
  );

  async function handle(path: string, req: IncomingMessage, res: ServerResponse, requestId: string) {
    if (path === '/graphql' || path.startsWith('/graphql/')) {
      await routes.graphql(req, res, requestId);
      return;
    }
    if (path.startsWith('/proxy/')) return routes.proxy(req, res, requestId, path);
    if (path === '/healthz') return sendJson(res, 200, { status: 'ok' });
    if (path === '/metrics') {
      const { contentType, body } = await routes.metrics();
      res.writeHead(200, { 'content-type': contentType, 'cache-control': 'no-store' });
      return res.end(body);
    }
    if (path === '/readyz') {
      const failures: { name: string; reason: string }[] = [];
      await Promise.all(
        routes.readiness.map(async ({ name, check }) => {
          try {
            await withTimeout(check(), 2_000, name);
          } catch (error) {
            failures.push({ name, reason: error instanceof Error ? error.message : String(error) });
          }
        }),
      );
      if (failures.length > 0) return sendJson(res, 503, { status: 'unavailable', failures });
      return sendJson(res, 200, { status: 'ready', checks: routes.readiness.map((r) => r.name) });
    }
    if (path === '/') {
      res.writeHead(302, { location: '/graphql' });
      return res.end();
    }
    return sendJson(res, 404, {
      error: { code: 'NOT_FOUND', message: `No route for ${req.method} ${path}.`, requestId },
    });
  }

  return server;
}
