import { gzipSync } from 'node:zlib';
import type { Plugin, Rolldown } from 'vite';

type OutputBundle = Rolldown.OutputBundle;
type OutputChunk = Rolldown.OutputChunk;

/** The budget for the JavaScript a first visit downloads before anything is shown. */
export const INITIAL_JS_BUDGET_BYTES = 250 * 1024;

/** The entry chunk and every chunk it imports statically: what the browser must load first. */
export function initialChunks(bundle: OutputBundle): OutputChunk[] {
  const chunks = Object.values(bundle).filter((o): o is OutputChunk => o.type === 'chunk');
  const byName = new Map(chunks.map((c) => [c.fileName, c]));
  const seen = new Set<string>();
  const visit = (chunk: OutputChunk) => {
    if (seen.has(chunk.fileName)) return;
    seen.add(chunk.fileName);
    for (const name of chunk.imports) {
      const imported = byName.get(name);
      if (imported) visit(imported);
    }
  };
  for (const chunk of chunks) if (chunk.isEntry) visit(chunk);
  return [...seen].map((name) => byName.get(name)!);
}

const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`;

/**
 * Prints the console's initial JavaScript, gzipped, after every build, and fails the build when it
 * is over budget (lazy pages and their chart library are not counted: they load on navigation).
 */
export function initialSizeReport(): Plugin {
  return {
    name: 'tollgate-initial-size',
    apply: 'build',
    generateBundle(_options, bundle) {
      const initial = initialChunks(bundle as OutputBundle);
      const gzipped = initial.reduce((sum, c) => sum + gzipSync(c.code, { level: 9 }).length, 0);
      const lazy = Object.values(bundle).filter((o) => o.type === 'chunk').length - initial.length;
      const line = `console: initial JS ${kb(gzipped)} gzipped in ${initial.length} file(s), budget ${kb(INITIAL_JS_BUDGET_BYTES)}; ${lazy} lazy chunk(s)`;
      process.stdout.write(`\n${line}\n`);
      this.emitFile({
        type: 'asset',
        fileName: 'build-report.json',
        source: JSON.stringify(
          { initialJsGzipBytes: gzipped, files: initial.map((c) => c.fileName) },
          null,
          2,
        ),
      });
      if (gzipped > INITIAL_JS_BUDGET_BYTES) this.error(`${line}: over budget`);
    },
  };
}
