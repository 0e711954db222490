import { relative, sep } from 'node:path';
import type { Reporter } from 'vitest/node';

/** The part of istanbul's CoverageMap this reporter reads (vitest hands it over untyped). */
interface CoverageMapLike {
  files(): string[];
  fileCoverageFor(file: string): { toSummary(): FileSummary };
}
interface Counts {
  total: number;
  covered: number;
}
interface FileSummary {
  lines: Counts;
  branches: Counts;
}

/**
 * Areas held to the targets of issue 18 (90 % of lines, 80 % of branches), printed apart from
 * the per-module table. A file belongs to the first area whose test matches it.
 */
const FOCUS: { name: string; test: (file: string) => boolean }[] = [
  { name: 'data plane (src/modules/proxy)', test: (f) => f.startsWith('src/modules/proxy/') },
  { name: 'resilience core (src/modules/resilience)', test: (f) => f.startsWith('src/modules/resilience/') },
  {
    name: 'budget ledger (src/modules/budgets/budget-ledger*)',
    test: (f) => /budgets\/budget-ledger/.test(f),
  },
];
const TARGET = { lines: 90, branches: 80 };
/** Files listed under each focus area, most uncovered lines first. */
const WORST_FILES = 5;

/** src/modules/<name>, or the first folder under src/ (src itself for its top-level files). */
export function moduleOf(file: string): string {
  const parts = file.split('/');
  if (parts[0] !== 'src') return parts[0] ?? file;
  if (parts[1] === 'modules' && parts.length > 3) return `src/modules/${parts[2]}`;
  return parts.length > 2 ? `src/${parts[1]}` : 'src';
}

const percent = ({ total, covered }: Counts) => (total === 0 ? 100 : (covered / total) * 100);
const add = (a: Counts, b: Counts): Counts => ({ total: a.total + b.total, covered: a.covered + b.covered });
const ZERO = (): FileSummary => ({ lines: { total: 0, covered: 0 }, branches: { total: 0, covered: 0 } });
const row = (name: string, s: FileSummary, width: number) =>
  `${name.padEnd(width)}  ${percent(s.lines).toFixed(1).padStart(6)} %  ${percent(s.branches).toFixed(1).padStart(6)} %  ${String(s.lines.total - s.lines.covered).padStart(6)}`;

/**
 * Prints line and branch coverage per module (and for the focus areas, with their most
 * uncovered files) at the end of a run with `--coverage`; the HTML report is in coverage/.
 */
export default class CoverageReporter implements Reporter {
  onCoverage(coverage: unknown): void {
    const map = coverage as CoverageMapLike;
    const modules = new Map<string, FileSummary>();
    const focus = new Map<string, { total: FileSummary; files: [string, FileSummary][] }>();
    for (const absolute of map.files()) {
      const file = relative(process.cwd(), absolute).split(sep).join('/');
      const summary = map.fileCoverageFor(absolute).toSummary();
      const name = moduleOf(file);
      const sum = modules.get(name) ?? ZERO();
      modules.set(name, {
        lines: add(sum.lines, summary.lines),
        branches: add(sum.branches, summary.branches),
      });
      const area = FOCUS.find((a) => a.test(file));
      if (!area) continue;
      const entry = focus.get(area.name) ?? { total: ZERO(), files: [] };
      entry.total = {
        lines: add(entry.total.lines, summary.lines),
        branches: add(entry.total.branches, summary.branches),
      };
      entry.files.push([file, summary]);
      focus.set(area.name, entry);
    }
    const width = Math.max(50, ...[...modules.keys(), ...FOCUS.map((a) => a.name)].map((n) => n.length));
    const header = `${'module'.padEnd(width)}  ${'lines'.padStart(8)}  ${'branches'.padStart(8)}  uncovered lines`;
    const out = ['', `coverage per module (HTML report: coverage/index.html)`, header];
    for (const [name, summary] of [...modules].sort(([a], [b]) => a.localeCompare(b)))
      out.push(row(name, summary, width));
    const all = [...modules.values()].reduce(
      (a, b) => ({ lines: add(a.lines, b.lines), branches: add(a.branches, b.branches) }),
      ZERO(),
    );
    out.push(row('all of src', all, width));
    out.push('', `focus areas (target ${TARGET.lines} % of lines, ${TARGET.branches} % of branches)`, header);
    for (const area of FOCUS) {
      const entry = focus.get(area.name);
      if (!entry) {
        out.push(`${area.name.padEnd(width)}  (no files)`);
        continue;
      }
      const met =
        percent(entry.total.lines) >= TARGET.lines && percent(entry.total.branches) >= TARGET.branches;
      out.push(`${row(area.name, entry.total, width)}  ${met ? 'target met' : 'below target'}`);
      const worst = entry.files
        .filter(([, s]) => s.lines.covered < s.lines.total)
        .sort(([, a], [, b]) => b.lines.total - b.lines.covered - (a.lines.total - a.lines.covered))
        .slice(0, WORST_FILES);
      for (const [file, summary] of worst) out.push(row(`  ${file}`, summary, width));
    }
    process.stdout.write(`${out.join('\n')}\n`);
  }
}
