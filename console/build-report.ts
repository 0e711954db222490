import { gzipSync } from 'node:zlib';
import type { Plugin, Rolldown } from 'vite';

type OutputBundle = Rolldown.OutputBundle;
type OutputChunk = Rolldown.OutputChunk;

/** The budget for the JavaScript a first visit downloads before anything is shown. */
export const INITIAL_JS_BUDGET_BYTES = 250 * 1024;

/**
 * The entry chunk, the application it imports at once (main.tsx's dynamic import, after sending
 * the first queries) and every chunk those import statically: what the browser must load first.
 */
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
  for (const chunk of chunks) {
    if (!chunk.isEntry) continue;
    visit(chunk);
    for (const name of chunk.dynamicImports) {
      const imported = byName.get(name);
      if (imported) visit(imported);
    }
  }
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

/**
 * Asks the browser for the application (the chunk main.tsx imports once it has sent the first
 * queries) together with the entry: `<link rel="modulepreload">` in index.html, so that its
 * download and compilation start at once instead of after the entry has run.
 */
export function preloadApplication(): Plugin {
  return {
    name: 'tollgate-preload-application',
    apply: 'build',
    transformIndexHtml: {
      order: 'post',
      handler(_html, ctx) {
        const bundle = ctx.bundle as OutputBundle | undefined;
        if (!bundle) return [];
        const chunks = Object.values(bundle).filter((o): o is OutputChunk => o.type === 'chunk');
        const entry = chunks.find((c) => c.isEntry);
        if (!entry) return [];
        const base = '/console/';
        const tags: { tag: string; attrs: Record<string, string | boolean>; injectTo: 'head' }[] = [];
        for (const name of entry.dynamicImports) {
          const chunk = bundle[name] as OutputChunk | undefined;
          if (!chunk) continue;
          tags.push({
            tag: 'link',
            attrs: { rel: 'modulepreload', crossorigin: true, href: `${base}${name}` },
            injectTo: 'head',
          });
          const css = (chunk as OutputChunk & { viteMetadata?: { importedCss: Set<string> } }).viteMetadata
            ?.importedCss;
          for (const file of css ?? []) {
            tags.push({
              tag: 'link',
              attrs: { rel: 'stylesheet', crossorigin: true, href: `${base}${file}` },
              injectTo: 'head',
            });
          }
        }
        return tags;
      },
    },
  };
}
