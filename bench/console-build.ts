import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../', import.meta.url));

function newestMtime(path: string): number {
  if (!statSync(path).isDirectory()) return statSync(path).mtimeMs;
  let newest = 0;
  for (const entry of readdirSync(path)) newest = Math.max(newest, newestMtime(join(path, entry)));
  return newest;
}

/** Builds the console when console/dist is missing or older than its sources (never measure an old build). */
export function buildConsoleIfStale(): void {
  const index = join(ROOT, 'console/dist/index.html');
  const sources = [
    'console/src',
    'console/index.html',
    'console/vite.config.ts',
    'console/graphql-documents.ts',
  ].map((p) => join(ROOT, p));
  if (existsSync(index) && sources.every((s) => newestMtime(s) <= statSync(index).mtimeMs)) return;
  const build = spawnSync('npm', ['run', '--silent', 'build:console'], { cwd: ROOT, encoding: 'utf8' });
  if (build.status !== 0) throw new Error(`npm run build:console failed:\n${build.stdout}\n${build.stderr}`);
}
