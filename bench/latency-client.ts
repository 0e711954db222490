// The latency probe of bench:proxy: sends GETs at a fixed rate, below every target's capacity,
// and measures each answer with microsecond precision (autocannon's histogram counts whole
// milliseconds, too coarse for the gateway's own added latency). Runs in a process of its own:
//   node bench/latency-client.ts <url> <requests per second> <seconds> [header=value ...]
//   node bench/latency-client.ts <url> serial <requests> [header=value ...]
// Prints one JSON line: {"count", "errors", "p50", "p90", "p99"} with latencies in milliseconds.
//
// `serial` is concurrency 1, the way other gateways publish their overhead: one keep-alive
// connection, one request at a time, each sent when the previous answer has been read; a warm-up
// of a tenth as many requests (at least 200) first, not counted.
//
// The schedule is open-loop: requests go out when they are due, whether or not earlier ones have
// answered, so a slow answer does not quietly lower the rate. Each latency counts from the moment
// the request is handed to the HTTP client. The first second warms up and is not counted.
import { Pool } from 'undici';

const [url = '', rateArg = '1000', secondsArg = '5', ...headerArgs] = process.argv.slice(2);
const serial = rateArg === 'serial';
const rate = Number(rateArg);
const seconds = Number(secondsArg);
const headers = Object.fromEntries(
  headerArgs.map((arg) => [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)]),
);
const target = new URL(url);
const pool = new Pool(target.origin, { connections: serial ? 1 : 64, keepAliveTimeout: 10_000 });
const path = `${target.pathname}${target.search}`;

const latencies: number[] = [];
let errors = 0;

async function send(counted: boolean): Promise<void> {
  const sent = performance.now();
  try {
    const response = await pool.request({ path, method: 'GET', headers });
    await response.body.dump();
    if (response.statusCode !== 200) errors++;
    else if (counted) latencies.push(performance.now() - sent);
  } catch {
    errors++;
  }
}

/** Concurrency 1: `count` requests one after another, after an uncounted warm-up. */
async function sendSerially(count: number): Promise<void> {
  const warmUp = Math.max(200, Math.round(count / 10));
  for (let i = 0; i < warmUp + count; i++) await send(i >= warmUp);
}

async function sendAtRate(): Promise<void> {
  const started = performance.now();
  const warmUp = Math.round(rate);
  const total = warmUp + Math.round(rate * seconds);
  const pending: Promise<void>[] = [];
  let sent = 0;
  await new Promise<void>((resolve) => {
    const tick = setInterval(() => {
      const now = performance.now();
      // Every request whose time has come.
      while (sent < total && started + (sent * 1000) / rate <= now) {
        pending.push(send(sent >= warmUp));
        sent++;
      }
      if (sent >= total) {
        clearInterval(tick);
        resolve();
      }
    }, 1);
  });
  await Promise.all(pending);
}

if (serial) await sendSerially(Number(secondsArg));
else await sendAtRate();
await pool.close();

latencies.sort((a, b) => a - b);
const at = (q: number) =>
  Math.round((latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0) * 1000) /
  1000;
console.log(JSON.stringify({ count: latencies.length, errors, p50: at(0.5), p90: at(0.9), p99: at(0.99) }));
