/**
 * The page: controls, the sample grid, and the evidence; all tfjs work goes to worker.js.
 * `index.html?selftest` runs a tiny train + forget + evaluate and sets document.title to
 * `selftest ok {json}` (or `selftest failed: …`), for headless checks (docs/browser.md).
 */
import {
  type BrowserBackend,
  balancedSubset,
  checkLayersModelJson,
  Dataset,
  layerEntries,
} from '../src/browser.ts';
import { type Executed, execute } from './execute.ts';
import { parseMnistSubset, type RunConfig, type RunResult, TINY } from './run.ts';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const params = new URLSearchParams(location.search);
const picked = new Set<number>();

function showError(message: string): void {
  const el = $('error');
  el.textContent = message;
  el.hidden = false;
  $('status').textContent = 'Stopped.';
}

function drawDigit(pixels: ArrayLike<number>, offset = 0, scale = 1): HTMLCanvasElement {
  const c = document.createElement('canvas');
  c.width = 28;
  c.height = 28;
  const ctx = c.getContext('2d')!;
  const img = ctx.createImageData(28, 28);
  for (let i = 0; i < 784; i++) {
    const v = Math.round(pixels[offset + i] * scale);
    img.data.set([v, v, v, 255], i * 4);
  }
  ctx.putImageData(img, 0, 0);
  return c;
}

const fmt = (v: number | null | undefined) => (v === null || v === undefined ? '—' : v.toFixed(3));

function showResult(
  r: RunResult,
  files: { modelJson: string; weights: ArrayBuffer },
  record: unknown,
): void {
  const names: Record<string, string> = {
    ua: 'forget accuracy (1 − UA)',
    ra: 'retain accuracy',
    ta: 'test accuracy',
    'mia-efficacy': 'MIA-Efficacy',
    'bias-correlation': 'ρ (bias)',
  };
  const rows = Object.keys(names).map((id) => {
    // UA = 1 − forget accuracy (uib's metric); the page shows the accuracy itself as well.
    const b = id === 'ua' ? 1 - (r.before.ua ?? Number.NaN) : r.before[id];
    const a = id === 'ua' ? 1 - (r.after.ua ?? Number.NaN) : r.after[id];
    return `<tr><th>${names[id]}</th><td>${fmt(b)}</td><td>${fmt(a)}</td></tr>`;
  });
  rows.push(
    `<tr><th>cost (s): train / unlearn</th><td>${r.seconds.train}</td><td>${r.seconds.unlearn}</td></tr>`,
  );
  $('metrics').querySelector('tbody')!.innerHTML = rows.join('');
  const pc = $('perclass');
  pc.querySelector('thead')!.innerHTML =
    `<tr><th></th>${r.perClass.before.map((_, k) => `<th>${k}</th>`).join('')}</tr>`;
  pc.querySelector('tbody')!.innerHTML = (['before', 'after'] as const)
    .map((w) => `<tr><th>${w}</th>${r.perClass[w].map((v) => `<td>${fmt(v)}</td>`).join('')}</tr>`)
    .join('');
  const f = $('forgotten');
  f.innerHTML = '';
  for (const s of r.forgotten) {
    const fig = document.createElement('figure');
    fig.append(drawDigit(s.pixels));
    const cap = document.createElement('figcaption');
    cap.textContent = `${s.label}: ${s.before} → ${s.after}`;
    fig.append(cap);
    f.append(fig);
  }
  const link = (id: string, blob: Blob) =>
    (($(id) as HTMLAnchorElement).href = URL.createObjectURL(blob));
  link('dl-model', new Blob([files.modelJson], { type: 'application/json' }));
  link('dl-weights', new Blob([files.weights], { type: 'application/octet-stream' }));
  link('dl-record', new Blob([JSON.stringify(record, null, 2)], { type: 'application/json' }));
  $('evidence').hidden = false;
}

function finish(m: Executed): RunResult {
  showResult(m.result, m.files, m.record);
  // For the tests: the unlearned weights as model.save wrote them (weight-spec order).
  (window as unknown as { __uibWeights: Float32Array }).__uibWeights = new Float32Array(
    m.files.weights,
  );
  $('status').textContent = 'Done.';
  return m.result;
}

/** The interactive run: in worker.js, so the page stays responsive. */
function run(config: RunConfig, backend: string | undefined): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const worker = new Worker('worker.js', { type: 'module' });
    worker.onerror = (e) => reject(new Error(`worker: ${e.message}`));
    worker.onmessage = (ev) => {
      const m = ev.data;
      if (m.type === 'stage') $('status').textContent = `${m.stage}: ${m.detail}`;
      else if (m.type === 'error') {
        worker.terminate();
        reject(new Error(m.message));
      } else if (m.type === 'done') {
        worker.terminate();
        resolve(finish(m));
      }
    };
    worker.postMessage({ type: 'run', backend: backend || undefined, config });
  });
}

