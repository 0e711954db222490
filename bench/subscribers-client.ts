import { createInterface } from 'node:readline';
import WebSocket from 'ws';

/**
 * The subscriber side of `npm run bench:subscriptions`, in its own process. Opens N WebSockets
 * (raw, or graphql-ws connections that are initialised and acknowledged) and says "ready". For
 * graphql-ws, the line "subscribe" on stdin sends the subscription on every socket, and it says
 * "subscribed". When each socket has received one event it reports the arrival times (epoch ms)
 * as JSON and exits.
 * Usage: node bench/subscribers-client.ts <url> <count> <raw|graphql> [token] [query]
 */
const [url = '', countText = '0', mode = 'raw', token = '', query = ''] = process.argv.slice(2);
const count = Number(countText);
const arrivals: number[] = [];
const now = () => performance.timeOrigin + performance.now();
const sockets: WebSocket[] = [];
let subscribed = false;

function open(): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, mode === 'graphql' ? 'graphql-transport-ws' : undefined);
    sockets.push(socket);
    socket.on('error', reject);
    socket.on('open', () => {
      if (mode === 'raw') {
        resolve();
        return;
      }
      socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } }));
    });
    socket.on('message', (data) => {
      const text = data.toString();
      if (mode === 'graphql' && !subscribed) {
        if (text.includes('connection_ack')) resolve();
        return;
      }
      arrivals.push(now());
      if (arrivals.length === count) {
        // Exit only once the (large) line has reached the pipe.
        process.stdout.write(`${JSON.stringify({ arrivals })}\n`, () => process.exit(0));
      }
    });
  });
}

for (let i = 0; i < count; i += 200) {
  await Promise.all(Array.from({ length: Math.min(200, count - i) }, () => open()));
}
await new Promise((r) => setTimeout(r, 500));
process.stdout.write('ready\n');
createInterface({ input: process.stdin }).on('line', async (line) => {
  if (line === 'quit') process.exit(0);
  if (line !== 'subscribe') return;
  subscribed = true;
  const message = JSON.stringify({ id: '1', type: 'subscribe', payload: { query } });
  for (let i = 0; i < sockets.length; i += 200) {
    for (const socket of sockets.slice(i, i + 200)) socket.send(message);
    // The server has no "subscribed" acknowledgement: let it take each batch in.
    await new Promise((r) => setTimeout(r, 5));
  }
  await new Promise((r) => setTimeout(r, 500));
  process.stdout.write('subscribed\n');
});
