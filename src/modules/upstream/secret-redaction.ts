/**
 * Finding a provider key in upstream response header values, however the upstream encoded it.
 *
 * The values are decoded before matching rather than compared with a list of spellings: an
 * upstream (or a proxy or URL library in front of it) may percent-encode any subset of the
 * key's characters in either hex case, form-encode it (`+` for space), encode it twice (a
 * redirect's `next=` parameter), base64 or base64url it (Basic credentials, a JWT or session
 * token carrying it), or split it over two field lines (a repeated header, or a proxy joining
 * those with ", "). Every view of a value is kept mapped to the original characters, so only
 * the key's span is replaced and the rest of a `Location` stays usable.
 *
 * Matching runs on bytes (latin1 strings): undici hands header values over as latin1, and
 * decoding percent or base64 escapes yields bytes, so the needle is the key's UTF-8 bytes.
 */

/** How many decoding steps are stacked at most (base64 inside percent inside base64...). */
const MAX_DEPTH = 3;
/**
 * What separates two pieces a split key may be spread over: the line break the values are joined
 * with here (no header value holds one), and the list separator (RFC 9110 §5.3) with which a proxy
 * joins a repeated header's field lines into one.
 */
const SEPARATOR = /\n|,[ \t]*/g;
/** The base64 alphabet, standard and URL-safe (Node's decoder takes both, padding optional). */
const BASE64_CHAR = new Uint8Array(128);
for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/-_')
  BASE64_CHAR[c.charCodeAt(0)] = 1;
/** A byte string that is plain text, worth decoding further (binary noise is not). */
const TEXTUAL = /^[\t\x20-\x7e]*$/;

/** Maps a span of a view back to a span of the string the scan started from. */
type ToRoot = (start: number, end: number) => [number, number];

export interface Needle {
  /** The key's bytes as a latin1 string. */
  text: string;
  /** Whether `+` may stand for a space in the key (form encoding). */
  hasSpace: boolean;
  /** The shortest run of base64 characters that can hold the whole key, at any alignment. */
  minBase64: number;
  /**
   * Each two ASCII characters that follow each other in the key (first * 128 + second): a table,
   * not a Set, as this is looked up for every header on every call.
   */
  pairs: Uint8Array;
  /** Whether the key has non-ASCII bytes (their pairs are not in the table: always suspect). */
  nonAscii: boolean;
}

export function needleOf(secret: string): Needle {
  const text = Buffer.from(secret, 'utf8').toString('latin1');
  const pairs = new Uint8Array(128 * 128);
  let nonAscii = false;
  for (let i = 1; i < text.length; i++) {
    const [a, b] = [text.charCodeAt(i - 1), text.charCodeAt(i)];
    if (a < 128 && b < 128) pairs[a * 128 + b] = 1;
    else nonAscii = true;
  }
  return {
    text,
    hasSpace: text.includes(' '),
    minBase64: Math.floor((text.length * 4) / 3),
    pairs,
    nonAscii,
  };
}

/** Whether characters `a` then `b` follow each other in the key. */
function follow(needle: Needle, a: number, b: number): boolean {
  return a < 128 && b < 128 ? needle.pairs[a * 128 + b] === 1 : needle.nonAscii;
}

/** The spans of `text` that carry the key in any encoding, sorted and merged (one value). */
export function secretSpans(text: string, needle: Needle): [number, number][] {
  const spans: [number, number][] = [];
  scan(text, (s, e) => [s, e], MAX_DEPTH, needle, spans);
  return merge(spans);
}

function scan(text: string, toRoot: ToRoot, depth: number, needle: Needle, out: [number, number][]): void {
  for (let i = text.indexOf(needle.text); i >= 0; i = text.indexOf(needle.text, i + 1))
    out.push(toRoot(i, i + needle.text.length));
  if (depth === 0) return;
  if (text.includes('%')) decoded(percentDecode(text, false), toRoot, depth, needle, out);
  if (needle.hasSpace && (text.includes('%') || text.includes('+')))
    decoded(percentDecode(text, true), toRoot, depth, needle, out);
  scanBase64(text, toRoot, depth, needle, out);
}

