import { fileURLToPath, pathToFileURL } from 'node:url';
import { type DocumentNode, parse } from 'graphql';
import type { Plugin } from 'vite';

/** The codegen client preset's output for the console (codegen.ts). */
const ARTIFACTS = fileURLToPath(new URL('./src/gql/', import.meta.url));
const GENERATED = `${ARTIFACTS}graphql.ts`;
const PREFIX = 'virtual:tollgate-document/';

/** A document's key: its first definition (the operation, or the fragment), as codegen names it. */
const keyOf = (document: DocumentNode) => {
  const first = document.definitions[0];
  return first && 'name' in first && first.name ? `${first.kind}:${first.name.value}` : undefined;
};

/** A `graphql(` call with a plain template literal (codegen allows no interpolation). */
const CALL = /\bgraphql\(\s*`([^`]*)`\s*\)/g;

/**
 * Replaces every `graphql(`...`)` call of the console's code, in a build, with that one
 * document, each in a module of its own. Without it, `graphql()` looks documents up in gql.ts's
 * map of every operation of every page: a map no bundler can tree-shake, and gql/graphql.ts is a
 * single module, so all the console's documents (~100 KB) ended up in the entry chunk, parsed and
 * run before the first query could be sent. This is what the client preset's Babel plugin does
 * (its documentation's "reducing bundle size"), one module per document so that each chunk
 * carries only the documents its code uses. The documents are codegen's own (gql/graphql.ts),
 * so the types of `graphql()` and what is sent cannot differ; a call codegen has not seen fails
 * the build (run `npm run codegen`). The development server keeps gql.ts's map (always fresh).
 */
export function graphqlDocuments(): Plugin {
  const exportFor = new Map<string, string>();
  let generated: Record<string, unknown> = {};
  return {
    name: 'tollgate-graphql-documents',
    apply: 'build',
    enforce: 'pre',
    async buildStart() {
      generated = (await import(`${pathToFileURL(GENERATED).href}?at=${Date.now()}`)) as Record<
        string,
        unknown
      >;
      exportFor.clear();
      for (const [name, value] of Object.entries(generated)) {
        if (!value || typeof value !== 'object' || !('definitions' in value)) continue;
        // An operation's document lists the fragments it spreads after the operation itself.
        const key = keyOf(value as DocumentNode);
        if (key && !exportFor.has(key)) exportFor.set(key, name);
      }
    },
    resolveId(id) {
      return id.startsWith(PREFIX) ? `\0${id}` : null;
    },
    load(id) {
      if (!id.startsWith(`\0${PREFIX}`)) return null;
      const document = generated[id.slice(PREFIX.length + 1)];
      // JSON.parse of a string is faster for V8 than evaluating the same object literal.
      return `export default /* @__PURE__ */ JSON.parse(${JSON.stringify(JSON.stringify(document))});\n`;
    },
    transform(code, id) {
      const file = id.split('?')[0]!;
      if (!/\.tsx?$/.test(file) || file.startsWith(ARTIFACTS) || !code.includes('graphql(')) return null;
      const imports = new Map<string, string>();
      const replaced = code.replace(CALL, (_call, source: string) => {
        const key = keyOf(parse(source, { noLocation: true }));
        const name = key && exportFor.get(key);
        if (!name)
          this.error(
            `${file}: no generated document for ${key ?? 'an unnamed document'}; run \`npm run codegen\``,
          );
        const local = `__document_${name}`;
        imports.set(local, `${PREFIX}${name}`);
        return local;
      });
      if (imports.size === 0) return null;
      const header = [...imports]
        .map(([local, from]) => `import ${local} from ${JSON.stringify(from)};`)
        .join('');
      // Prepended on the first line, so that the lines (and the source map) stay as they were.
      return { code: header + replaced, map: null };
    },
  };
}
