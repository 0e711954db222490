import { isNode, LineCounter, parseDocument } from 'yaml';

export interface LocatedError {
  /** providers[0].baseUrl */
  where: string;
  message: string;
  /** 1-based line in the document, when the path leads somewhere in it. */
  line: number | null;
  /** Offset of that line's start, to put the cursor there. */
  offset: number | null;
}

/** ['document', 'providers', '0', 'baseUrl'] → providers[0].baseUrl */
function pathText(path: readonly string[]): string {
  let out = '';
  for (const part of path) out += /^\d+$/.test(part) ? `[${part}]` : out ? `.${part}` : part;
  return out || '(the document)';
}

/**
 * Puts each of importConfig's field errors (paths under `document`) on the line of the document it
 * is about: the deepest node of its path that exists (a missing field points at its parent).
 */
export function locateErrors(text: string, errors: readonly { path: readonly string[]; message: string }[]) {
  const counter = new LineCounter();
  let doc: ReturnType<typeof parseDocument> | null = null;
  try {
    doc = parseDocument(text, { lineCounter: counter });
  } catch {
    doc = null;
  }
  return errors.map((error): LocatedError => {
    const path = error.path[0] === 'document' ? error.path.slice(1) : [...error.path];
    const yamlLine = /\(line (\d+)\)/.exec(error.message);
    let line: number | null = yamlLine ? Number(yamlLine[1]) : null;
    let offset: number | null = null;
    if (doc && line === null) {
      const keys = path.map((p) => (/^\d+$/.test(p) ? Number(p) : p));
      for (let depth = keys.length; depth > 0 && line === null; depth--) {
        const node = doc.getIn(keys.slice(0, depth), true);
        if (isNode(node) && node.range) {
          offset = node.range[0];
          line = counter.linePos(offset).line;
        }
      }
    }
    if (line !== null && offset === null) {
      offset = counter.lineStarts[line - 1] ?? null;
    } else if (line !== null) {
      offset = counter.lineStarts[line - 1] ?? offset;
    }
    return { where: pathText(path), message: error.message, line, offset };
  });
}
