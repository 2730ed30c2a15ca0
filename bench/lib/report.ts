/** Summaries and the Markdown tables of `npm run bench`. */
import type { RouteId } from './routes.ts';

export function median(xs: number[]): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** One side of one throughput workload: every timing window of every round. */
export interface SideSummary {
  /** Median samples/s over all windows. */
  median: number;
  min: number;
  max: number;
  windows: number[];
  /** Largest peak RSS over this side's processes, MB. */
  maxRssMB: number;
  errors: string[];
  /** The project's side: computeEnvironment() as its jobs reported it (all the same: checked). */
  environment?: Record<string, unknown>;
}

export function summarise(
  windows: number[],
  rssKB: number[],
  errors: string[],
): SideSummary | null {
  if (windows.length === 0 && errors.length === 0) return null;
  return {
    median: Math.round(median(windows)),
    min: Math.round(Math.min(...windows)),
    max: Math.round(Math.max(...windows)),
    windows: windows.map((w) => Math.round(w)),
    maxRssMB: Math.round(Math.max(0, ...rssKB) / 1024),
    errors,
  };
}

export interface WorkloadRow {
  id: string;
  title: string;
  /** The project on the wasm backend, per route measured (./routes.ts). */
  project: Partial<Record<RouteId, SideSummary | null>>;
  cpu: SideSummary | null;
  pytorch: SideSummary | null;
  /** Median samples/s, project on that route / PyTorch. */
  ratio: Partial<Record<RouteId, number | null>>;
  /** Issue 18's target for that ratio, where it sets one. */
  target: Partial<Record<RouteId, number>>;
  /** The CNN: its step at UIB_THREADS=1 and 2, per native route. */
  threadScaling?: Partial<Record<RouteId, ThreadScaling>>;
}

export interface ThreadScaling {
  oneThread: SideSummary | null;
  twoThreads: SideSummary | null;
  /** Median samples/s at 2 threads / at 1. */
  ratio: number | null;
  target?: number;
}

export interface E2eRow {
  phase: string;
  projectS: Partial<Record<RouteId, number | null>>;
  pytorchS: number | null;
}

const num = (x: number | null | undefined, digits = 0) =>
  x === null || x === undefined || !Number.isFinite(x)
    ? '–'
    : x.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

function side(s: SideSummary | null | undefined): string {
  if (!s) return '–';
  if (s.windows.length === 0) return `failed (${s.errors[0] ?? '?'})`;
  return `${num(s.median)} (${num(s.min)}–${num(s.max)})`;
}

const withTarget = (ratio: string, target: number | undefined, unit = '') =>
  target === undefined ? ratio : `${ratio} (≥ ${target}${unit})`;

const rssOf = (s: SideSummary | null | undefined) => (s?.windows.length ? `${s.maxRssMB} MB` : '–');

/** One project column per route beside PyTorch, and one ratio column per route (target in brackets). */
export function stepTable(
  rows: WorkloadRow[],
  routes: readonly RouteId[],
  notes: string[] = [],
): string {
  const cols = [
    'workload',
    ...routes.map((r) => `project ${r}, samples/s`),
    'project cpu',
    'PyTorch',
    ...routes.map((r) => `${r} / PyTorch (issue 18 target)`),
    `peak RSS ${routes.join(' / ')} / PyTorch`,
  ];
  const head = [`| ${cols.join(' | ')} |`, `|${cols.map(() => '---').join('|')}|`];
  const body = rows.map((r) => {
    const cells = [
      r.title,
      ...routes.map((id) => side(r.project[id])),
      side(r.cpu),
      side(r.pytorch),
      ...routes.map((id) => withTarget(num(r.ratio[id], 2), r.target[id])),
      [...routes.map((id) => rssOf(r.project[id])), rssOf(r.pytorch)].join(' / '),
    ];
    return `| ${cells.join(' | ')} |`;
  });
  return [...head, ...body, ...(notes.length ? ['', ...notes.map((n) => `- ${n}`)] : [])].join(
    '\n',
  );
}

/** 1 → 2 threads of the CNN step, one line per route; '' when no row has it. */
export function threadTable(rows: WorkloadRow[], routes: readonly RouteId[]): string {
  const r = rows.find((x) => x.threadScaling !== undefined);
  if (!r?.threadScaling) return '';
  const lines = [
    '| CNN step, 1 → 2 cores (UIB_THREADS=1 vs 2) | 1 thread, samples/s | 2 threads, samples/s | 1 → 2 (issue 18 target) |',
    '|---|---|---|---|',
  ];
  for (const id of routes) {
    const t = r.threadScaling[id];
    if (!t) continue;
    const ratio = t.ratio === null ? '–' : `${num(t.ratio, 2)}×`;
    lines.push(
      `| route ${id} | ${side(t.oneThread)} | ${side(t.twoThreads)} | ${withTarget(ratio, t.target, '×')} |`,
    );
  }
  return lines.join('\n');
}

export function e2eTable(rows: E2eRow[], routes: readonly RouteId[], notes: string[]): string {
  const cols = [
    'end to end (MNIST bias, CNN)',
    ...routes.map((r) => `project ${r}, s`),
    'PyTorch, s',
  ];
  const head = [`| ${cols.join(' | ')} |`, `|${cols.map(() => '---').join('|')}|`];
  const body = rows.map(
    (r) =>
      `| ${[r.phase, ...routes.map((id) => num(r.projectS[id], 1)), num(r.pytorchS, 1)].join(' | ')} |`,
  );
  return [...head, ...body, '', ...notes.map((n) => `- ${n}`)].join('\n');
}
