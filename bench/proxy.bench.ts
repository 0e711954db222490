import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { startRedis, stopProcess } from './bench-kit.ts';

/**
 * Data-plane overhead, measured in one run on this machine: the same load against
 *   1. the upstream directly,
 *   2. a bare pass-through proxy on undici's request() API, as one would write it — the baseline,
 *   3. a bare pass-through proxy on undici's lower-level dispatch API (what Tollgate uses), shown
 *      beside it so the gain from the API is not mistaken for a cheap policy chain,
 *   4. Tollgate with the full chain (client auth, provider rate limit, breaker, key injection,
 *      metering), with the in-process limiter, and with the Redis limiter when redis-server exists,
 *   5. as a diagnostic, Tollgate in-process with no usage events recorded: not a way to run it, but
 *      the difference from 4 is what per-call metering costs when PostgreSQL shares the cores.
 * Every target and the upstream run in processes of their own (bench/proxy-target.ts), so no
 * target's garbage or background work lands on another's turn. After a warm-up the targets are
 * measured in alternating rounds (BENCH_ROUNDS, default 5), so a noisy moment of a shared machine
 * touches all of them; each figure is the median over the rounds, and each ratio is the median of
 * the per-round ratios. CPU per request is the target process's own (from /proc; the upstream and
 * the load generator are not in it), and for Tollgate, apart, that of its embedded PostgreSQL
 * (the target's descendant processes), which writes the usage events. Prints requests/s, p50/p99
 * latency, the ratios against the baseline and the added latency, and writes
 * bench/results/proxy.json. No thresholds here: the figures go in the issue note.
 *
 * Latency at saturation is mostly queueing, and autocannon counts it in whole milliseconds. So a
 * second phase measures what the gateway adds under ordinary load: a fixed BENCH_LATENCY_RATE
 * (default 1000 requests/s, below every target's capacity here) in BENCH_LATENCY_ROUNDS
 * (default 3) alternating rounds, timed to the microsecond by bench/latency-client.ts.
 *
 * A third phase measures latency at concurrency 1, the way other gateways publish their overhead:
 * one connection, one request at a time, BENCH_SERIAL_REQUESTS (default 2000) after a warm-up, in
 * BENCH_SERIAL_ROUNDS (default 3) alternating rounds; the p50 and p99 Tollgate adds over the
 * upstream called directly (comparable with the published figures printed beside them) and over
 * the bare proxy (Tollgate's own share).
 *
 * BENCH_PHASES (default "throughput,rate,serial") picks the phases. BENCH_TRACE_PAUSES=1 has each
 * Tollgate target count its garbage collections and event-loop delay, printed after each of its
 * latency rounds: where a tail comes from.
 */
const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 5);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const LATENCY_RATE = Number(process.env.BENCH_LATENCY_RATE ?? 1000);
const LATENCY_ROUNDS = Number(process.env.BENCH_LATENCY_ROUNDS ?? 3);
const SERIAL_REQUESTS = Number(process.env.BENCH_SERIAL_REQUESTS ?? 2000);
const SERIAL_ROUNDS = Number(process.env.BENCH_SERIAL_ROUNDS ?? 3);
const PHASES = new Set((process.env.BENCH_PHASES ?? 'throughput,rate,serial').split(','));
const TRACE_PAUSES = process.env.BENCH_TRACE_PAUSES === '1';
/**
 * Published added p99 over the upstream called directly at concurrency 1, in µs (4 pinned cores,
 * July 2026), for the figures of the serial phase to stand beside.
 */
const PUBLISHED_P99_OVER_DIRECT_US: Record<string, number> = {
  'LiteLLM-Rust': 107,
  agentgateway: 186,
  Helicone: 444,
  Bifrost: 939,
  Kong: 1277,
  Portkey: 3262,
  'LiteLLM-Python': 7996,
};
const UNRECORDED = 'tollgate, no usage (diagnostic)';
const AUTOCANNON = fileURLToPath(new URL('../node_modules/autocannon/autocannon.js', import.meta.url));
const TARGET = fileURLToPath(new URL('./proxy-target.ts', import.meta.url));
const LATENCY_CLIENT = fileURLToPath(new URL('./latency-client.ts', import.meta.url));
const CLOCK_TICKS = Number(spawnSync('getconf', ['CLK_TCK']).stdout?.toString().trim()) || 100;

interface Figures {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  cpuMicrosPerRequest: number;
  /** CPU of the target's descendant processes (Tollgate's embedded PostgreSQL) per request. */
  childCpuMicrosPerRequest: number;
}

