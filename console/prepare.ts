// `npm install`'s prepare step: builds the console when its build tools are installed. A
// production install (`npm install --omit=dev`, the Docker runtime stage) has none and skips
// it: there the console comes prebuilt (the Dockerfile's build stage) or is not served.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
if (!existsSync(`${root}node_modules/vite/package.json`)) {
  process.stdout.write('console: vite is not installed (production install); not building the console.\n');
  process.exit(0);
}
const build = spawnSync('npm', ['run', '--silent', 'build:console'], { cwd: root, stdio: 'inherit' });
process.exit(build.status ?? 1);
