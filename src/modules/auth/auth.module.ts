import type { Config } from '../../config.ts';
import { resolveAuthSecret } from './auth-secret.ts';
import { TokenService } from './token.service.ts';

/** Operator tokens: the signing secret (generated under the data dir when none is configured). */
export function authModule(config: Config): {
  tokens: TokenService;
  generatedSecretPath: string | undefined;
} {
  const { auth, generatedPath } = resolveAuthSecret(config);
  return { tokens: new TokenService(auth), generatedSecretPath: generatedPath };
}