/** Runs the load generator in its own process, so it does not share an event loop with the target. */
function autocannonProcess(
  url: string,
  headers: Record<string, string>,
  duration: number,
): Promise<AutocannonJson> {
  const args = [AUTOCANNON, '--json', '--connections', String(CONNECTIONS), '--duration', String(duration)];
  for (const [name, value] of Object.entries(headers)) args.push('--headers', `${name}=${value}`);
  args.push(url);
  return jsonFromProcess<AutocannonJson>('autocannon', args, 'ignore');
}

/** Runs a Node script in a process of its own and parses what it prints as JSON. */
function jsonFromProcess<T>(name: string, args: string[], stderr: 'ignore' | 'inherit'): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', stderr] });
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    child.on('exit', (code) =>
      code === 0 ? resolve(JSON.parse(out) as T) : reject(new Error(`${name} exited ${code}`)),
    );
  });
}

interface AutocannonJson {
  requests: { average: number };
  latency: { p50: number; p99: number };
  errors: number;
  non2xx: number;
}

async function measure(
  name: string,
  url: string,
  headers: Record<string, string>,
  pid: number | undefined,
): Promise<Figures> {
  // A short warm-up so pools and JIT are ready, then the measured run.
  await autocannonProcess(url, headers, 1);
  const cpuBefore = cpuMicros(pid);
  const childCpuBefore = descendantsCpuMicros(pid);
  const result = await autocannonProcess(url, headers, DURATION_S);
  const cpu = cpuMicros(pid) - cpuBefore;
  const childCpu = descendantsCpuMicros(pid) - childCpuBefore;
  const requests = result.requests.average * DURATION_S;
  const figures = {
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors + result.non2xx,
    cpuMicrosPerRequest: requests > 0 ? cpu / requests : 0,
    childCpuMicrosPerRequest: requests > 0 ? Math.max(0, childCpu) / requests : 0,
  };
  console.log(`  ${name.padEnd(WIDTH)} ${describe(figures)}`);
  return figures;
}

const WIDTH = 36;
function describe(f: Figures): string {
  const postgres =
    f.childCpuMicrosPerRequest >= 0.5 ? ` + ${f.childCpuMicrosPerRequest.toFixed(0)} µs PostgreSQL` : '';
  return `${f.rps.toFixed(0).padStart(7)} req/s  p50 ${String(f.p50).padStart(3)} ms  p99 ${String(f.p99).padStart(3)} ms  ${f.cpuMicrosPerRequest.toFixed(0).padStart(4)} µs CPU/req${postgres}${f.errors ? `  (${f.errors} errors)` : ''}`;
}

interface LatencyFigures {
  count: number;
  errors: number;
  p50: number;
  p90: number;
  p99: number;
}

/**
 * Latency in microsecond precision (bench/latency-client.ts): at a fixed request rate, or at
 * concurrency 1 (`serial`).
 */
function latencyAt(url: string, headers: Record<string, string>, serial = false): Promise<LatencyFigures> {
  const args = serial
    ? [LATENCY_CLIENT, url, 'serial', String(SERIAL_REQUESTS)]
    : [LATENCY_CLIENT, url, String(LATENCY_RATE), String(DURATION_S)];
  for (const [name, value] of Object.entries(headers)) args.push(`${name}=${value}`);
  return jsonFromProcess<LatencyFigures>('latency client', args, 'inherit');
}

interface Target {
  url: string;
  key?: string;
  child: ChildProcess;
  /** With BENCH_TRACE_PAUSES=1: the target's GCs and event-loop delay since the last call. */
  pauses(): Promise<string | undefined>;
}

/** Target processes not yet exited, to stop them all if one dies. */
const running = new Set<ChildProcess>();

