/**
 * The evidence of one deletion on the user's own model and data (`uib unlearn --model`, `uib
 * eval`): before and after side by side — accuracy and mean loss on the forget set, the retained
 * set and the held-out test set, MIA-Efficacy against the test set, per-class accuracy — and the
 * Retrain-free selection score (eval/selection.ts). Where a retrained reference is given (a
 * training recipe, or `uib eval --reference`), the match-Retrain metrics are read against it;
 * otherwise the evidence says which metrics are missing and why. `evidence.json` holds it all;
 * `renderEvidenceHtml` is the page a person reads.
 */
import { z } from 'zod';
import { type EvalRecord, evaluateAll } from '../eval/evaluate.ts';
import { sampleLoss } from '../eval/mia.ts';
import type { EvalSets, ScenarioFacts, SetPredictions } from '../eval/types.ts';

export const EVIDENCE_FORMAT = 'uib-evidence/1';

/** The metrics computed for every model of the evidence (the Retrain ones only with a reference). */
const OWN_METRICS = ['ua', 'ra', 'ta', 'test-f1', 'mia-efficacy', 'selection'] as const;
const REFERENCE_METRICS = ['js-test', 'js-forget', 'avg-gap', 'tow'] as const;

const SetSummarySchema = z.object({
  n: z.number(),
  accuracy: z.number().nullable(),
  /** Mean cross-entropy −log p_y (nats). */
  loss: z.number().nullable(),
});
export type SetSummary = z.infer<typeof SetSummarySchema>;

const ModelEvidenceSchema = z.object({
  sets: z.object({ forget: SetSummarySchema, retain: SetSummarySchema, test: SetSummarySchema }),
  metrics: z.record(
    z.string(),
    z.object({ value: z.number().nullable(), reason: z.string().optional() }),
  ),
  perClassTestAccuracy: z.array(z.number().nullable()),
  perClassForgetAccuracy: z.array(z.number().nullable()),
});
export type ModelEvidence = z.infer<typeof ModelEvidenceSchema>;

export const EvidenceSchema = z.object({
  format: z.literal(EVIDENCE_FORMAT),
  method: z.string().nullable(),
  classNames: z.array(z.string()),
  counts: z.object({ forget: z.number(), retain: z.number(), test: z.number() }),
  before: ModelEvidenceSchema,
  after: ModelEvidenceSchema,
  reference: ModelEvidenceSchema.nullable(),
  /** Metrics that could not be computed, with why (no Retrain reference, …). */
  missing: z.record(z.string(), z.string()),
  createdAt: z.string(),
});
export type Evidence = z.infer<typeof EvidenceSchema>;

function summary(s: SetPredictions): SetSummary {
  const n = s.labels.length;
  if (n === 0) return { n, accuracy: null, loss: null };
  let hits = 0;
  for (let i = 0; i < n; i++) if (s.predicted[i] === s.labels[i]) hits++;
  const losses = sampleLoss(s);
  let sum = 0;
  for (const l of losses) sum += l;
  return { n, accuracy: hits / n, loss: sum / n };
}

function modelEvidence(sets: EvalSets, record: EvalRecord): ModelEvidence {
  return {
    sets: { forget: summary(sets.forget), retain: summary(sets.retain), test: summary(sets.test) },
    metrics: record.values as ModelEvidence['metrics'],
    perClassTestAccuracy: record.details.perClassTestAccuracy,
    perClassForgetAccuracy: record.details.perClassForgetAccuracy,
  };
}

export interface EvidenceInput {
  method: string | null;
  classNames: readonly string[];
  before: EvalSets;
  after: EvalSets;
  /** A model retrained without ΔD (or another reference the user trusts), when there is one. */
  reference?: EvalSets;
  /** Why there is no reference, for the record (default: no recipe was given). */
  noReference?: string;
  seed: number;
  /**
   * What the request is, for the selection score's held-out twin: `class` when whole classes are
   * forgotten (their test samples; target zero), else `random` (the test set).
   */
  facts: ScenarioFacts;
}

/** The evidence record: every model evaluated on the same three sets. */
export async function buildEvidence(input: EvidenceInput): Promise<Evidence> {
  const own = [...OWN_METRICS];
  const original = { sets: input.before };
  const refRecord = input.reference
    ? await evaluateAll(
        { sets: input.reference, seed: input.seed, original, scenario: input.facts },
        { metrics: own },
      )
    : undefined;
  const against = input.reference &&
    refRecord && { sets: input.reference, record: { values: refRecord.values } };
  const metrics = against ? [...own, ...REFERENCE_METRICS] : own;
  const [beforeRecord, afterRecord] = [
    await evaluateAll(
      { sets: input.before, seed: input.seed, original, retrain: against, scenario: input.facts },
      { metrics },
    ),
    await evaluateAll(
      { sets: input.after, seed: input.seed, original, retrain: against, scenario: input.facts },
      { metrics },
    ),
  ];
  const missing: Record<string, string> = {};
  if (!input.reference)
    for (const id of REFERENCE_METRICS)
      missing[id] =
        input.noReference ?? 'no retrained reference (give a training recipe with --recipe)';
  for (const [id, why] of Object.entries(afterRecord.notApplicable)) missing[id] = why as string;
  return {
    format: EVIDENCE_FORMAT,
    method: input.method,
    classNames: [...input.classNames],
    counts: {
      forget: input.after.forget.labels.length,
      retain: input.after.retain.labels.length,
      test: input.after.test.labels.length,
    },
    before: modelEvidence(input.before, beforeRecord),
    after: modelEvidence(input.after, afterRecord),
    reference: input.reference && refRecord ? modelEvidence(input.reference, refRecord) : null,
    missing,
    createdAt: new Date().toISOString(),
  };
}

