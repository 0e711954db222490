import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateProvider, GetProvider } from './documents.ts';
import { gql } from './helpers/graphql.ts';
import { freePort } from './helpers/ports.ts';
import { ROOT, startTollgate, stopTollgate } from './helpers/tollgate-process.ts';

/**
 * The README's start command, run as a user would: `node src/main.ts` with no DATABASE_URL and
 * no secrets, so Tollgate starts its embedded PostgreSQL and generates its own JWT secret.
 */
const run = promisify(execFile);

let dataDir: string;
let env: NodeJS.ProcessEnv;

const start = () => startTollgate(env);
const stop = stopTollgate;

async function mintToken(role: string): Promise<string> {
  const { stdout } = await run(
    process.execPath,
    ['src/cli/main.ts', 'token', '--role', role, '--ttl', '10m'],
    { cwd: ROOT, env },
  );
  return stdout.trim();
}

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'tollgate-embedded-'));
  const { DATABASE_URL: _db, TOLLGATE_JWT_SECRET: _secret, REDIS_URL: _redis, ...rest } = process.env;
  env = {
    ...rest,
    TOLLGATE_DATA_DIR: dataDir,
    PORT: String(await freePort()),
    TOLLGATE_EMBEDDED_PG_PORT: String(await freePort()),
    LOG_LEVEL: 'info',
  };
});
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

describe('the embedded default (README start command)', () => {
  it('starts on embedded PostgreSQL, generates a 0600 secret, serves, stops cleanly, and keeps data across restarts', async () => {
    const first = await start();
    console.log(`cold start (initdb + migrations) ready in ${first.readyMs} ms`);
    const output = first.output();
    expect(output).toContain(`http://127.0.0.1:${env.PORT}/graphql`);
    expect(output).toContain('embedded PostgreSQL');
    expect(output).toContain('npm run token -- --role admin');
    expect(statSync(join(dataDir, 'jwt-secret')).mode & 0o777).toBe(0o600);
    expect(statSync(join(dataDir, 'master-keys')).mode & 0o777).toBe(0o600);
    expect(output).toMatch(new RegExp(`WARNING: +generated a master key in ${join(dataDir, 'master-keys')}`));

    const url = `http://127.0.0.1:${env.PORT}/graphql`;
    const admin = await mintToken('admin');
    const created = await gql(
      url,
      CreateProvider,
      { input: { slug: 'kev', name: 'CISA KEV', baseUrl: 'https://www.cisa.gov' } },
      admin,
    );
    expect(created.data?.createProvider.__typename).toBe('ProviderPayload');
    // Nothing secret in what the process printed.
    const secret = (await import('node:fs')).readFileSync(join(dataDir, 'jwt-secret'), 'utf8').trim();
    expect(first.output()).not.toContain(secret);
    expect(first.output()).not.toContain(admin);

    expect(existsSync(join(dataDir, 'pg-owner.json'))).toBe(true);
    expect(await stop(first)).toBe(0);
    expect(existsSync(join(dataDir, 'pg', 'postmaster.pid'))).toBe(false);
    expect(existsSync(join(dataDir, 'pg-owner.json'))).toBe(false);

    const second = await start();
    console.log(`warm start ready in ${second.readyMs} ms`);
    expect(second.output()).not.toMatch(/WARNING: +generated a master key/);
    expect(second.readyMs).toBeLessThan(30_000);
    const read = await gql(url, GetProvider, { slug: 'kev' }, await mintToken('viewer'));
    expect(read.data?.provider).toMatchObject({ slug: 'kev', name: 'CISA KEV' });
    expect(await stop(second)).toBe(0);
  });

  it('recovers after being killed with SIGKILL (the orphaned PostgreSQL is stopped and restarted)', async () => {
    const first = await start();
    first.child.removeAllListeners('exit');
    const exited = new Promise((resolve) => first.child.on('exit', resolve));
    first.child.kill('SIGKILL');
    await exited;
    // The cluster outlived its parent and still holds the data dir; the owner record names a
    // process that is gone.
    expect(existsSync(join(dataDir, 'pg', 'postmaster.pid'))).toBe(true);
    expect(existsSync(join(dataDir, 'pg-owner.json'))).toBe(true);

    const second = await start();
    expect(second.output()).toContain('orphaned embedded PostgreSQL');
    const url = `http://127.0.0.1:${env.PORT}/graphql`;
    const read = await gql(url, GetProvider, { slug: 'kev' }, await mintToken('viewer'));
    expect(read.data?.provider?.slug).toBe('kev');
    expect(await stop(second)).toBe(0);
  });

  it('refuses to start with a clear message when configuration is wrong', async () => {
    const result = await run(process.execPath, ['src/main.ts'], {
      cwd: ROOT,
      env: { ...env, PORT: 'eighty', DATABASE_URL: 'mysql://x', LOG_LEVEL: 'loud' },
    }).catch((error: { code: number; stderr: string }) => error);
    expect('code' in result && result.code).toBe(1);
    const stderr = (result as { stderr: string }).stderr;
    expect(stderr).toContain('PORT');
    expect(stderr).toContain('DATABASE_URL');
    expect(stderr).toContain('LOG_LEVEL');
    expect(stderr).not.toMatch(/\n\s+at /);
  });
});
