import { writeFileSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';

/**
 * Where a console page load spends its time, from a Chromium performance trace (the categories
 * DevTools' Performance panel records): a timeline of the load (HTML, each script fetched and
 * run, the GraphQL requests, the rows in the DOM and painted), and the renderer main thread's CPU
 * time by kind (compiling and running scripts, the application's own JavaScript, style, layout,
 * paint, garbage collection). CPU time, not wall time: on a shared machine a task's wall time
 * includes the time other processes held the core. Used by `BENCH_CONSOLE_TRACE=1 npm run bench:console`.
 */
const CATEGORIES = [
  'devtools.timeline',
  'disabled-by-default-devtools.timeline',
  'v8.execute',
  'v8',
  'blink.user_timing',
  'loading',
];

/** Marked (User Timing) by the traced page when the Overview's rows are in the DOM. */
const ROWS_MARK = 'bench:overview-rows';

interface TraceEvent {
  name: string;
  cat: string;
  ph: string;
  ts: number;
  dur?: number;
  tdur?: number;
  pid: number;
  tid: number;
  args?: { data?: Record<string, unknown> };
}

export interface Point {
  what: string;
  at: number;
  /** For a request: when its last byte arrived. */
  until?: number;
}

export interface Breakdown {
  timeline: Point[];
  /** Main-thread CPU milliseconds by kind, from navigation to the rows painted. */
  cpu: Record<string, number>;
}

/**
 * Loads `url` in `page` under a trace; the breakdown once `usable` resolves. The page marks when
 * `rows` rows of the Overview's table are in the DOM (a MutationObserver added before the
 * console's scripts run, by the DevTools protocol: the console's CSP does not apply to it).
 */
export async function tracedLoad(
  browser: Browser,
  page: Page,
  url: string,
  rows: number,
  usable: () => Promise<void>,
  saveTo?: string,
): Promise<Breakdown> {
  await page.addInitScript(
    ({ rows, mark }) => {
      const observer = new MutationObserver(() => {
        if (document.querySelectorAll('table.overview-table tbody tr').length < rows) return;
        performance.mark(mark);
        observer.disconnect();
      });
      observer.observe(document, { childList: true, subtree: true });
    },
    { rows, mark: ROWS_MARK },
  );
  await browser.startTracing(page, { categories: CATEGORIES });
  await page.goto(url);
  await usable();
  // The frame that paints the rows, too.
  await page.evaluate(() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done))));
  const raw = await browser.stopTracing();
  if (saveTo) writeFileSync(saveTo, raw);
  return breakdownOf((JSON.parse(raw.toString('utf8')) as { traceEvents: TraceEvent[] }).traceEvents);
}

/** What a trace event's own CPU time counts as (nested events not listed take their parent's kind). */
const KIND: Record<string, string> = {
  ParseHTML: 'HTML and CSS',
  ParseAuthorStyleSheet: 'HTML and CSS',
  'v8.compile': 'compile',
  'v8.compileModule': 'compile',
  'V8.CompileCode': 'compile',
  'v8.produceModuleCache': 'compile',
  'v8.evaluateModule': 'run scripts (top level)',
  EvaluateScript: 'run scripts (top level)',
  FunctionCall: 'app JavaScript',
  RunMicrotasks: 'app JavaScript',
  TimerFire: 'app JavaScript',
  FireAnimationFrame: 'app JavaScript',
  EventDispatch: 'app JavaScript',
  UpdateLayoutTree: 'style',
  Layout: 'layout',
  PrePaint: 'paint',
  Paint: 'paint',
  Layerize: 'paint',
  Commit: 'paint',
  UpdateLayer: 'paint',
  MinorGC: 'garbage collection',
  MajorGC: 'garbage collection',
  'V8.GCScavenger': 'garbage collection',
  'V8.GCFinalizeMC': 'garbage collection',
  'V8.GC_MC_BACKGROUND_MARKING': 'garbage collection',
};