// ─── the page ──────────────────────────────────────────────────────────────────────────────────

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const pct = (x: number | null | undefined) =>
  x === null || x === undefined ? '—' : `${(100 * x).toFixed(1)} %`;
const num = (x: number | null | undefined, d = 3) =>
  x === null || x === undefined ? '—' : x.toFixed(d);

/** One self-contained HTML page (no script, no request to any origin). */
export function renderEvidenceHtml(e: Evidence, title = 'uib: evidence of a deletion'): string {
  const models: [string, ModelEvidence | null][] = [
    ['before (original)', e.before],
    [`after (${e.method ?? 'unlearned'})`, e.after],
    ['reference (retrained)', e.reference],
  ];
  const shown = models.filter((m): m is [string, ModelEvidence] => m[1] !== null);
  const head = `<tr><th></th>${shown.map(([n]) => `<th>${esc(n)}</th>`).join('')}</tr>`;
  const row = (label: string, f: (m: ModelEvidence) => string) =>
    `<tr><th scope="row">${esc(label)}</th>${shown.map(([, m]) => `<td>${esc(f(m))}</td>`).join('')}</tr>`;
  const metric = (id: string) => (m: ModelEvidence) => {
    const v = m.metrics[id];
    if (!v) return '—';
    if (v.value === null) return `n/a (${v.reason ?? ''})`;
    return id === 'selection' || id.startsWith('js') || id === 'tow'
      ? num(v.value)
      : id === 'avg-gap'
        ? `${num(v.value, 1)} pp`
        : pct(v.value);
  };
  const sets = ['forget', 'retain', 'test'] as const;
  const setNames = {
    forget: 'forget set ΔD',
    retain: 'retained set D_r',
    test: 'held-out test set',
  };
  const rows = [
    ...sets.map((s) => row(`accuracy on the ${setNames[s]}`, (m) => pct(m.sets[s].accuracy))),
    ...sets.map((s) => row(`mean loss on the ${setNames[s]} (nats)`, (m) => num(m.sets[s].loss))),
    row(
      'MIA-Efficacy: share of ΔD an attack calls non-member (vs the test set)',
      metric('mia-efficacy'),
    ),
    row('test macro-F1', metric('test-f1')),
    row('Retrain-free selection score (lower is better)', metric('selection')),
    ...(e.reference
      ? [
          row('Avg. Gap to the reference (UA, RA, TA, MIA)', metric('avg-gap')),
          row('JS divergence to the reference on test (bits)', metric('js-test')),
          row('tug of war against the reference', metric('tow')),
        ]
      : []),
  ];
  const k = e.classNames.length;
  const classHead = `<tr><th>class</th>${shown.map(([n]) => `<th>test: ${esc(n)}</th>`).join('')}${shown.map(([n]) => `<th>ΔD: ${esc(n)}</th>`).join('')}</tr>`;
  const classRows = Array.from({ length: k }, (_, c) => {
    const t = shown.map(([, m]) => `<td>${pct(m.perClassTestAccuracy[c])}</td>`).join('');
    const f = shown.map(([, m]) => `<td>${pct(m.perClassForgetAccuracy[c])}</td>`).join('');
    return `<tr><th scope="row">${esc(e.classNames[c] ?? String(c))}</th>${t}${f}</tr>`;
  }).join('');
  const missing = Object.entries(e.missing);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>${esc(title)}</title>
<style>body{font:14px/1.45 system-ui,sans-serif;margin:24px;color:#222;max-width:1100px}table{border-collapse:collapse;margin:8px 0 20px}th,td{border:1px solid #ccc;padding:4px 8px;text-align:right}th[scope=row]{text-align:left;font-weight:normal}.note{color:#555}</style>
</head>
<body>
<h1>${esc(title)}</h1>
<p class="note">Method ${esc(e.method ?? '—')} · ΔD ${e.counts.forget} samples, D_r ${e.counts.retain}, test ${e.counts.test} · ${esc(e.createdAt)}</p>
<p class="note">A model that forgot ΔD treats it as data it never saw: its accuracy and loss on ΔD move toward those on the held-out test set (or, for a forgotten class, toward zero accuracy), while D_r and the test set keep theirs.</p>
<h2>Before and after</h2>
<table>${head}${rows.join('')}</table>
<h2>Per class</h2>
<table>${classHead}${classRows}</table>
${missing.length ? `<h2>Not computed</h2><ul>${missing.map(([id, why]) => `<li>${esc(id)}: ${esc(why)}</li>`).join('')}</ul>` : ''}
</body>
</html>
`;
}
