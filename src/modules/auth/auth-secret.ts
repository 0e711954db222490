import { join } from 'node:path';
import type { AuthConfig, Config } from '../../config.ts';
import { ensureGeneratedSecret } from '../../shared/secret-file.ts';

export const GENERATED_JWT_SECRET_FILE = 'jwt-secret';

/**
 * Completes the auth settings. A configured secret or JWKS is used as given; on the embedded
 * default with neither, a random secret is generated into the data dir (0600) once and reused,
 * so the server and the `tollgate token` CLI agree. (config.ts already refused an external
 * database without a secret: authentication is never silently disabled.)
 */
export function resolveAuthSecret(config: Config): {
  auth: AuthConfig;
  generatedPath: string | undefined;
  created: boolean;
} {
  const auth = config.auth;
  if (auth.mode === 'jwks' || auth.secret) return { auth, generatedPath: undefined, created: false };
  const path = join(config.dataDir, GENERATED_JWT_SECRET_FILE);
  const { value, created } = ensureGeneratedSecret(path);
  return { auth: Object.freeze({ ...auth, secret: value }), generatedPath: path, created };
}
