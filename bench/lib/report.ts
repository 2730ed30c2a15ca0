/** Summaries and the Markdown tables of `npm run bench`. */

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
  wasm: SideSummary | null;
  cpu: SideSummary | null;
  pytorch: SideSummary | null;
  /** Median samples/s, project wasm / PyTorch. */
  ratio: number | null;
}

export interface E2eRow {
  phase: string;
  projectS: number | null;
  pytorchS: number | null;
}

const num = (x: number | null | undefined, digits = 0) =>
  x === null || x === undefined || !Number.isFinite(x)
    ? '–'
    : x.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

function side(s: SideSummary | null): string {
  if (!s) return '–';
  if (s.windows.length === 0) return `failed (${s.errors[0] ?? '?'})`;
  return `${num(s.median)} (${num(s.min)}–${num(s.max)})`;
}

export function stepTable(rows: WorkloadRow[]): string {
  const head = [
    '| workload | project wasm, samples/s | project cpu | PyTorch | ratio wasm/PyTorch | peak RSS project / PyTorch |',
    '|---|---|---|---|---|---|',
  ];
  const body = rows.map((r) => {
    const rss = `${r.wasm ? `${r.wasm.maxRssMB} MB` : '–'} / ${r.pytorch?.windows.length ? `${r.pytorch.maxRssMB} MB` : '–'}`;
    return `| ${r.title} | ${side(r.wasm)} | ${side(r.cpu)} | ${side(r.pytorch)} | ${num(r.ratio, 2)} | ${rss} |`;
  });
  return [...head, ...body].join('\n');
}

export function e2eTable(rows: E2eRow[], notes: string[]): string {
  const head = ['| end to end (MNIST bias, CNN) | project wasm, s | PyTorch, s |', '|---|---|---|'];
  const body = rows.map((r) => `| ${r.phase} | ${num(r.projectS, 1)} | ${num(r.pytorchS, 1)} |`);
  return [...head, ...body, '', ...notes.map((n) => `- ${n}`)].join('\n');
}
