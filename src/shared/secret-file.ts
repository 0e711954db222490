import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * Reads a generated secret from `path`, creating it (mode 0600, in a 0700 folder) on first use.
 * Returns whether it was created so start-up can say so. Used only on the embedded default.
 */
export function ensureGeneratedSecret(path: string, bytes = 48): { value: string; created: boolean } {
  if (existsSync(path)) {
    const mode = statSync(path).mode & 0o777;
    if (mode & 0o077) chmodSync(path, 0o600);
    return { value: readFileSync(path, 'utf8').trim(), created: false };
  }
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const value = randomBytes(bytes).toString('base64url');
  // 'wx' fails if another process created the file in the meantime; then read theirs.
  try {
    writeFileSync(path, `${value}\n`, { mode: 0o600, flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
      return { value: readFileSync(path, 'utf8').trim(), created: false };
    }
    throw error;
  }
  return { value, created: true };
}