/** Starts one target process and waits for its URL (and client key). */
async function startTarget(args: string[]): Promise<Target> {
  const child = spawn(process.execPath, [TARGET, ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, ...(TRACE_PAUSES && args[0] === 'tollgate' ? { BENCH_TRACE_PAUSES: '1' } : {}) },
  });
  running.add(child);
  child.once('exit', () => running.delete(child));
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  const first = await new Promise<string>((resolve, reject) => {
    lines.once('line', resolve);
    child.once('exit', (code) => reject(new Error(`bench target ${args[0]} exited ${code}`)));
  });
  // A target that dies mid-run would leave the rounds after it measuring connection errors, and
  // a results file of zeros: stop the benchmark there, saying which target died.
  child.once('exit', (code, signal) => {
    if (stopping.has(child)) return;
    process.stderr.write(`bench target ${args[0]} died (${signal ?? `exit ${code}`}); no figures written\n`);
    for (const other of running) other.kill('SIGTERM');
    process.exit(1);
  });
  const pauses = async () => {
    if (!TRACE_PAUSES || args[0] !== 'tollgate') return undefined;
    const line = new Promise<string>((resolve) => lines.once('line', resolve));
    child.kill('SIGUSR2');
    return line;
  };
  return { ...(JSON.parse(first) as { url: string; key?: string }), child, pauses };
}

/** Targets being stopped on purpose: their exit is not a failure. */
const stopping = new WeakSet<ChildProcess>();

async function stopTarget(child: ChildProcess): Promise<void> {
  stopping.add(child);
  await stopProcess(child);
}

/** CPU time (user + system) a process has used so far, in microseconds; NaN where /proc is missing. */
function cpuMicros(pid: number | undefined): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    return ((Number(fields[11]) + Number(fields[12])) * 1_000_000) / CLOCK_TICKS;
  } catch {
    return Number.NaN;
  }
}

/**
 * CPU time used so far by the processes descended from `pid` (for Tollgate: its embedded
 * PostgreSQL), in microseconds. A process that exits between two readings takes its time with it;
 * PostgreSQL's backends here are pooled connections that live as long as the target.
 */
