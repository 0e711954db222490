import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { CONFIG_VARIABLES, loadConfig } from '../src/config.ts';

/** No Docker engine runs here, so the compose file is checked against the config it feeds. */
const compose = parse(readFileSync(new URL('../docker-compose.yml', import.meta.url), 'utf8')) as {
  services: Record<
    string,
    { environment?: Record<string, string>; build?: string; depends_on?: Record<string, unknown> }
  >;
};
const dockerfile = readFileSync(new URL('../Dockerfile', import.meta.url), 'utf8');

describe('docker-compose.yml', () => {
  const tollgate = compose.services.tollgate;

  it('runs PostgreSQL, Redis and Tollgate built from the repository', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['postgres', 'redis', 'tollgate']);
    expect(tollgate?.build).toBe('.');
    expect(Object.keys(tollgate?.depends_on ?? {}).sort()).toEqual(['postgres', 'redis']);
  });

  it('sets only variables that the config accepts', () => {
    const set = Object.keys(tollgate?.environment ?? {});
    expect(set.length).toBeGreaterThan(0);
    expect(set.filter((name) => !CONFIG_VARIABLES.includes(name))).toEqual([]);
    const fromDockerfile = [
      ...dockerfile.matchAll(/^\s+([A-Z_]+)=/gm),
      ...dockerfile.matchAll(/ENV ([A-Z_]+)=/g),
    ].map((m) => m[1]);
    expect(fromDockerfile.filter((name) => name && !CONFIG_VARIABLES.includes(name))).toEqual([]);
  });

  it('yields a valid configuration once its variable placeholders are filled', () => {
    const env = Object.fromEntries(
      Object.entries(tollgate?.environment ?? {}).map(([name, value]) => [
        name,
        String(value)
          .replace(/\$\{POSTGRES_PASSWORD[^}]*\}/g, 'pw')
          .replace(/\$\{TOLLGATE_JWT_SECRET[^}]*\}/g, 'x'.repeat(48))
          .replace(/\$\{TOLLGATE_MASTER_KEYS[^}]*\}/g, `k1:${Buffer.alloc(32).toString('base64')}`),
      ]),
    );
    const config = loadConfig(env);
    expect(config.database.url).toBe('postgres://tollgate:pw@postgres:5432/tollgate');
    expect(config.redis.url).toBe('redis://redis:6379');
    expect(config.http).toMatchObject({ host: '0.0.0.0', port: 4000 });
  });

  it('bakes in no secret', () => {
    expect(JSON.stringify(tollgate?.environment)).toMatch(/\$\{TOLLGATE_JWT_SECRET:\?/);
    expect(JSON.stringify(tollgate?.environment)).toMatch(/\$\{TOLLGATE_MASTER_KEYS:\?/);
    expect(dockerfile).not.toMatch(/SECRET|PASSWORD/);
  });
});
