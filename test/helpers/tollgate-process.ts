import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';

/** The repository root: real processes run from here, as a user runs them. */
export const ROOT = new URL('../..', import.meta.url).pathname;
const execFileAsync = promisify(execFile);

export interface RunningTollgate {
  child: ChildProcess;
  output: () => string;
  readyMs: number;
}

/**
 * Starts `command args` (by default `node src/main.ts`) in the repository root with `env` and
 * waits for "Tollgate is ready" (30 s at most).
 */
export async function startTollgate(
  env: NodeJS.ProcessEnv,
  command: string = process.execPath,
  args: string[] = ['src/main.ts'],
): Promise<RunningTollgate> {
  const begun = Date.now();
  const child = spawn(command, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (d) => {
    output += d;
  });
  child.stderr!.on('data', (d) => {
    output += d;
  });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`not ready after 30 s:\n${output}`)), 30_000);
    const check = () => {
      if (output.includes('Tollgate is ready')) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stderr!.on('data', check);
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited with ${code}:\n${output}`));
    });
  });
  return { child, output: () => output, readyMs: Date.now() - begun };
}

/** Sends `signal` (SIGTERM by default) and resolves with the exit code. */
export function stopTollgate(
  running: RunningTollgate,
  signal: NodeJS.Signals = 'SIGTERM',
): Promise<number | null> {
  return new Promise((resolve) => {
    running.child.removeAllListeners('exit');
    if (running.child.exitCode !== null) return resolve(running.child.exitCode);
    running.child.on('exit', (code) => resolve(code));
    running.child.kill(signal);
  });
}

/** Runs the CLI (`node src/cli/main.ts ...args`) to its end; never rejects. */
export async function runCli(
  env: NodeJS.ProcessEnv,
  args: string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await execFileAsync(process.execPath, ['src/cli/main.ts', ...args], {
      cwd: ROOT,
      env,
      timeout: 60_000,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}
