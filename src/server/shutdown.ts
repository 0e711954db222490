import type { IncomingMessage, Server, ServerResponse } from 'node:http';

/**
 * Stops accepting connections, lets in-flight requests finish, and after `timeoutMs` cuts
 * whatever is still open. Resolves once the server is closed.
 */
export function closeHttpServer(server: Server, timeoutMs: number): Promise<void> {
  if (!server.listening) return Promise.resolve();
  // Responses still to come ask keep-alive clients to reconnect (to another replica).
  server.on('request', (_req, res) => res.setHeader('connection', 'close'));
  return new Promise((resolve) => {
    const timer = setTimeout(() => server.closeAllConnections(), timeoutMs);
    timer.unref();
    server.close(() => {
      clearTimeout(timer);
      resolve();
    });
    // Idle keep-alive sockets would otherwise hold close() open until they time out.
    server.closeIdleConnections();
  });
}

/**
 * Open `text/event-stream` responses: GraphQL subscriptions over SSE, which never end on their
 * own. At shutdown they are ended at once (like WebSockets closed with 1001) rather than held
 * until the drain timeout. The stream ends without a `complete` event, so clients reconnect
 * (EventSource does by itself), to another replica or to this one once it is back.
 */
export class EventStreams {
  readonly #open = new Set<ServerResponse>();

  /** Call for each GraphQL request; only those that accept an event stream are kept. */
  track(req: IncomingMessage, res: ServerResponse): void {
    if (!req.headers.accept?.includes('text/event-stream')) return;
    this.#open.add(res);
    res.once('close', () => this.#open.delete(res));
  }

  get size(): number {
    return this.#open.size;
  }

  /** Ends every open event stream; returns how many. */
  endAll(): number {
    let ended = 0;
    for (const res of this.#open) {
      if (!res.headersSent || res.writableEnded) continue;
      if (!String(res.getHeader('content-type') ?? '').startsWith('text/event-stream')) continue;
      // Yoga may still write (a keep-alive ping, an event) until it hears of the close: such a
      // write after end is an 'error' on the response, expected here.
      res.on('error', () => undefined);
      // Finished: let the socket go, so the server's close does not wait for it as idle.
      res.end(() => res.socket?.end());
      ended++;
    }
    return ended;
  }
}
