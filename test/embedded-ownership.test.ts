import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateProvider, GetProvider } from './documents.ts';
import { gql } from './helpers/graphql.ts';
import { freePort } from './helpers/ports.ts';
import {
  ROOT,
  type RunningTollgate,
  runCli,
  startTollgate,
  stopTollgate,
} from './helpers/tollgate-process.ts';

/**
 * The embedded PostgreSQL under a data dir belongs to the Tollgate that started it. While that
 * Tollgate runs, the CLI uses its database (it does not take the cluster for an orphan and stop
 * it), and a second `node src/main.ts` on the same data dir refuses before touching anything.
 */

async function embeddedEnv(prefix: string): Promise<{ dataDir: string; env: NodeJS.ProcessEnv }> {
  const dataDir = mkdtempSync(join(tmpdir(), prefix));
  const { DATABASE_URL: _db, TOLLGATE_JWT_SECRET: _secret, REDIS_URL: _redis, ...rest } = process.env;
  return {
    dataDir,
    env: {
      ...rest,
      TOLLGATE_DATA_DIR: dataDir,
      PORT: String(await freePort()),
      TOLLGATE_EMBEDDED_PG_PORT: String(await freePort()),
      LOG_LEVEL: 'info',
    },
  };
}

describe('CLI commands and a second start while Tollgate runs on the embedded PostgreSQL', () => {
  let dataDir: string;
  let env: NodeJS.ProcessEnv;
  let server: RunningTollgate;
  let base: string;
  let graphqlUrl: string;

  const postmasterPid = () => readFileSync(join(dataDir, 'pg', 'postmaster.pid'), 'utf8').split('\n')[0];
  const readyz = async () => (await fetch(`${base}/readyz`)).status;
  const token = async (role: string) =>
    (await runCli(env, ['token', '--role', role, '--ttl', '10m'])).stdout.trim();

  beforeAll(async () => {
    ({ dataDir, env } = await embeddedEnv('tollgate-owned-'));
    server = await startTollgate(env);
    base = `http://127.0.0.1:${env.PORT}`;
    graphqlUrl = `${base}/graphql`;
    const created = await gql(
      graphqlUrl,
      CreateProvider,
      { input: { slug: 'live', name: 'Live', baseUrl: 'https://api.example.com' } },
      await token('admin'),
    );
    expect(created.data?.createProvider.__typename).toBe('ProviderPayload');
    expect(JSON.parse(readFileSync(join(dataDir, 'pg-owner.json'), 'utf8'))).toMatchObject({
      pid: server.child.pid,
      role: 'server',
      port: Number(env.TOLLGATE_EMBEDDED_PG_PORT),
    });
  });
  afterAll(async () => {
    if (server) expect(await stopTollgate(server)).toBe(0);
    // The owner record goes with the cluster.
    expect(existsSync(join(dataDir, 'pg-owner.json'))).toBe(false);
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('config export reads the running server’s database and leaves it running', async () => {
    const before = postmasterPid();
    const result = await runCli(env, ['config', 'export']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('slug: live');
    expect(result.stdout).not.toContain('orphaned');
    expect(result.stderr).toContain(`Tollgate is running (pid ${server.child.pid})`);
    expect(postmasterPid()).toBe(before);
    expect(await readyz()).toBe(200);
  });

  it('config apply writes to the running server’s database: the server sees the change', async () => {
    const file = join(dataDir, 'apply.yaml');
    writeFileSync(
      file,
      'version: 1\nproviders:\n  - slug: applied\n    name: Applied\n    baseUrl: https://api.example.com/v1\n',
    );
    const before = postmasterPid();
    const result = await runCli(env, ['config', 'apply', file]);
    expect(result.stderr).not.toContain('orphaned');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/CREATE +providers? applied/);
    expect(result.stdout).toContain('Applied.');
    expect(postmasterPid()).toBe(before);
    expect(await readyz()).toBe(200);
    const read = await gql(graphqlUrl, GetProvider, { slug: 'applied' }, await token('viewer'));
    expect(read.data?.provider).toMatchObject({ slug: 'applied', name: 'Applied' });
  });

  it('migrate runs against the running server’s database (nothing pending) and leaves it running', async () => {
    const before = postmasterPid();
    const result = await runCli(env, ['migrate']);
    expect(result.stderr).not.toContain('orphaned');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('Database is up to date.');
    expect(postmasterPid()).toBe(before);
    expect(await readyz()).toBe(200);
  });

  it('a second start on the same data dir refuses at once, naming the running one; the first keeps serving', async () => {
    const before = postmasterPid();
    const otherPort = await freePort();
    const begun = Date.now();
    const second = spawn(process.execPath, ['src/main.ts'], {
      cwd: ROOT,
      // Its own HTTP port: the refusal must come from the data dir, not from EADDRINUSE.
      env: { ...env, PORT: String(otherPort) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    second.stdout.on('data', (d) => {
      output += d;
    });
    second.stderr.on('data', (d) => {
      output += d;
    });
    const code = await new Promise<number | null>((resolve) => second.on('exit', resolve));
    expect(code).toBe(1);
    expect(output).toContain(
      `Tollgate failed to start: Tollgate is already running (pid ${server.child.pid}) with the data directory ${dataDir}; stop it first`,
    );
    expect(output).not.toContain('orphaned');
    expect(Date.now() - begun).toBeLessThan(20_000);
    expect(postmasterPid()).toBe(before);
    expect(await readyz()).toBe(200);
    await expect(fetch(`http://127.0.0.1:${otherPort}/healthz`)).rejects.toThrow();
  });

  it('a second start with its own data dir on the busy embedded PostgreSQL port refuses, naming TOLLGATE_EMBEDDED_PG_PORT', async () => {
    const before = postmasterPid();
    const otherDataDir = mkdtempSync(join(tmpdir(), 'tollgate-busy-port-'));
    const second = spawn(process.execPath, ['src/main.ts'], {
      cwd: ROOT,
      // Same TOLLGATE_EMBEDDED_PG_PORT as the running one, everything else its own.
      env: { ...env, TOLLGATE_DATA_DIR: otherDataDir, PORT: String(await freePort()) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    second.stdout.on('data', (d) => {
      output += d;
    });
    second.stderr.on('data', (d) => {
      output += d;
    });
    const code = await new Promise<number | null>((resolve) => second.on('exit', resolve));
    rmSync(otherDataDir, { recursive: true, force: true });
    expect(code).toBe(1);
    expect(output).toContain(
      `Tollgate failed to start: Port ${env.TOLLGATE_EMBEDDED_PG_PORT} on 127.0.0.1, where the embedded PostgreSQL would listen, is already in use`,
    );
    expect(output).toContain('set TOLLGATE_EMBEDDED_PG_PORT to a free port');
    // PostgreSQL's own account of the failed bind is not what the operator gets.
    expect(output).not.toMatch(/could not (bind|create listen socket)|PostgreSQL said/);
    expect(postmasterPid()).toBe(before);
    expect(await readyz()).toBe(200);
  });
});

describe('npm start under a process manager', () => {
  it('SIGTERM to the npm process reaches Tollgate, which shuts down gracefully', async () => {
    const { dataDir, env } = await embeddedEnv('tollgate-npm-start-');
    try {
      // npm's own node is whichever comes first on PATH: the one running these tests.
      const npm = await startTollgate(
        { ...env, PATH: `${join(process.execPath, '..')}:${env.PATH ?? ''}` },
        'npm',
        ['start'],
      );
      expect(await readyzOf(env)).toBe(200);
      expect(await stopTollgate(npm)).toBe(0);
      expect(npm.output()).toContain('"msg":"stopped"');
      await expect(fetch(`http://127.0.0.1:${env.PORT}/healthz`)).rejects.toThrow();
      // Tollgate stopped its PostgreSQL on the way out.
      expect(existsSync(join(dataDir, 'pg', 'postmaster.pid'))).toBe(false);
    } finally {
      // Should SIGTERM not have reached it, Tollgate would still run: stop it (its pid is in the
      // owner record) rather than leave it behind.
      const owner = join(dataDir, 'pg-owner.json');
      if (existsSync(owner)) {
        const { pid } = JSON.parse(readFileSync(owner, 'utf8')) as { pid: number };
        try {
          process.kill(pid, 'SIGTERM');
          await expect.poll(() => existsSync(owner), { timeout: 15_000 }).toBe(false);
        } catch {
          // Already gone.
        }
      }
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

async function readyzOf(env: NodeJS.ProcessEnv): Promise<number> {
  return (await fetch(`http://127.0.0.1:${env.PORT}/readyz`)).status;
}
