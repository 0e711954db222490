import { timingSafeEqual } from 'node:crypto';
import {
  createServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
  STATUS_CODES,
} from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from '../shared/logger.ts';
import { requestIdFrom } from '../shared/request-id.ts';
import type { AuthRoute } from './auth-routes.ts';
import { capConnectionsPerAddress } from './connection-cap.ts';
import type { ConsoleRoute } from './console.ts';

export interface ReadinessCheck {
  name: string;
  check(): Promise<void>;
}

export interface HttpRoutes {
  graphql(req: IncomingMessage, res: ServerResponse, requestId: string): unknown;
  proxy(req: IncomingMessage, res: ServerResponse, requestId: string, path: string): Promise<void>;
  /** Absent when /metrics is served on its own port instead. */
  metrics?: MetricsRoute;
  /** The operator console's files, at /console. */
  console?: ConsoleRoute;
  /** Single sign-on and console sessions, at /auth. */
  auth?: AuthRoute;
  readiness: ReadinessCheck[];
}

export interface MetricsRoute {
  scrape(): Promise<{ contentType: string; body: string }>;
  /** When set, a scrape must carry `Authorization: Bearer <token>`. */
  token: string | undefined;
}

/** Answers a Prometheus scrape, checking the bearer token when one is configured. */
export async function serveMetrics(route: MetricsRoute, req: IncomingMessage, res: ServerResponse) {
  if (route.token) {
    const presented = Buffer.from(/^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1] ?? '');
    const expected = Buffer.from(route.token);
    if (presented.length !== expected.length || !timingSafeEqual(presented, expected)) {
      return sendJson(
        res,
        401,
        { error: { code: 'UNAUTHENTICATED', message: 'Send the metrics token.' } },
        {
          'www-authenticate': 'Bearer realm="tollgate-metrics"',
        },
      );
    }
  }
  const { contentType, body } = await route.scrape();
  res.writeHead(200, { 'content-type': contentType, 'cache-control': 'no-store' });
  res.end(body);
}

/** A server for /metrics alone, on its own port (TOLLGATE_METRICS_PORT). */
export function createMetricsServer(route: MetricsRoute, logger: Logger): Server {
  return createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/metrics')
      return sendJson(res, 404, { error: { code: 'NOT_FOUND', message: 'Only /metrics here.' } });
    serveMetrics(route, req, res).catch((error: unknown) => {
      logger.error({ err: error }, 'metrics scrape failed');
      if (!res.headersSent) sendJson(res, 500, { error: { code: 'INTERNAL', message: 'Scrape failed.' } });
    });
  });
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

/**
 * A JSON error written straight to a socket node:http has not made a response for (a request it
 * could not parse, CONNECT), so that these edges answer like every other one.
 */
