import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.ts';

const problemsOf = (env: Record<string, string>) => {
  try {
    loadConfig(env, '/srv');
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
};

describe('loadConfig', () => {
  it('applies the documented defaults for the embedded default', () => {
    const config = loadConfig({}, '/srv/tollgate');
    expect(config.http).toMatchObject({ host: '127.0.0.1', port: 4000 });
    expect(config.database).toMatchObject({ url: undefined, embeddedPort: 5488 });
    expect(config.redis.url).toBeUndefined();
    expect(config.dataDir).toBe('/srv/tollgate/.tollgate');
    expect(config.logLevel).toBe('info');
    expect(config.auth).toMatchObject({
      mode: 'hs256',
      secret: undefined,
      issuer: 'tollgate',
      audience: 'tollgate',
    });
    expect(Object.isFrozen(config.auth)).toBe(true);
  });

  it('reports every bad variable at once, by name', () => {
    const problems = problemsOf({
      PORT: '99999',
      LOG_LEVEL: 'loud',
      DATABASE_URL: 'mysql://db',
      REDIS_URL: 'http://x',
      TOLLGATE_GRAPHIQL: 'maybe',
    });
    const names = problems.map((p) => p.split(':')[0]);
    expect(names).toEqual(
      expect.arrayContaining(['PORT', 'LOG_LEVEL', 'DATABASE_URL', 'REDIS_URL', 'TOLLGATE_GRAPHIQL']),
    );
  });

  it('defaults the API protection settings, and parses and checks them', () => {
    expect(loadConfig({}, '/srv').apiProtection).toEqual({
      introspection: 'operators',
      batchLimit: 0,
      maxBodyBytes: 1024 * 1024,
      rateLimit: { points: 1200, windowMs: 60_000 },
      authFailureLimit: { points: 30, windowMs: 300_000 },
      allowedOrigins: [],
      wsInitTimeoutMs: 3000,
      wsMaxConnectionsPerOperator: 50,
    });
    const configured = loadConfig(
      {
        TOLLGATE_GRAPHQL_INTROSPECTION: 'off',
        TOLLGATE_ALLOWED_ORIGINS: 'https://console.example.com/, http://localhost:5173',
        TOLLGATE_GRAPHQL_BATCH_LIMIT: '5',
      },
      '/srv',
    ).apiProtection;
    expect(configured).toMatchObject({
      introspection: 'off',
      batchLimit: 5,
      allowedOrigins: ['https://console.example.com', 'http://localhost:5173'],
    });
    const problems = problemsOf({
      TOLLGATE_GRAPHQL_INTROSPECTION: 'everyone',
      TOLLGATE_ALLOWED_ORIGINS: 'console.example.com',
      TOLLGATE_GRAPHQL_BATCH_LIMIT: '1000',
      TOLLGATE_GRAPHQL_RATE_LIMIT: '-1',
    });
    expect(problems.map((p) => p.split(':')[0]).sort()).toEqual([
      'TOLLGATE_ALLOWED_ORIGINS',
      'TOLLGATE_GRAPHQL_BATCH_LIMIT',
      'TOLLGATE_GRAPHQL_INTROSPECTION',
      'TOLLGATE_GRAPHQL_RATE_LIMIT',
    ]);
  });

  it('refuses an external database without a JWT secret or master keys: never silently insecure', () => {
    const problems = problemsOf({ DATABASE_URL: 'postgres://u:p@db:5432/tollgate' });
    expect(problems).toEqual([
      expect.stringMatching(/^TOLLGATE_JWT_SECRET: required with an external DATABASE_URL/),
      expect.stringMatching(/^TOLLGATE_MASTER_KEYS: required with an external DATABASE_URL/),
    ]);
  });

  it('parses master keys (first is current) and names bad entries without echoing key material', () => {
    const k = (n: number) => Buffer.alloc(32, n).toString('base64');
    const config = loadConfig({ TOLLGATE_MASTER_KEYS: `new:${k(1)}, old:${k(2)}` });
    expect(config.vault.masterKeys?.map((m) => m.kid)).toEqual(['new', 'old']);
    const short = Buffer.alloc(16, 3).toString('base64');
    const problems = problemsOf({
      TOLLGATE_MASTER_KEYS: `a:${short},bad kid:${k(1)},a:${k(1)},b:${k(1)},b:${k(2)}`,
    });
    expect(problems).toEqual([
      expect.stringContaining('key "a" must be 32 bytes'),
      expect.stringContaining('entry 2 must look like kid:base64key'),
      expect.stringContaining('kid "b" is listed twice'),
    ]);
    expect(problems.join()).not.toContain(short);
  });

  it('collects development provider keys from TOLLGATE_PROVIDER_KEY_<SLUG>', () => {
    const config = loadConfig({ TOLLGATE_PROVIDER_KEY_CISA_KEV: 'dev-key' });
    expect(config.vault.providerEnvKeys).toEqual({ TOLLGATE_PROVIDER_KEY_CISA_KEV: 'dev-key' });
  });

  it('refuses a short secret without echoing it', () => {
    const problems = problemsOf({ TOLLGATE_JWT_SECRET: 'short-secret-value' });
    expect(problems[0]).toMatch(/^TOLLGATE_JWT_SECRET: must be at least 32 bytes/);
    expect(problems.join('\n')).not.toContain('short-secret-value');
  });

  it('reads the secret from a file, and names the file when it cannot', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cfg-'));
    const file = join(dir, 'secret');
    writeFileSync(file, `${'s'.repeat(40)}\n`);
    chmodSync(file, 0o600);
    expect(loadConfig({ TOLLGATE_JWT_SECRET_FILE: file }).auth).toMatchObject({ secret: 's'.repeat(40) });
    expect(problemsOf({ TOLLGATE_JWT_SECRET_FILE: join(dir, 'missing') })[0]).toMatch(
      /^TOLLGATE_JWT_SECRET_FILE: cannot read/,
    );
  });

  it('configures JWKS with issuer, audience and an asymmetric algorithm allow-list', () => {
    const config = loadConfig({
      TOLLGATE_JWKS_URL: 'https://idp.example.com/.well-known/jwks.json',
      TOLLGATE_JWT_ISSUER: 'https://idp.example.com/',
      TOLLGATE_JWT_AUDIENCE: 'tollgate',
      DATABASE_URL: 'postgres://db/tollgate',
      TOLLGATE_MASTER_KEYS: `k1:${Buffer.alloc(32).toString('base64')}`,
    });
    expect(config.auth).toMatchObject({ mode: 'jwks', algorithms: ['RS256', 'ES256', 'PS256', 'EdDSA'] });
    const problems = problemsOf({
      TOLLGATE_JWKS_URL: 'https://idp.example.com/jwks',
      TOLLGATE_JWT_ALGORITHMS: 'HS256,none',
    });
    expect(problems.map((p) => p.split(':')[0])).toEqual(
      expect.arrayContaining(['TOLLGATE_JWT_ISSUER', 'TOLLGATE_JWT_AUDIENCE', 'TOLLGATE_JWT_ALGORITHMS']),
    );
  });
});