interface Mapped {
  text: string;
  /** For each character of `text` (and one past the end), where it starts in the source. */
  starts: number[];
}

function decoded(
  view: Mapped | undefined,
  toRoot: ToRoot,
  depth: number,
  needle: Needle,
  out: [number, number][],
) {
  if (!view) return;
  const { starts } = view;
  scan(view.text, (s, e) => toRoot(starts[s] as number, starts[e] as number), depth - 1, needle, out);
}

/** Percent-escapes decoded leniently (a stray `%` stays), either hex case; `+` as space in forms. */
function percentDecode(text: string, form: boolean): Mapped | undefined {
  let out = '';
  const starts: number[] = [];
  let changed = false;
  for (let i = 0; i < text.length; ) {
    starts.push(i);
    const c = text.charCodeAt(i);
    if (c === 0x25 && i + 2 < text.length && isHex(text.charCodeAt(i + 1)) && isHex(text.charCodeAt(i + 2))) {
      out += String.fromCharCode(Number.parseInt(text.slice(i + 1, i + 3), 16));
      i += 3;
      changed = true;
    } else if (form && c === 0x2b) {
      out += ' ';
      i += 1;
      changed = true;
    } else {
      out += text[i];
      i += 1;
    }
  }
  starts.push(text.length);
  return changed ? { text: out, starts } : undefined;
}

function isHex(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);
}

/** The text with the separators removed, mapped: a key split over two pieces reads whole again. */
function unjoin(text: string): Mapped {
  let out = '';
  const starts: number[] = [];
  let from = 0;
  for (const match of text.matchAll(SEPARATOR)) {
    for (let i = from; i < match.index; i++) starts.push(i);
    out += text.slice(from, match.index);
    from = match.index + match[0].length;
  }
  for (let i = from; i < text.length; i++) starts.push(i);
  out += text.slice(from);
  starts.push(text.length);
  return { text: out, starts };
}

/**
 * Each run of base64 characters long enough to hold the key, decoded at the four alignments (a
 * run may start with characters that are not part of the encoding, such as a `sess_` prefix).
 * A key found inside redacts the whole run: its encoded span has no exact character bounds.
 */
function scanBase64(
  text: string,
  toRoot: ToRoot,
  depth: number,
  needle: Needle,
  out: [number, number][],
): void {
  const min = needle.minBase64;
  if (text.length < min) return;
  // A loop over a table rather than a regex: a quantified run regex backtracks at every position.
  let start = 0;
  for (let i = 0; i <= text.length; i++) {
    if (i < text.length && BASE64_CHAR[text.charCodeAt(i)] === 1) continue;
    if (i - start >= min) decodeRun(text, start, i, toRoot, depth, needle, out);
    start = i + 1;
  }
}

function decodeRun(
  text: string,
  start: number,
  end: number,
  toRoot: ToRoot,
  depth: number,
  needle: Needle,
  out: [number, number][],
): void {
  const whole: ToRoot = () => toRoot(start, end);
  for (let offset = 0; offset < 4 && end - start - offset >= needle.minBase64; offset++) {
    const bytes = Buffer.from(text.slice(start + offset, end), 'base64').toString('latin1');
    // Noise is not decoded further (which keeps the scan cheap): one look for the key is enough.
    if (TEXTUAL.test(bytes)) scan(bytes, whole, depth - 1, needle, out);
    else if (bytes.includes(needle.text)) out.push(whole(0, 0));
  }
}

function merge(spans: [number, number][]): [number, number][] {
  if (spans.length < 2) return spans;
  spans.sort((a, b) => a[0] - b[0]);
  const merged: [number, number][] = [spans[0] as [number, number]];
  for (const span of spans.slice(1)) {
    const last = merged[merged.length - 1] as [number, number];
    if (span[0] <= last[1]) last[1] = Math.max(last[1], span[1]);
    else merged.push(span);
  }
  return merged;
}