function descendantsCpuMicros(pid: number | undefined): number {
  if (pid === undefined) return 0;
  const parents = new Map<number, number>();
  const cpu = new Map<number, number>();
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return Number.NaN;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const fields = readFileSync(`/proc/${entry}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
      parents.set(Number(entry), Number(fields[1]));
      cpu.set(Number(entry), ((Number(fields[11]) + Number(fields[12])) * 1_000_000) / CLOCK_TICKS);
    } catch {
      // The process ended while we read.
    }
  }
  let total = 0;
  for (const [child, micros] of cpu) {
    for (let p = parents.get(child); p !== undefined && p > 1; p = parents.get(p)) {
      if (p === pid) {
        total += micros;
        break;
      }
    }
  }
  return total;
}

export async function runProxyBench(): Promise<void> {
  console.log(
    `proxy: phases ${[...PHASES].join(', ')}; ${CONNECTIONS} connections, ${ROUNDS} alternating rounds of ${DURATION_S} s per target, small JSON responses, keep-alive`,
  );
  const upstream = await startTarget(['upstream']);
  const redis = await startRedis();
  const started = await Promise.all([
    startTarget(['bare-request', upstream.url]),
    startTarget(['bare-dispatch', upstream.url]),
    startTarget(['tollgate', upstream.url]),
    startTarget(['tollgate-unrecorded', upstream.url]),
    ...(redis ? [startTarget(['tollgate', upstream.url, redis.url])] : []),
  ]);
  const [bareRequest, bareDispatch, memory, unrecorded, shared] = started as [
    (typeof started)[number],
    (typeof started)[number],
    (typeof started)[number],
    (typeof started)[number],
    (typeof started)[number] | undefined,
  ];
  const auth = (key?: string): Record<string, string> => (key ? { authorization: `Bearer ${key}` } : {});
  const targets: {
    name: string;
    url: string;
    headers: Record<string, string>;
    pid: number | undefined;
    pauses?: () => Promise<string | undefined>;
  }[] = [
    { name: 'bare proxy (request)', url: bareRequest.url, headers: {}, pid: bareRequest.child.pid },
    { name: 'bare proxy (dispatch)', url: bareDispatch.url, headers: {}, pid: bareDispatch.child.pid },
    {
      name: 'tollgate, in-process limiter',
      url: memory.url,
      headers: auth(memory.key),
      pid: memory.child.pid,
      pauses: memory.pauses,
    },
    ...(shared
      ? [
          {
            name: 'tollgate, Redis limiter',
            url: shared.url,
            headers: auth(shared.key),
            pid: shared.child.pid,
            pauses: shared.pauses,
          },
        ]
      : []),
    {
      name: UNRECORDED,
      url: unrecorded.url,
      headers: auth(unrecorded.key),
      pid: unrecorded.child.pid,
    },
  ];
  // Each target once under load before the rounds, so every round meets warmed-up code.
  for (const target of targets) await autocannonProcess(target.url, target.headers, 3);
  const direct = PHASES.has('throughput')
    ? await measure('direct upstream', `${upstream.url}/items`, {}, upstream.child.pid)
    : null;
  const rounds: Record<string, Figures>[] = [];
  for (let round = 1; round <= (PHASES.has('throughput') ? ROUNDS : 0); round++) {
    console.log(`  round ${round}/${ROUNDS}`);
    // Alternate the order too, so no target always runs right after the same one.
    const order = round % 2 === 1 ? targets : [...targets].reverse();
    const figures: Record<string, Figures> = {};
    for (const target of order)
      figures[target.name] = await measure(target.name, target.url, target.headers, target.pid);
    rounds.push(figures);
  }

  // Saturation measures capacity, and its latency is mostly queueing. What the gateway adds to a
  // call under ordinary load is measured apart, at a fixed rate below every target's capacity.
  const latencyTargets = [
    { name: 'direct upstream', url: `${upstream.url}/items`, headers: {}, pid: upstream.child.pid },
    ...targets.filter((t) => t.name !== 'bare proxy (dispatch)' && t.name !== UNRECORDED),
  ];
  const latencyRounds = PHASES.has('rate')
    ? await latencyPhase(
        `latency at a fixed ${LATENCY_RATE} requests/s`,
        latencyTargets,
        LATENCY_ROUNDS,
        false,
      )
    : [];
  const serialRounds = PHASES.has('serial')
    ? await latencyPhase(
        `latency at concurrency 1 (${SERIAL_REQUESTS} requests one at a time after a warm-up)`,
        latencyTargets,
        SERIAL_ROUNDS,
        true,
      )
    : [];
  await Promise.all(started.map((target) => stopTarget(target.child)));
  await stopTarget(upstream.child);
  redis?.stop();

  const median = (values: number[]) => {
    const sorted = [...values].sort((a, b) => a - b);
    const mid = Math.floor(sorted.length / 2);
    return sorted.length % 2
      ? (sorted[mid] as number)
      : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
  };
  const summary = (name: string): Figures | null => {
    if (!rounds[0]?.[name]) return null;
    const of = (pick: (f: Figures) => number) => median(rounds.map((r) => pick(r[name] as Figures)));
    return {
      rps: of((f) => f.rps),
      p50: of((f) => f.p50),
      p99: of((f) => f.p99),
      errors: rounds.reduce((n, r) => n + (r[name] as Figures).errors, 0),
      cpuMicrosPerRequest: of((f) => f.cpuMicrosPerRequest),
      childCpuMicrosPerRequest: of((f) => f.childCpuMicrosPerRequest),
    };
  };
  /** The median over rounds of `name`'s throughput divided by the baseline's in the same round. */
  const ratio = (name: string, base = 'bare proxy (request)') =>
    rounds[0]?.[name] ? median(rounds.map((r) => (r[name] as Figures).rps / (r[base] as Figures).rps)) : null;
  const added = (name: string, pick: (f: Figures) => number) =>
    rounds[0]?.[name]
      ? median(rounds.map((r) => pick(r[name] as Figures) - pick(r['bare proxy (request)'] as Figures)))
      : null;

  const fmt = (n: number | null, digits = 3) => (n === null ? '–' : n.toFixed(digits));
  if (rounds.length > 0) {
    console.log('  medians:');
    for (const target of targets) {
      console.log(`  ${target.name.padEnd(WIDTH)} ${describe(summary(target.name) as Figures)}`);
    }
    console.log(
      `  throughput tollgate/bare proxy (request): ${fmt(ratio('tollgate, in-process limiter'))} (in-process), ${fmt(ratio('tollgate, Redis limiter'))} (Redis)`,
    );
    console.log(
      `  throughput tollgate/bare proxy (dispatch): ${fmt(ratio('tollgate, in-process limiter', 'bare proxy (dispatch)'))} (in-process); bare dispatch/bare request: ${fmt(ratio('bare proxy (dispatch)'))}`,
    );
    console.log(
      `  diagnostic: tollgate with no usage events recorded/bare proxy (request): ${fmt(ratio(UNRECORDED))}; what metering leaves of the unmetered throughput: ${fmt(ratio('tollgate, in-process limiter', UNRECORDED))}`,
    );
    console.log(
      `  added latency: p50 +${fmt(
        added('tollgate, in-process limiter', (f) => f.p50),
        1,
      )} ms, p99 +${fmt(
        added('tollgate, in-process limiter', (f) => f.p99),
        1,
      )} ms (in-process)`,
    );
    console.log(
      `  added CPU per request: +${fmt(
        added('tollgate, in-process limiter', (f) => f.cpuMicrosPerRequest),
        0,
      )} µs (in-process), +${fmt(
        added('tollgate, Redis limiter', (f) => f.cpuMicrosPerRequest),
        0,
      )} µs (Redis)`,
    );
  }

  /** The median over latency rounds of `name`'s percentile minus the baseline's in the same round. */
  const addedAtRate = (name: string, pick: (f: LatencyFigures) => number) =>
    latencyRounds[0]?.[name]
      ? median(
          latencyRounds.map(
            (r) => pick(r[name] as LatencyFigures) - pick(r['bare proxy (request)'] as LatencyFigures),
          ),
        )
      : null;
  const latencySummary = (name: string, of = latencyRounds) =>
    of[0]?.[name]
      ? {
          p50: median(of.map((r) => (r[name] as LatencyFigures).p50)),
          p99: median(of.map((r) => (r[name] as LatencyFigures).p99)),
          errors: of.reduce((n, r) => n + (r[name] as LatencyFigures).errors, 0),
        }
      : null;
  if (latencyRounds.length > 0) {
    console.log(
      `  added latency at ${LATENCY_RATE} requests/s: p50 +${fmt(addedAtRate('tollgate, in-process limiter', (f) => f.p50))} ms, p99 +${fmt(
        addedAtRate('tollgate, in-process limiter', (f) => f.p99),
      )} ms (in-process); p50 +${fmt(addedAtRate('tollgate, Redis limiter', (f) => f.p50))} ms (Redis)`,
    );
    console.log(
      `  added latency at ${LATENCY_RATE} requests/s: p99 +${fmt(addedAtRate('tollgate, Redis limiter', (f) => f.p99))} ms (Redis)`,
    );
  }
  const serial = serialSummary(serialRounds, median);
  const tollgateRps = summary('tollgate, in-process limiter')?.rps ?? Number.POSITIVE_INFINITY;
  if (LATENCY_RATE > tollgateRps / 2) {
    console.log(
      `  note: ${LATENCY_RATE} requests/s is over half of Tollgate's measured capacity here (${tollgateRps.toFixed(0)}/s); the latency figures include queueing. Lower BENCH_LATENCY_RATE.`,
    );
  }

  mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
  const results = {
    at: new Date().toISOString(),
    connections: CONNECTIONS,
    durationSeconds: DURATION_S,
    rounds: ROUNDS,
    direct,
    bareProxy: summary('bare proxy (request)'),
    bareProxyDispatch: summary('bare proxy (dispatch)'),
    tollgateInProcess: summary('tollgate, in-process limiter'),
    tollgateRedis: summary('tollgate, Redis limiter'),
    tollgateUnrecordedDiagnostic: summary(UNRECORDED),
    throughputRatio: {
      inProcess: ratio('tollgate, in-process limiter'),
      redis: ratio('tollgate, Redis limiter'),
      inProcessVsDispatch: ratio('tollgate, in-process limiter', 'bare proxy (dispatch)'),
      dispatchVsRequest: ratio('bare proxy (dispatch)'),
      unrecordedDiagnostic: ratio(UNRECORDED),
      inProcessVsUnrecorded: ratio('tollgate, in-process limiter', UNRECORDED),
    },
    phases: [...PHASES],
    addedLatencyMs: {
      p50: added('tollgate, in-process limiter', (f) => f.p50),
      p99: added('tollgate, in-process limiter', (f) => f.p99),
    },
    perRound: rounds,
    atFixedRate: {
      requestsPerSecond: LATENCY_RATE,
      direct: latencySummary('direct upstream'),
      bareProxy: latencySummary('bare proxy (request)'),
      tollgateInProcess: latencySummary('tollgate, in-process limiter'),
      tollgateRedis: latencySummary('tollgate, Redis limiter'),
      addedMs: {
        p50: addedAtRate('tollgate, in-process limiter', (f) => f.p50),
        p99: addedAtRate('tollgate, in-process limiter', (f) => f.p99),
        p50Redis: addedAtRate('tollgate, Redis limiter', (f) => f.p50),
        p99Redis: addedAtRate('tollgate, Redis limiter', (f) => f.p99),
      },
      perRound: latencyRounds,
    },
    atConcurrency1: {
      requests: SERIAL_REQUESTS,
      direct: latencySummary('direct upstream', serialRounds),
      bareProxy: latencySummary('bare proxy (request)', serialRounds),
      tollgateInProcess: latencySummary('tollgate, in-process limiter', serialRounds),
      tollgateRedis: latencySummary('tollgate, Redis limiter', serialRounds),
      addedMicros: serial,
      publishedAddedP99OverDirectMicros: PUBLISHED_P99_OVER_DIRECT_US,
      perRound: serialRounds,
    },
  };
  writeFileSync(new URL('./results/proxy.json', import.meta.url), `${JSON.stringify(results, null, 2)}\n`);
  console.log('  wrote bench/results/proxy.json');
}