const path = (url: string) => url.replace(/^https?:\/\/[^/]+/, '').replace(/^\/console\/assets\//, '');
const round = (ms: number) => Math.round(ms * 10) / 10;

export function breakdownOf(events: TraceEvent[]): Breakdown {
  const nav = events.find(
    (e) =>
      e.name === 'navigationStart' &&
      String((e.args?.data as { documentLoaderURL?: string } | undefined)?.documentLoaderURL).includes(
        '/console',
      ),
  );
  if (!nav) throw new Error('no navigation to /console in the trace');
  const { pid, tid, ts: t0 } = nav;
  const at = (ts: number) => round((ts - t0) / 1000);
  const mine = events.filter((e) => e.pid === pid && e.tid === tid && e.ts >= t0);
  const timeline: Point[] = [];

  // The network, as the renderer saw it (its own origin only: not the browser's own pages).
  const requests = new Map<string, Point>();
  let graphql = 0;
  for (const e of events) {
    const data = e.args?.data as { requestId?: string; url?: string; finishTime?: number } | undefined;
    if (!data?.requestId) continue;
    if (e.name === 'ResourceSendRequest' && /^https?:/.test(data.url ?? '') && e.ts >= t0) {
      let what = path(data.url ?? '');
      if (what === '/graphql') what = `GraphQL request #${++graphql}`;
      requests.set(data.requestId, { what, at: at(e.ts) });
    } else if (e.name === 'ResourceFinish' && requests.has(data.requestId)) {
      requests.get(data.requestId)!.until = data.finishTime ? at(data.finishTime * 1e6) : at(e.ts);
    }
  }
  timeline.push(...[...requests.values()].filter((r) => !r.what.includes('#token=')));

  const parsed = mine.find((e) => e.name === 'ParseHTML');
  if (parsed) timeline.push({ what: 'HTML parsed', at: at(parsed.ts + (parsed.dur ?? 0)) });
  const evaluations = mine.filter((e) => e.name === 'v8.evaluateModule' && (e.tdur ?? 0) > 1000);
  for (const [i, e] of evaluations.slice(0, 2).entries()) {
    timeline.push({
      what: `${i === 0 ? 'entry' : 'application'} module run (${round((e.tdur ?? 0) / 1000)} ms CPU)`,
      at: at(e.ts),
      until: at(e.ts + (e.dur ?? 0)),
    });
  }
  const mark = events.find((e) => e.pid === pid && e.name === ROWS_MARK && e.ts >= t0);
  let end = Number.POSITIVE_INFINITY;
  if (mark) {
    timeline.push({ what: 'rows in the DOM', at: at(mark.ts) });
    const painted = mine.find((e) => e.name === 'Paint' && e.ts > mark.ts);
    if (painted) {
      end = painted.ts + (painted.dur ?? 0);
      timeline.push({ what: 'rows painted', at: at(end) });
    }
  }
  timeline.sort((a, b) => a.at - b.at);

  // CPU time by kind: each event's own time (its CPU time less its children's) goes to its kind.
  const cpu: Record<string, number> = {};
  const tasks = mine.filter((e) => e.name === 'RunTask' && e.ph === 'X' && e.ts < end);
  const timed = mine
    .filter((e) => e.ph === 'X' && e.tdur !== undefined)
    .sort((a, b) => a.ts - b.ts || (b.dur ?? 0) - (a.dur ?? 0));
  let cursor = 0;
  for (const task of tasks) {
    const taskEnd = task.ts + (task.dur ?? 0);
    while (cursor < timed.length && timed[cursor]!.ts < task.ts) cursor++;
    const stack: { end: number; kind: string; self: number }[] = [];
    const close = (upTo: number) => {
      while (stack.length > 0 && stack.at(-1)!.end <= upTo) {
        const done = stack.pop()!;
        cpu[done.kind] = (cpu[done.kind] ?? 0) + done.self;
      }
    };
    stack.push({ end: taskEnd, kind: 'other', self: task.tdur ?? 0 });
    for (let i = cursor; i < timed.length && timed[i]!.ts < taskEnd; i++) {
      const e = timed[i]!;
      if (e === task) continue;
      close(e.ts);
      const parent = stack.at(-1)!;
      parent.self -= e.tdur ?? 0;
      stack.push({ end: e.ts + (e.dur ?? 0), kind: KIND[e.name] ?? parent.kind, self: e.tdur ?? 0 });
    }
    close(Number.POSITIVE_INFINITY);
  }
  for (const kind of Object.keys(cpu)) cpu[kind] = round(cpu[kind]! / 1000);
  return { timeline, cpu };
}

/** The breakdown as lines for the console. */
export function formatBreakdown(b: Breakdown): string {
  const total = round(Object.values(b.cpu).reduce((sum, ms) => sum + ms, 0));
  return [
    '    timeline (ms since navigation start):',
    ...b.timeline.map(
      (p) =>
        `      ${String(p.at).padStart(7)}${p.until !== undefined ? ` → ${String(p.until).padStart(7)}` : '          '}  ${p.what}`,
    ),
    `    main-thread CPU until the rows are painted: ${total} ms = ${Object.entries(b.cpu)
      .sort((x, y) => y[1] - x[1])
      .map(([kind, ms]) => `${kind} ${ms}`)
      .join(', ')}`,
  ].join('\n');
}