/** The self-test's run: on the main thread (see execute.ts for why). */
async function runHere(config: RunConfig, backend: string | undefined): Promise<RunResult> {
  const m = await execute(
    config,
    (backend || undefined) as BrowserBackend | undefined,
    location.href,
    (s) => {
      $('status').textContent = `${s.stage}: ${s.detail}`;
    },
  );
  return finish(m);
}

async function drawGrid(cfg: RunConfig): Promise<void> {
  const res = await fetch('mnist-subset.bin');
  const { train } = parseMnistSubset(new Uint8Array(await res.arrayBuffer()));
  // The same view the worker trains on, so a clicked cell is that training position.
  const view = balancedSubset(new Dataset(train), cfg.trainSize, cfg.seed, 'train');
  const src = view.sourceIndices();
  const grid = $('grid');
  for (let pos = 0; pos < Math.min(80, view.length); pos++) {
    const c = drawDigit(train.x as Uint8Array, src[pos] * 784);
    c.title = `position ${pos}, label ${train.y[src[pos]]}`;
    c.onclick = () => {
      if (picked.has(pos)) picked.delete(pos);
      else picked.add(pos);
      c.classList.toggle('picked');
    };
    grid.append(c);
  }
}

function configFromControls(): RunConfig {
  const kind = ($('forget') as HTMLSelectElement).value;
  const cls = Number(($('cls') as HTMLInputElement).value);
  const forget: RunConfig['forget'] =
    kind === 'class'
      ? { kind: 'class', cls }
      : kind === 'samples'
        ? { kind: 'samples', positions: [...picked] }
        : { kind: 'pattern', corruption: 'stripe', biasClass: cls };
  return {
    ...TINY,
    trainSize: 1000,
    epochs: 3,
    forget,
    method: ($('method') as HTMLSelectElement).value,
  };
}

/**
 * A model.json of the user's, checked by the same code as Node's loader (src/models/user-model-json.ts),
 * its verdict shown in the page. Only the topology: its weight files are not asked for here.
 */
async function checkDroppedFile(file: File): Promise<void> {
  $('error').hidden = true;
  let json: unknown;
  try {
    json = JSON.parse(await file.text());
  } catch (e) {
    showError(`${file.name}: not valid JSON (${e instanceof Error ? e.message : String(e)})`);
    return;
  }
  try {
    const { topology } = checkLayersModelJson(json, file.name);
    $('status').textContent =
      `${file.name}: a tfjs layers model of ${layerEntries(topology)?.length ?? 0} layers, all of kinds uib can unlearn.`;
  } catch (e) {
    showError(e instanceof Error ? e.message : String(e));
  }
}

async function main(): Promise<void> {
  if (params.has('selftest')) {
    document.title = 'selftest running';
    const backend = params.get('backend') ?? 'wasm';
    // ?train=N&epochs=E shrink the run further (the slow software-GL case of the tests).
    const num = (k: string, d: number) => (params.has(k) ? Number(params.get(k)) : d);
    const cfg = {
      ...TINY,
      trainSize: num('train', TINY.trainSize),
      testSize: num('test', TINY.testSize),
      epochs: num('epochs', TINY.epochs),
    };
    const hyper = params.has('params') ? JSON.parse(params.get('params')!) : undefined;
    const arch = params.get('arch') === 'mlp' ? 'mlp' : 'cnn';
    const r = await runHere(
      { ...cfg, arch, method: params.get('method') ?? 'uib-if', params: hyper },
      backend,
    );
    const summary = {
      backend: r.backend,
      counts: r.counts,
      before: r.before,
      after: r.after,
      seconds: r.seconds,
    };
    document.title = `selftest ok ${JSON.stringify(summary)}`;
    return;
  }
  const cfg = configFromControls();
  ($('file') as HTMLInputElement).onchange = (ev) => {
    const f = (ev.target as HTMLInputElement).files?.[0];
    if (f) checkDroppedFile(f).catch((e) => showError(String(e)));
  };
  await drawGrid(cfg);
  $('run').onclick = () => {
    $('error').hidden = true;
    const c = configFromControls();
    if (c.forget.kind === 'samples' && c.forget.positions.length === 0) {
      showError('Pick at least one sample in the grid first.');
      return;
    }
    run(c, ($('backend') as HTMLSelectElement).value).catch((e) => showError(e.message));
  };
}

main().catch((e) => {
  showError(e instanceof Error ? e.message : String(e));
  if (params.has('selftest'))
    document.title = `selftest failed: ${e instanceof Error ? e.message : String(e)}`;
});
