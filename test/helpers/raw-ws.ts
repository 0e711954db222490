import WebSocket from 'ws';
import { wsUrl } from './graphql.ts';

/** A raw graphql-transport-ws socket that records what the server says and how it closes. */
export interface RawSocket {
  socket: WebSocket;
  messages: { type: string; id?: string; payload?: unknown }[];
  send(message: Record<string, unknown>): void;
  /** Resolves with the next message of this type (or rejects when the socket closes first). */
  next(type: string): Promise<{ type: string; id?: string; payload?: unknown }>;
  closed: Promise<{ code: number; reason: string }>;
}

/** Opens a socket and resolves once it is open; `headers` go on the upgrade request. */
export function openRawSocket(graphqlUrl: string, headers: Record<string, string> = {}): Promise<RawSocket> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(wsUrl(graphqlUrl), 'graphql-transport-ws', { headers });
    const messages: RawSocket['messages'] = [];
    const waiters: { type: string; resolve: (m: RawSocket['messages'][number]) => void }[] = [];
    const closed = new Promise<{ code: number; reason: string }>((r) =>
      socket.on('close', (code, reason) => r({ code, reason: String(reason) })),
    );
    socket.on('message', (data) => {
      const message = JSON.parse(String(data));
      messages.push(message);
      const index = waiters.findIndex((w) => w.type === message.type);
      if (index >= 0) waiters.splice(index, 1)[0]!.resolve(message);
    });
    socket.on('error', reject);
    socket.on('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
    socket.on('open', () =>
      resolve({
        socket,
        messages,
        closed,
        send: (message) => socket.send(JSON.stringify(message)),
        next: (type) => {
          const seen = messages.find((m) => m.type === type);
          if (seen) return Promise.resolve(seen);
          return Promise.race([
            new Promise<RawSocket['messages'][number]>((r) => waiters.push({ type, resolve: r })),
            closed.then(({ code, reason }) => {
              throw new Error(`closed with ${code} ${reason} before ${type}`);
            }),
          ]);
        },
      }),
    );
  });
}

/** The HTTP status (and body) with which the server refuses an upgrade, or 101 when it accepts. */
export function upgradeStatus(
  graphqlUrl: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string; headers: Record<string, string | string[] | undefined> }> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(wsUrl(graphqlUrl), 'graphql-transport-ws', { headers });
    socket.on('open', () => {
      socket.close();
      resolve({ status: 101, body: '', headers: {} });
    });
    socket.on('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => {
        body += chunk.toString();
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
    });
    socket.on('error', reject);
  });
}

/** How the server answers connection_init: 'ack', or the close it answers with instead. */
export async function initOutcome(raw: RawSocket): Promise<'ack' | { code: number; reason: string }> {
  return Promise.race([
    raw.closed,
    raw.next('connection_ack').then(
      () => 'ack' as const,
      () => raw.closed,
    ),
  ]);
}