type LatencyTarget = {
  name: string;
  url: string;
  headers: Record<string, string>;
  pauses?: () => Promise<string | undefined>;
};

/** Latency rounds over the targets in alternating order; each round's figures by target name. */
async function latencyPhase(
  title: string,
  targets: LatencyTarget[],
  rounds: number,
  serial: boolean,
): Promise<Record<string, LatencyFigures>[]> {
  console.log(`  ${title}, ${rounds} alternating rounds:`);
  const out: Record<string, LatencyFigures>[] = [];
  for (let round = 1; round <= rounds; round++) {
    const order = round % 2 === 1 ? targets : [...targets].reverse();
    const figures: Record<string, LatencyFigures> = {};
    for (const target of order) {
      // Clear what the target saw before this round, so what it prints next is this round's.
      await target.pauses?.();
      const f = await latencyAt(target.url, target.headers, serial);
      figures[target.name] = f;
      const pauses = await target.pauses?.();
      console.log(
        `  ${target.name.padEnd(28)} p50 ${f.p50.toFixed(3)} ms  p90 ${f.p90.toFixed(3)} ms  p99 ${f.p99.toFixed(3)} ms${f.errors ? `  (${f.errors} errors)` : ''}${pauses ? `\n    pauses: ${pauses}` : ''}`,
      );
    }
    out.push(figures);
  }
  return out;
}

