/**
 * `report.html`: one self-contained, offline page — inline CSS, tables, SVG plots made in Node
 * (`plots.ts`), forget-set images as PNG data URIs. No script, no external resource: the page
 * renders the same with JavaScript off and without a network.
 */
import { describeEnvironment } from '../../backend/environment.ts';
import { aggregate, type ScenarioTable } from '../aggregate.ts';
import type { MetricInfo, Results } from '../results-schema.ts';
import {
  CLIPPING_NOTE,
  describeScenario,
  directionMark,
  ENSEMBLE_NOTE,
  ensembleTable,
  formatCell,
  groupColumns,
  PAIRED_NOTE,
  pairedTable,
  shortName,
  tuningTable,
  unitSuffix,
} from './format.ts';
import { costGapSpec, KEY_METRICS, metricBarSpec, perClassSpec, renderSvg } from './plots.ts';

export async function renderHtml(results: Results): Promise<string> {
  const tables = aggregate(results);
  const exp = results.experiment as { name?: string; description?: string };
  const title = `uib report: ${exp.name ?? 'experiment'}`;
  const sections: string[] = [];
  for (const t of tables) sections.push(await scenarioSection(t, results));
  const env = results.environment;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title>
<style>${CSS}</style>
</head>
<body>
<header>
<h1>${esc(title)}</h1>
${exp.description ? `<p>${esc(exp.description)}</p>` : ''}
<p class="meta">Backend ${esc(describeEnvironment(env))} (addon ${env.addon ? 'on' : 'off'}, tfjs ${esc(env.tfjs)}) · ${env.cpus} CPU cores · node ${esc(env.node)} · uib ${esc(env.uibVersion)} · started ${esc(results.startedAt)} · updated ${esc(results.updatedAt)}${results.complete ? '' : ' · <strong class="warn">incomplete run</strong>'}</p>
<p class="legend">Each cell: mean ± 95 % Student-t interval over seeds (Retrain: over seeds × the members of its ensemble, each retrained with its own initialisation and data order). ${esc(CLIPPING_NOTE)} ↑ higher is better, ↓ lower is better, →R the target is Retrain’s value (best = closest to it). <span class="best">Highlighted</span>: best unlearning method per column; Retrain and the original model are references. † some seeds undefined; n/a undefined on every seed.</p>
</header>
<main>
${results.tuning ? tuningSection(results.tuning) : ''}
${sections.join('\n')}
</main>
</body>
</html>
`;
}

function tuningSection(tuning: NonNullable<Results['tuning']>): string {
  const t = tuningTable(tuning);
  // The intro's **bold** is markdown: shown plain here.
  const intro = esc(t.intro.replace(/\*\*/g, ''));
  const head = t.head.map((h) => `<th>${esc(h)}</th>`).join('');
  const rows = t.rows
    .map(
      (r) =>
        `<tr>${r.map((c, i) => (i === 0 ? `<th scope="row">${esc(c)}</th>` : `<td>${esc(c)}</td>`)).join('')}</tr>`,
    )
    .join('');
  return `<section><h2>Tuning</h2><p class="note">${intro}</p><table><thead><tr>${head}</tr></thead><tbody>${rows}</tbody></table></section>`;
}

async function scenarioSection(t: ScenarioTable, results: Results): Promise<string> {
  const counts = t.scenario.seeds[0]?.counts ?? {};
  const parts: string[] = [];
  parts.push(`<section class="scenario" id="scenario-${esc(t.scenario.id)}">`);
  parts.push(`<h2>${esc(t.scenario.id)}</h2>`);
  parts.push(
    `<p class="meta">${esc(describeScenario(t.scenario.params))} · seeds ${t.seeds.join(', ')} · ${Object.entries(
      counts,
    )
      .map(([k, v]) => `${esc(k)} ${v}`)
      .join(', ')}</p>`,
  );
  for (const g of groupColumns(t.columns)) {
    parts.push(`<h3>${esc(g.title)}</h3>`);
    parts.push(htmlTable(t, g.columns));
  }
  if (t.retrainMembers >= 2 && t.ensembleColumns.length > 0) {
    parts.push(
      `<h3>Against the Retrain ensemble (${t.retrainMembers} retrained models per seed)</h3>`,
      `<p class="note">${esc(ENSEMBLE_NOTE)}</p>`,
    );
    const e = ensembleTable(t, t.ensembleColumns);
    const head = e.head.map((h) => `<th>${esc(h)}</th>`).join('');
    const body = e.rows
      .map(
        ({ row, cells }) =>
          `<tr class="row-${row.kind}"><th scope="row">${esc(row.name)}</th>${cells.map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`,
      )
      .join('\n');
    parts.push(
      `<table class="results ensemble"><thead><tr><th>method</th>${head}</tr></thead><tbody>\n${body}\n</tbody></table>`,
    );
  }
  if (t.paired.length > 0) {
    const p = pairedTable(t, t.columns);
    const head = p.head.map((h) => `<th>${esc(h)}</th>`).join('');
    const body = p.rows
      .map(
        (r) =>
          `<tr><th scope="row">${esc(r.name)}</th>${r.cells.map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`,
      )
      .join('\n');
    parts.push(
      '<h3>Paired: each +uib variant against its base method</h3>',
      `<p class="note">${esc(PAIRED_NOTE)}</p>`,
      `<table class="results paired"><thead><tr><th>pair</th>${head}</tr></thead><tbody>\n${body}\n</tbody></table>`,
    );
  }
  const failures = t.rows.flatMap((r) =>
    r.failures.map((f) => `${r.label} (seed ${f.seed}): ${f.error}`),
  );
  if (failures.length) parts.push(`<p class="warn">Failed: ${esc(failures.join('; '))}</p>`);
  const na = Object.entries(t.notApplicable);
  if (na.length)
    parts.push(
      `<p class="note">Not applicable: ${esc(na.map(([id, why]) => `${id} (${why})`).join('; '))}</p>`,
    );

  parts.push('<h3>Plots</h3><div class="plots">');
  for (const id of KEY_METRICS) {
    const metric = t.columns.find((c) => c.id === id);
    const spec = metric ? metricBarSpec(t, metric) : null;
    if (spec) parts.push(figure(await renderSvg(spec), `plot-${id}`));
  }
  parts.push('</div><div class="plots">');
  const scatter = costGapSpec(t);
  if (scatter) parts.push(figure(await renderSvg(scatter), 'plot-cost-gap'));
  const classNames = t.scenario.classNames;
  const perClass = perClassSpec(t, classNames);
  if (perClass) parts.push(figure(await renderSvg(perClass), 'plot-per-class'));
  parts.push('</div>');

  if (t.scenario.forgetExamples.length) {
    parts.push(`<h3>Forget set ΔD: examples</h3><div class="examples">`);
    for (const ex of t.scenario.forgetExamples) {
      const name = classNames[ex.label] ?? String(ex.label);
      parts.push(
        `<figure class="ex"><img src="${ex.png}" alt="forget sample, class ${esc(name)}" width="56" height="56"><figcaption>${esc(name)}</figcaption></figure>`,
      );
    }
    parts.push('</div>');
  }
  parts.push(methodNotes(t, results));
  parts.push('</section>');
  return parts.join('\n');
}

function figure(svg: string, cls: string): string {
  return `<figure class="plot ${cls}">${svg}</figure>`;
}

function htmlTable(t: ScenarioTable, columns: readonly MetricInfo[]): string {
  const head = columns
    .map(
      (c) =>
        `<th title="${esc(c.summary)}">${esc(shortName(c.id))}${esc(unitSuffix(c.unit, c.id))} <span class="dir">${esc(directionMark(c.direction))}</span></th>`,
    )
    .join('');
  const body = t.rows
    .map((r) => {
      const cells = columns
        .map((c) => {
          const text = esc(formatCell(r.summaries[c.id], c));
          return t.best[c.id]?.includes(r.label)
            ? `<td class="best">${text}</td>`
            : `<td>${text}</td>`;
        })
        .join('');
      const failed = r.failures.length > 0 && r.failures.length === r.seeds;
      const name =
        r.kind === 'retrain'
          ? 'retrain <small>(target)</small>'
          : `${esc(r.name)}${failed ? ' <small class="warn">(failed)</small>' : ''}`;
      return `<tr class="row-${r.kind}"><th scope="row">${name}</th>${cells}</tr>`;
    })
    .join('\n');
  return `<table class="results"><thead><tr><th>method</th>${head}</tr></thead><tbody>\n${body}\n</tbody></table>`;
}

/** Parameters and method-specific details of each method (first seed), folded away. */
function methodNotes(t: ScenarioTable, results: Results): string {
  const cells = results.cells.filter((c) => c.scenario === t.scenario.id && c.seed === t.seeds[0]);
  if (cells.length === 0) return '';
  const rows = cells
    .map(
      (c) =>
        `<tr><th scope="row">${esc(c.method)}</th><td><code>${esc(JSON.stringify(c.params))}</code></td><td><code>${esc(JSON.stringify(c.details).slice(0, 400))}</code></td></tr>`,
    )
    .join('\n');
  return `<details><summary>Method parameters and details (seed ${t.seeds[0]})</summary><table class="notes"><thead><tr><th>method</th><th>parameters</th><th>details</th></tr></thead><tbody>${rows}</tbody></table></details>`;
}

function esc(s: string): string {
  return s
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;');
}

const CSS = `
body{font:14px/1.45 "DejaVu Sans",Helvetica,Arial,sans-serif;color:#222;margin:0;background:#fafafa}
header,main{max-width:1200px;margin:0 auto;padding:0 20px}
h1{font-size:22px;margin:20px 0 6px}h2{font-size:18px;margin:0 0 4px}h3{font-size:15px;margin:18px 0 6px}
.meta{color:#555;margin:4px 0}.legend{color:#444;font-size:13px}
.scenario{background:#fff;border:1px solid #ddd;border-radius:6px;padding:16px 20px;margin:18px 0}
table.results{border-collapse:collapse;font-variant-numeric:tabular-nums;margin:4px 0 8px}
table.results th,table.results td{padding:3px 9px;border-bottom:1px solid #e4e4e4;text-align:right;white-space:nowrap}
table.results thead th{border-bottom:2px solid #999;font-weight:600}
table.results th[scope=row],table.results thead th:first-child{text-align:left}
tr.row-retrain{background:#fdecec}tr.row-original{background:#f1f1f1;color:#555}
td.best{background:#e3f4e1;font-weight:700}.best{background:#e3f4e1;font-weight:700}
.dir{color:#888;font-weight:400}
.plots{display:flex;flex-wrap:wrap;gap:10px;align-items:flex-start}
figure{margin:0}figure.plot{background:#fff;border:1px solid #eee;padding:4px}
.examples{display:flex;flex-wrap:wrap;gap:6px}
figure.ex{text-align:center;font-size:11px;color:#555}
figure.ex img{image-rendering:pixelated;border:1px solid #ccc;display:block}
.warn{color:#a40000}.note{color:#666;font-size:12px}
details{margin-top:10px}table.notes{font-size:12px;border-collapse:collapse}
table.notes td,table.notes th{border-bottom:1px solid #eee;padding:2px 8px;text-align:left;vertical-align:top}
code{font-size:11px;word-break:break-all}
`;
