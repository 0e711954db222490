import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { type Config, ConfigError, type MasterKey, parseMasterKeys } from '../../config.ts';

export const GENERATED_MASTER_KEYS_FILE = 'master-keys';

/**
 * The master keys to use. Configured ones win; on the embedded default with none configured,
 * one is generated into the data dir (0600) on first start and reused after, and the caller
 * warns that it should be backed up. (config.ts refused an external database without keys.)
 */
export function resolveMasterKeys(config: Config): {
  keys: MasterKey[];
  generatedPath: string | undefined;
  created: boolean;
} {
  if (config.vault.masterKeys)
    return { keys: config.vault.masterKeys, generatedPath: undefined, created: false };
  const path = join(config.dataDir, GENERATED_MASTER_KEYS_FILE);
  let created = false;
  if (!existsSync(path)) {
    mkdirSync(dirname(path), { recursive: true, mode: 0o711 });
    try {
      writeFileSync(path, `k1:${randomBytes(32).toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
      created = true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  }
  const problems: string[] = [];
  const keys = parseMasterKeys(readFileSync(path, 'utf8'), path, problems);
  if (problems.length > 0) throw new ConfigError(problems);
  return { keys, generatedPath: path, created };
}