/** `text` with the given (sorted, disjoint) spans replaced by `replacement`. */
export function replaceSpans(text: string, spans: [number, number][], replacement: string): string {
  let out = '';
  let from = 0;
  for (const [start, end] of spans) {
    out += text.slice(from, start) + replacement;
    from = end;
  }
  return out + text.slice(from);
}

/**
 * Redacts the key in a list of header values, in place; returns whether anything was redacted.
 * Each value is scanned on its own with every decoding. Then, when a key may be split over two
 * values (a repeated header, two headers carrying its halves) or over a joined field line, the
 * values are read end to end without their separators, raw and percent-decoded (not base64: runs
 * joined across values would redact innocent neighbours whole); every value such a split key
 * touches is replaced whole.
 *
 * Kept cheap for the usual answer, where no value holds a percent escape: an indexOf per value,
 * a base64 decode only for runs long enough to hold the key, and the end-to-end read only when
 * the characters either side of a separator are neighbours in the key.
 */
export function redactValues(values: string[], needle: Needle, replacement: string): boolean {
  if (!mayHoldKey(values, needle)) return false;
  let own: [number, number][][] | undefined;
  let joinSuspect = false;
  let previous = '';
  const spans: [number, number][] = [];
  for (let v = 0; v < values.length; v++) {
    const value = values[v] as string;
    if (value.includes('%') || (needle.hasSpace && value.includes('+'))) {
      scan(value, same, MAX_DEPTH, needle, spans);
      joinSuspect = true;
    } else {
      for (let i = value.indexOf(needle.text); i >= 0; i = value.indexOf(needle.text, i + 1))
        spans.push([i, i + needle.text.length]);
      scanBase64(value, same, MAX_DEPTH, needle, spans);
    }
    if (spans.length > 0) {
      own ??= values.map(() => []);
      own[v] = spans.splice(0);
    }
    if (!joinSuspect && value.length > 0) {
      joinSuspect =
        (previous !== '' && adjacentInKey(previous, value, needle)) || listJoinSuspect(value, needle);
      previous = value;
    }
  }
  const whole = new Set<number>();
  if (joinSuspect) {
    const ends = endToEnd(values, needle);
    if (ends.length > 0) {
      own ??= values.map(() => []);
      collect(values, 1, merge(ends), own, whole);
    }
  }
  if (!own) return false;
  for (let v = 0; v < values.length; v++) {
    if (whole.has(v)) values[v] = replacement;
    else if (own[v]?.length)
      values[v] = replaceSpans(values[v] as string, merge(own[v] as [number, number][]), replacement);
  }
  return true;
}

const same: ToRoot = (s, e) => [s, e];

/**
 * The usual answer's fast way out, on the values joined once: no key as it is, no percent escape
 * (nor `+` for a key with a space), no base64 run long enough to hold the key, and no separator
 * between two characters that follow each other in the key. Anything else takes the full scan.
 */
function mayHoldKey(values: string[], needle: Needle): boolean {
  let previous = '';
  for (const value of values) {
    if (suspect(value, previous, needle)) return true;
    if (value.length > 0) previous = value;
  }
  return false;
}

/**
 * The same test on the values of a flat [name, value, ...] list from `first` on, allocating
 * nothing: this runs on every proxied call, and garbage there costs the whole gateway.
 */
export function listMayHoldKey(list: (string | string[])[], first: number, needle: Needle): boolean {
  let previous = '';
  for (let i = first + 1; i < list.length; i += 2) {
    const entry = list[i] as string | string[];
    if (typeof entry === 'string') {
      if (suspect(entry, previous, needle)) return true;
      if (entry.length > 0) previous = entry;
    } else
      for (const value of entry) {
        if (suspect(value, previous, needle)) return true;
        if (value.length > 0) previous = value;
      }
  }
  return false;
}

