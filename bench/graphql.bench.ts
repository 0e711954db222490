import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { median, startRedis, stopProcess } from './bench-kit.ts';

/**
 * Control-plane overhead: a small authenticated GraphQL query (`{ viewer { subject role } }`)
 * through Tollgate with the API guard on (a per-operator limit far above the load, so every
 * request pays for the limiter and none is refused), against a bare node:http server answering
 * the same JSON. Targets: the bare server, Tollgate with the in-process limiter, and Tollgate with
 * its limits in Redis when redis-server exists. Each target runs in a process of its own
 * (bench/graphql-target.ts) and so does the load generator (autocannon), so no two share an event
 * loop. After a warm-up the targets are measured in alternating rounds (BENCH_ROUNDS, default 3)
 * so that a noisy moment of a shared machine touches all of them; each figure is the median over
 * the rounds, and each ratio the median of the per-round ratios. Prints requests/s, p50/p99 and
 * CPU per request, the ratios, and writes bench/results/graphql.json. No thresholds here.
 *
 * BENCH_CPU_PROF=<dir> starts the Tollgate targets with --cpu-prof (profiles written at the end
 * of the run; bench/cpu-profile-top.ts prints the top frames).
 */
const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 5);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 20);
const CPU_PROF_DIR = process.env.BENCH_CPU_PROF;
const BODY = JSON.stringify({ query: '{ viewer { subject role } }' });
const AUTOCANNON = fileURLToPath(new URL('../node_modules/autocannon/autocannon.js', import.meta.url));
const TARGET = fileURLToPath(new URL('./graphql-target.ts', import.meta.url));
const CLOCK_TICKS = Number(spawnSync('getconf', ['CLK_TCK']).stdout?.toString().trim()) || 100;

const BARE = 'bare node:http';
const IN_PROCESS = 'tollgate, in-process limiter';
const REDIS = 'tollgate, Redis limiter';

interface Figures {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  cpuMicrosPerRequest: number;
}

interface AutocannonJson {
  requests: { average: number };
  latency: { p50: number; p99: number };
  errors: number;
  non2xx: number;
}

interface Target {
  name: string;
  url: string;
  token?: string;
  child: ChildProcess;
}

/** Runs the load generator in its own process, so it shares no event loop with the target. */
function autocannon(url: string, headers: Record<string, string>, duration: number): Promise<AutocannonJson> {
  const args = [AUTOCANNON, '--json', '--connections', String(CONNECTIONS), '--duration', String(duration)];
  args.push('--method', 'POST', '--body', BODY);
  for (const [name, value] of Object.entries(headers)) args.push('--headers', `${name}=${value}`);
  args.push(url);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    child.on('exit', (code) =>
      code === 0
        ? resolve(JSON.parse(out) as AutocannonJson)
        : reject(new Error(`autocannon exited ${code}`)),
    );
  });
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

async function measure(target: Target, warmUpS: number): Promise<Figures> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (target.token) headers.authorization = `Bearer ${target.token}`;
  if (warmUpS > 0) await autocannon(target.url, headers, warmUpS);
  const before = cpuMicros(target.child.pid);
  const result = await autocannon(target.url, headers, DURATION_S);
  const cpu = cpuMicros(target.child.pid) - before;
  const requests = result.requests.average * DURATION_S;
  const figures = {
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors + result.non2xx,
    cpuMicrosPerRequest: requests > 0 ? cpu / requests : 0,
  };
  console.log(`  ${target.name.padEnd(30)} ${describe(figures)}`);
  return figures;
}

function describe(f: Figures): string {
  return `${f.rps.toFixed(0).padStart(7)} req/s  p50 ${String(f.p50).padStart(3)} ms  p99 ${String(f.p99).padStart(3)} ms  ${f.cpuMicrosPerRequest.toFixed(0).padStart(4)} µs CPU/req${f.errors ? `  (${f.errors} errors)` : ''}`;
}

async function startTarget(name: string, args: string[]): Promise<Target> {
  const profiling = CPU_PROF_DIR && args[0] === 'tollgate';
  const node = profiling ? ['--cpu-prof', `--cpu-prof-dir=${CPU_PROF_DIR}`] : [];
  const child = spawn(process.execPath, [...node, TARGET, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  const first = await new Promise<string>((resolve, reject) => {
    lines.once('line', resolve);
    child.once('exit', (code) => reject(new Error(`bench target ${name} exited ${code}`)));
  });
  return { name, ...(JSON.parse(first) as { url: string; token?: string }), child };
}

const round3 = (n: number) => Math.round(n * 1000) / 1000;

export async function runGraphqlBench(): Promise<void> {
  console.log(
    `graphql: { viewer { subject role } } with a token, API guard on; ${CONNECTIONS} connections, ${ROUNDS} alternating rounds of ${DURATION_S} s per target`,
  );
  const redis = await startRedis();
  const targets = await Promise.all([
    startTarget(BARE, ['bare']),
    startTarget(IN_PROCESS, ['tollgate']),
    ...(redis ? [startTarget(REDIS, ['tollgate', redis.url])] : []),
  ]);
  const rounds: Record<string, Figures>[] = [];
  try {
    for (let round = 0; round < ROUNDS; round++) {
      console.log(`  round ${round + 1} of ${ROUNDS}`);
      const figures: Record<string, Figures> = {};
      for (const target of targets) figures[target.name] = await measure(target, round === 0 ? 2 : 1);
      rounds.push(figures);
    }
  } finally {
    await Promise.all(targets.map((t) => stopProcess(t.child)));
    redis?.stop();
  }

  const summary = (name: string) => {
    const of = rounds.map((r) => r[name]).filter((f): f is Figures => f !== undefined);
    if (of.length === 0) return undefined;
    return {
      rps: Math.round(median(of.map((f) => f.rps))),
      p50: median(of.map((f) => f.p50)),
      p99: median(of.map((f) => f.p99)),
      cpuMicrosPerRequest: Math.round(median(of.map((f) => f.cpuMicrosPerRequest))),
      errors: of.reduce((sum, f) => sum + f.errors, 0),
    };
  };
  const ratio = (name: string) => {
    const per = rounds.filter((r) => r[name] && r[BARE]).map((r) => r[name]!.rps / r[BARE]!.rps);
    return per.length > 0 ? round3(median(per)) : undefined;
  };
  console.log(`  medians over ${ROUNDS} rounds:`);
  for (const target of targets) {
    const s = summary(target.name)!;
    console.log(`  ${target.name.padEnd(30)} ${describe(s)}`);
  }
  const ratios = { inProcess: ratio(IN_PROCESS), redis: ratio(REDIS) };
  console.log(`  throughput ratio tollgate/bare, in-process limiter: ${ratios.inProcess}  (target ≥ 0.35)`);
  if (redis)
    console.log(`  throughput ratio tollgate/bare, Redis limiter:      ${ratios.redis}  (target ≥ 0.30)`);
  else console.log('  no redis-server here: the Redis target was skipped');

  mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
  const results = {
    at: new Date().toISOString(),
    query: '{ viewer { subject role } }',
    connections: CONNECTIONS,
    durationSeconds: DURATION_S,
    rounds: ROUNDS,
    bare: summary(BARE),
    tollgateInProcess: summary(IN_PROCESS),
    tollgateRedis: summary(REDIS),
    throughputRatio: ratios,
    perRound: rounds,
  };
  writeFileSync(new URL('./results/graphql.json', import.meta.url), `${JSON.stringify(results, null, 2)}\n`);
  console.log('  wrote bench/results/graphql.json');
}