/**
 * The serial phase's added latency in µs, medians of per-round differences: over the upstream
 * called directly (as published) and over the bare proxy (Tollgate's own share); printed beside
 * the published figures.
 */
function serialSummary(rounds: Record<string, LatencyFigures>[], median: (values: number[]) => number) {
  if (rounds.length === 0) return null;
  const added = (name: string, base: string, pick: (f: LatencyFigures) => number) =>
    rounds[0]?.[name] && rounds[0]?.[base]
      ? Math.round(
          median(
            rounds.map((r) => (pick(r[name] as LatencyFigures) - pick(r[base] as LatencyFigures)) * 1000),
          ),
        )
      : null;
  const of = (name: string) => ({
    overDirect: {
      p50: added(name, 'direct upstream', (f) => f.p50),
      p99: added(name, 'direct upstream', (f) => f.p99),
    },
    overBareProxy: {
      p50: added(name, 'bare proxy (request)', (f) => f.p50),
      p99: added(name, 'bare proxy (request)', (f) => f.p99),
    },
  });
  const figures = {
    bareProxy: { overDirect: of('bare proxy (request)').overDirect },
    tollgateInProcess: of('tollgate, in-process limiter'),
    tollgateRedis: of('tollgate, Redis limiter'),
  };
  const us = (n: number | null | undefined) => (n === null || n === undefined ? '–' : `${n} µs`);
  console.log('  added latency at concurrency 1 (medians of per-round differences):');
  console.log(
    `    bare proxy (request)          over direct: p50 +${us(figures.bareProxy.overDirect.p50)}, p99 +${us(figures.bareProxy.overDirect.p99)}`,
  );
  for (const [label, f] of [
    ['tollgate, in-process limiter', figures.tollgateInProcess],
    ['tollgate, Redis limiter', figures.tollgateRedis],
  ] as const) {
    console.log(
      `    ${label.padEnd(29)} over direct: p50 +${us(f.overDirect.p50)}, p99 +${us(f.overDirect.p99)}; over the bare proxy (its own share): p50 +${us(f.overBareProxy.p50)}, p99 +${us(f.overBareProxy.p99)}`,
    );
  }
  const published = Object.entries(PUBLISHED_P99_OVER_DIRECT_US)
    .map(([name, p99]) => `${name} ${p99.toLocaleString('en')} µs`)
    .join(', ');
  console.log(
    `    published added p99 over direct at concurrency 1 (4 pinned cores, July 2026): ${published}`,
  );
  return figures;
}