/** Whether `value` (after `previous`, the last non-empty value before it) may hold the key. */
function suspect(value: string, previous: string, needle: Needle): boolean {
  if (value.length === 0) return false;
  if (value.includes(needle.text) || value.includes('%')) return true;
  if (needle.hasSpace && value.includes('+')) return true;
  if (value.length >= needle.minBase64 && hasRun(value, needle.minBase64)) return true;
  if (previous !== '' && follow(needle, previous.charCodeAt(previous.length - 1), value.charCodeAt(0)))
    return true;
  return listJoinSuspect(value, needle);
}

/** Whether the text has a run of at least `min` base64 characters. */
function hasRun(text: string, min: number): boolean {
  let run = 0;
  for (let i = 0; i < text.length; i++) {
    if (BASE64_CHAR[text.charCodeAt(i)] === 1) {
      if (++run >= min) return true;
    } else run = 0;
  }
  return false;
}

/** Whether the last character of `left` and the first of `right` follow each other in the key. */
function adjacentInKey(left: string, right: string, needle: Needle): boolean {
  return follow(needle, left.charCodeAt(left.length - 1), right.charCodeAt(0));
}

/** Whether a list separator inside the value sits between two characters that follow each other in the key. */
function listJoinSuspect(value: string, needle: Needle): boolean {
  for (let i = value.indexOf(','); i > 0; i = value.indexOf(',', i + 1)) {
    let next = i + 1;
    while (value[next] === ' ' || value[next] === '\t') next++;
    if (next < value.length && follow(needle, value.charCodeAt(i - 1), value.charCodeAt(next))) return true;
  }
  return false;
}

/** The key's spans in the values read end to end (joined with line breaks, then the separators dropped). */
function endToEnd(values: string[], needle: Needle): [number, number][] {
  const joined = values.join('\n');
  const { text, starts } = unjoin(joined);
  const spans: [number, number][] = [];
  decodedWithout64({ text, starts }, same, needle, spans);
  return spans;
}

/** An end-to-end view searched for the key, then percent-decoded (twice: a redirect in a redirect). */
function decodedWithout64(
  view: Mapped,
  toRoot: ToRoot,
  needle: Needle,
  out: [number, number][],
  depth = MAX_DEPTH,
) {
  const map: ToRoot = (s, e) => toRoot(view.starts[s] as number, view.starts[e] as number);
  for (let i = view.text.indexOf(needle.text); i >= 0; i = view.text.indexOf(needle.text, i + 1))
    out.push(map(i, i + needle.text.length));
  if (depth === 0) return;
  const again = view.text.includes('%') ? percentDecode(view.text, false) : undefined;
  if (again) decodedWithout64(again, map, needle, out, depth - 1);
  const form = needle.hasSpace ? percentDecode(view.text, true) : undefined;
  if (form) decodedWithout64(form, map, needle, out, depth - 1);
}

/** Sorts spans of the joined string into spans of one value, or whole values for those that cross. */
function collect(
  values: string[],
  separator: number,
  spans: [number, number][],
  own: [number, number][][],
  whole: Set<number>,
): void {
  const starts: number[] = [];
  let offset = 0;
  for (const value of values) {
    starts.push(offset);
    offset += value.length + separator;
  }
  starts.push(offset);
  for (const [a, b] of spans) {
    const first = valueAt(starts, a);
    const last = valueAt(starts, b - 1);
    const base = starts[first] as number;
    if (first === last) own[first]?.push([a - base, b - base]);
    else for (let v = first; v <= last; v++) whole.add(v);
  }
}

/** The index of the value holding character `at` of the joined string (`starts` ends with its length). */
function valueAt(starts: number[], at: number): number {
  let v = starts.length - 2;
  // An empty value holds no character: the one before it starts at the same place.
  while (v > 0 && ((starts[v] as number) > at || starts[v] === starts[v + 1])) v--;
  return v;
}