export function rawJsonError(
  socket: Duplex,
  status: number,
  error: { code: string; message: string; requestId?: string },
  headers: Record<string, string> = {},
): void {
  const body = JSON.stringify({ error });
  const head = Object.entries({
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': String(Buffer.byteLength(body)),
    'Cache-Control': 'no-store',
    Connection: 'close',
    ...(error.requestId ? { 'x-request-id': error.requestId } : {}),
    ...headers,
  })
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join('');
  // Closed once written: what follows on this connection cannot be parsed.
  socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n${head}\r\n${body}`, () => socket.destroy());
}

/** node:http's answers to a request it could not parse (its own are empty), as JSON. */
const CLIENT_ERRORS: Record<string, { status: number; code: string; message: string }> = {
  HPE_HEADER_OVERFLOW: {
    status: 431,
    code: 'HEADERS_TOO_LARGE',
    message: 'The request headers are too large.',
  },
  HPE_CHUNK_EXTENSIONS_OVERFLOW: {
    status: 413,
    code: 'PAYLOAD_TOO_LARGE',
    message: 'The chunk extensions are too large.',
  },
  ERR_HTTP_REQUEST_TIMEOUT: {
    status: 408,
    code: 'REQUEST_TIMEOUT',
    message: 'The request took too long to arrive.',
  },
};
const MALFORMED = { status: 400, code: 'BAD_REQUEST', message: 'The request is not valid HTTP/1.1.' };

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
 * The one HTTP server: GraphQL (and GraphiQL) on /graphql, the console on /console, liveness and
 * readiness probes.
 * Every response carries x-request-id. Nothing thrown here may escape: node:http would crash.
 */
export function createHttpServer(
  routes: HttpRoutes,
  logger: Logger,
  options: { requestTimeoutMs: number; headersTimeoutMs: number; maxConnectionsPerAddress: number },
): Server {
  const server = createServer(
    {
      // A client that drips its request (headers or body) holds a connection and a socket: it gets
      // 408 once the whole request has taken longer than this. Answers, however long they stream
      // (SSE, proxied downloads), are not limited by it, nor are WebSockets once upgraded.
      requestTimeout: options.requestTimeoutMs,
      // The same for the headers alone, counted from the connection's start for its first request:
      // a connection that sends nothing, or half a head, is closed this soon (slowloris).
      headersTimeout: options.headersTimeoutMs,
      // Node checks the timeouts on this interval (30 s by default, which let a 120 s limit answer
      // at 128 s): at most a second, so a timeout fires close to when it is due.
      connectionsCheckingInterval: Math.min(1_000, Math.max(100, Math.floor(options.headersTimeoutMs / 4))),
      keepAliveTimeout: 5_000,
      // Only /graphql speaks WebSocket. Elsewhere Upgrade is ignored (RFC 9110 §7.8 allows it) and
      // the request served as plain HTTP/1.1: an h2c attempt on /proxy still gets its answer, and
      // nothing ends at an empty 404.
      shouldUpgradeCallback: (req) => (req.url ?? '').split('?')[0] === '/graphql',
    },
    (req, res) => {
      const requestId = requestIdFrom(req.headers['x-request-id']);
      const url = req.url ?? '/';
      const query = url.indexOf('?');
      const path = query >= 0 ? url.slice(0, query) : url;
      // The proxy writes x-request-id with the rest of its headers, in one go.
      if (!path.startsWith('/proxy/')) res.setHeader('x-request-id', requestId);
      // Probes hit these every few seconds; keep them out of the info log.
      const level = path === '/healthz' || path === '/readyz' ? 'debug' : 'info';
      if (logger.isLevelEnabled(level)) {
        const started = performance.now();
        res.once('close', () => {
          logger[level](
            {
              requestId,
              method: req.method,
              path,
              // Closed before any answer went out: the caller left (nginx's 499), not a 200.
              status: res.headersSent ? res.statusCode : 499,
              ms: Math.round((performance.now() - started) * 10) / 10,
              completed: res.writableFinished,
            },
            'request',
          );
        });
      }
      handle(path, req, res, requestId).catch((error: unknown) => {
        logger.error({ err: error, requestId, path }, 'unhandled error in HTTP handler');
        if (!res.headersSent)
          sendJson(
            res,
            500,
            { error: { code: 'INTERNAL', message: 'Unexpected error.', requestId } },
            { 'x-request-id': requestId },
          );
        else res.destroy();
      });
    },
  );

  // Same behaviour as node:http's default (no answer once a response has started on the
  // connection, the socket closed), but the answer is the JSON error every other edge sends.
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => {
    // node's own rule: answer unless a response on this connection has started (its bytes would
    // corrupt it). A kept-alive connection whose earlier responses are done still gets the answer.
    const inFlight = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } | null })._httpMessage;
    if (socket.writable && !inFlight?.headersSent) {
      const { status, code, message } = CLIENT_ERRORS[error.code ?? ''] ?? MALFORMED;
      rawJsonError(socket, status, { code, message, requestId: requestIdFrom(undefined) });
    } else {
      socket.destroy();
    }
  });
  capConnectionsPerAddress(server, options.maxConnectionsPerAddress, (socket) =>
    rawJsonError(socket, 503, {
      code: 'TOO_MANY_CONNECTIONS',
      message: 'Too many open connections from this address (TOLLGATE_MAX_CONNECTIONS_PER_IP).',
      requestId: requestIdFrom(undefined),
    }),
  );
  // Tollgate is not a forward proxy. Without a listener node:http would just close the socket.
  server.on('connect', (req: IncomingMessage, socket: Duplex) => {
    rawJsonError(socket, 405, {
      code: 'METHOD_NOT_ALLOWED',
      message: 'Tollgate does not forward CONNECT requests.',
      requestId: requestIdFrom(req.headers['x-request-id']),
    });
  });

  async function handle(path: string, req: IncomingMessage, res: ServerResponse, requestId: string) {
    // Exactly /graphql: yoga would answer anything under it with an empty 404.
    if (path === '/graphql') {
      await routes.graphql(req, res, requestId);
      return;
    }
    if (path.startsWith('/proxy/')) return routes.proxy(req, res, requestId, path);
    if (path === '/healthz') return sendJson(res, 200, { status: 'ok' });
    if (path === '/metrics' && routes.metrics) return serveMetrics(routes.metrics, req, res);
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
    if (routes.auth && path.startsWith('/auth/')) return routes.auth.serve(req, res, path, requestId);
    if (routes.console && (path === '/console' || path.startsWith('/console/'))) {
      return routes.console.serve(req, res, path);
    }
    if (path === '/') {
      res.writeHead(302, { location: routes.console ? '/console/' : '/graphql' });
      return res.end();
    }
    return sendJson(res, 404, {
      error: { code: 'NOT_FOUND', message: `No route for ${req.method} ${path}.`, requestId },
    });
  }

  return server;
}
