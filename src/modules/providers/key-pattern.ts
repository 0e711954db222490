/**
 * Provider key patterns are regular expressions written by admins and run by the gateway's one
 * event loop. A backtracking engine can take exponential time on a pattern such as `^(a+)+$`, and
 * while it runs nothing else is served (probes and the proxy included). Deciding exactly which
 * patterns backtrack badly is hard; this check is deliberately conservative and refuses the shapes
 * that cause it: a repeated group that contains a quantifier or an alternation (`(a+)+`,
 * `(a|a)*`, `(\w?){20}`) and backreferences. What a key pattern needs (a prefix and a character
 * class with a length: `^sk-[A-Za-z0-9_-]{20,}$`) never has those shapes.
 */

/** Strings tested against a key pattern are never longer than this (a bound on polynomial cases too). */
export const MAX_PATTERN_INPUT = 1024;

interface Group {
  quantified: boolean;
  alternation: boolean;
}

/** Why a pattern may backtrack catastrophically, or undefined when its shape is safe. */
export function riskyPatternReason(pattern: string): string | undefined {
  const stack: Group[] = [{ quantified: false, alternation: false }];
  const current = () => stack[stack.length - 1] as Group;
  let i = 0;
  while (i < pattern.length) {
    const c = pattern[i];
    if (c === '\\') {
      const next = pattern[i + 1] ?? '';
      if (/[1-9]/.test(next) || (next === 'k' && pattern[i + 2] === '<')) {
        return 'must not use backreferences (they can take exponential time)';
      }
      i += 2;
      // \u{...}, \p{...}, \P{...}: the braces belong to the escape, not a quantifier.
      if ('upP'.includes(next) && pattern[i] === '{') i = skipPast(pattern, i, '}');
      i = afterQuantifier(pattern, i, current());
      continue;
    }
    if (c === '[') {
      i = skipClass(pattern, i + 1);
      i = afterQuantifier(pattern, i, current());
      continue;
    }
    if (c === '(') {
      stack.push({ quantified: false, alternation: false });
      i++;
      // (?:  (?=  (?!  (?<=  (?<!  (?<name>: the ? here is syntax, not a quantifier.
      if (pattern[i] === '?') {
        i++;
        if (pattern[i] === '<' && pattern[i + 1] !== '=' && pattern[i + 1] !== '!')
          i = skipPast(pattern, i, '>');
        else i += pattern[i] === '<' ? 2 : 1;
      }
      continue;
    }
    if (c === ')') {
      const group = stack.length > 1 ? (stack.pop() as Group) : { quantified: false, alternation: false };
      const repeat = quantifierAt(pattern, i + 1);
      if (repeat?.repeats && (group.quantified || group.alternation)) {
        return 'must not repeat a group that contains a quantifier or an alternation, such as (a+)+ or (a|b)* (it can take exponential time); use one character class with one quantifier, e.g. [a-z0-9]+';
      }
      const parent = current();
      parent.quantified ||= group.quantified || repeat !== undefined;
      parent.alternation ||= group.alternation;
      i = repeat ? repeat.end : i + 1;
      continue;
    }
    if (c === '|') current().alternation = true;
    i = afterQuantifier(pattern, i + 1, current());
  }
  return undefined;
}

/** Tests a secret against a key pattern, never on more than MAX_PATTERN_INPUT characters. */
export function matchesKeyPattern(pattern: string, value: string): boolean {
  if (value.length > MAX_PATTERN_INPUT) return false;
  return new RegExp(pattern, 'u').test(value);
}

/** Marks the group as holding a quantifier when one follows the atom ending before `i`. */
function afterQuantifier(pattern: string, i: number, group: Group): number {
  const q = quantifierAt(pattern, i);
  if (!q) return i;
  group.quantified = true;
  return q.end;
}

/** The quantifier starting at `i` (with its lazy `?`), and whether it allows more than one repetition. */
function quantifierAt(pattern: string, i: number): { end: number; repeats: boolean } | undefined {
  const c = pattern[i];
  let end: number;
  let repeats: boolean;
  if (c === '*' || c === '+') {
    end = i + 1;
    repeats = true;
  } else if (c === '?') {
    end = i + 1;
    repeats = false;
  } else if (c === '{') {
    const m = /^\{(\d+)(,(\d*))?\}/.exec(pattern.slice(i));
    if (!m) return undefined;
    end = i + m[0].length;
    const min = Number(m[1]);
    const max = m[2] === undefined ? min : m[3] === '' ? Number.POSITIVE_INFINITY : Number(m[3]);
    repeats = max > 1;
  } else {
    return undefined;
  }
  if (pattern[end] === '?') end++;
  return { end, repeats };
}

function skipClass(pattern: string, i: number): number {
  while (i < pattern.length && pattern[i] !== ']') i += pattern[i] === '\\' ? 2 : 1;
  return i + 1;
}

function skipPast(pattern: string, i: number, close: string): number {
  const at = pattern.indexOf(close, i);
  return at < 0 ? pattern.length : at + 1;
}
