/**
 * The page: controls, the sample grid, and the evidence; all tfjs work goes to worker.js.
 * `index.html?selftest` runs a tiny train + forget + evaluate and sets document.title to
 * `selftest ok {json}` (or `selftest failed: …`), for headless checks (docs/browser.md).
 *
 * Files dropped on the page (or chosen in its file input) are checked by Node's own loaders:
 * a model.json by src/models/user-model-json.ts, an image set by src/data/user/from-bytes.ts.
 * A bad one shows the loader's one-line message; a good image set becomes the training data.
 */
import {
  type BrowserBackend,
  type BytesFile,
  checkLayersModelJson,
  checkSize,
  type DataSource,
  imageSetFromBytes,
  layerEntries,
  type UserDataset,
  withStreamInflate,
} from '../src/browser.ts';
import { type Executed, execute } from './execute.ts';
import {
  checkPatternFits,
  type PageData,
  pageSources,
  parseMnistSubset,
  type RunConfig,
  type RunResult,
  type RunSources,
  TEST_FRACTION,
  TINY,
  trainView,
} from './run.ts';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const params = new URLSearchParams(location.search);
const picked = new Set<number>();
/** The user's image set once one is dropped; until then the served MNIST subset. */
let userData: PageData | null = null;
let mnist: RunSources | null = null;

function showError(message: string): void {
  const el = $('error');
  el.textContent = message;
  el.hidden = false;
  $('status').textContent = 'Stopped.';
}

/**
 * One sample as a canvas: `shape` [h, w, c] (c = 1 grey, c ≥ 3 the first three as RGB, c = 2 its
 * first channel), [d] as a 1×d strip. `scale` maps values to 0–255 (bytes: 1; model inputs in
 * [0, 1]: 255); values outside 0–255 after it (floats of another range) are min–max stretched.
 */
function drawDigit(
  pixels: ArrayLike<number>,
  shape: readonly number[],
  offset = 0,
  scale = 1,
): HTMLCanvasElement {
  const [h, w, ch] = shape.length >= 2 ? [shape[0], shape[1], shape[2] ?? 1] : [1, shape[0], 1];
  const n = h * w * ch;
  let lo = 0;
  let hi = 255;
  let mn = Number.POSITIVE_INFINITY;
  let mx = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < n; i++) {
    const v = pixels[offset + i] * scale;
    if (v < mn) mn = v;
    if (v > mx) mx = v;
  }
  if (mn < 0 || mx > 255) [lo, hi] = [mn, mx > mn ? mx : mn + 1];
  const c = document.createElement('canvas');
  c.width = w;
  c.height = h;
  const ctx = c.getContext('2d')!;
  const img = ctx.createImageData(w, h);
  const px = (i: number) => Math.round(((pixels[offset + i] * scale - lo) / (hi - lo)) * 255);
  for (let p = 0; p < h * w; p++) {
    const at = p * ch;
    const rgb = ch >= 3 ? [px(at), px(at + 1), px(at + 2)] : [px(at), px(at), px(at)];
    img.data.set([...rgb, 255], p * 4);
  }
  ctx.putImageData(img, 0, 0);
  return c;
}

const fmt = (v: number | null | undefined) => (v === null || v === undefined ? '—' : v.toFixed(3));

function showResult(m: Executed): void {
  const r = m.result;
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
    fig.append(drawDigit(s.pixels, r.sampleShape));
    const cap = document.createElement('figcaption');
    cap.textContent = `${s.label}: ${s.before} → ${s.after}`;
    fig.append(cap);
    f.append(fig);
  }
  const link = (id: string, blob: Blob) =>
    (($(id) as HTMLAnchorElement).href = URL.createObjectURL(blob));
  // The record's SHA-256s are of exactly these bytes (save.ts), so sha256sum checks the downloads.
  link('dl-model', new Blob([m.files.modelJson], { type: 'application/json' }));
  link('dl-weights', new Blob([m.files.weights], { type: 'application/octet-stream' }));
  link('dl-original-model', new Blob([m.originalFiles.modelJson], { type: 'application/json' }));
  link(
    'dl-original-weights',
    new Blob([m.originalFiles.weights], { type: 'application/octet-stream' }),
  );
  link('dl-record', new Blob([JSON.stringify(m.record, null, 2)], { type: 'application/json' }));
  $('evidence').hidden = false;
}

function finish(m: Executed): RunResult {
  showResult(m);
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
    // The worker gets its own copy of the dropped set (the page keeps it for the grid and later
    // runs); the copy's buffers are transferred, not cloned again.
    const data = userData && { ...userData, x: userData.x.slice(), y: userData.y.slice() };
    worker.postMessage(
      { type: 'run', backend: backend || undefined, config, data: data ?? undefined },
      data ? [data.x.buffer, data.y.buffer] : [],
    );
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

async function currentSources(cfg: RunConfig): Promise<RunSources> {
  if (userData) return { ...pageSources(userData, cfg.seed), user: true };
  if (!mnist) {
    const res = await fetch('mnist-subset.bin');
    if (!res.ok) throw new Error(`mnist-subset.bin: HTTP ${res.status}`);
    mnist = parseMnistSubset(new Uint8Array(await res.arrayBuffer()));
  }
  return mnist;
}

async function drawGrid(cfg: RunConfig): Promise<void> {
  const sources = await currentSources(cfg);
  const train: DataSource = sources.train;
  // The same view the worker trains on, so a clicked cell is that training position.
  const view = trainView(sources, cfg);
  const size = train.sampleShape.reduce((a, b) => a * b, 1);
  const scale = train.scale * 255; // to 0–255: bytes as stored, floats in [0, 1] × 255
  const grid = $('grid');
  grid.innerHTML = '';
  picked.clear();
  for (let pos = 0; pos < Math.min(80, view.length); pos++) {
    const s = view.at(pos);
    const c = drawDigit(train.x, train.sampleShape, s * size, scale);
    c.title = `position ${pos}, label ${train.classNames?.[train.y[s]] ?? train.y[s]}`;
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
async function checkDroppedModel(file: File): Promise<void> {
  let json: unknown;
  try {
    json = JSON.parse(await file.text());
  } catch (e) {
    showError(`${file.name}: not valid JSON (${e instanceof Error ? e.message : String(e)})`);
    return;
  }
  const { topology } = checkLayersModelJson(json, file.name);
  $('status').textContent =
    `${file.name}: a tfjs layers model of ${layerEntries(topology)?.length ?? 0} layers, all of kinds uib can unlearn.`;
}

/** "N images H×W×C, K classes" (or "N samples of shape [d]"). */
function describeSet(ds: UserDataset): string {
  const s = ds.sampleShape;
  const what =
    s.length === 3 ? `${ds.length} images ${s.join('×')}` : `${ds.length} samples of shape [${s}]`;
  return `${what}, ${ds.numClasses} classes`;
}

/**
 * An image set (x.npy + y.npy, an IDX pair, one .npz), read by the loaders Node uses
 * (src/data/user/from-bytes.ts): gzip and deflate through the browser's DecompressionStream,
 * with Node's caps and messages. A good set becomes the training data of the next run.
 */
async function loadDroppedSet(files: File[]): Promise<void> {
  for (const f of files) checkSize(f.name, f.size);
  const bytes: BytesFile[] = await Promise.all(
    files.map(async (f) => ({ name: f.name, bytes: new Uint8Array(await f.arrayBuffer()) })),
  );
  const ds = await withStreamInflate((inflate) => imageSetFromBytes(bytes, { inflate }));
  const src = ds.source;
  const data: PageData = {
    name: src.name,
    format: src.format,
    sampleShape: [...src.sampleShape],
    // Own copies: the loaders' arrays are views into the files' bytes.
    x: src.x.slice(),
    scale: src.scale,
    y: src.y.slice(),
    numClasses: src.numClasses,
    classNames: [...(src.classNames ?? [])],
    files: src.files.map(({ name, bytes, sha256 }) => ({ name, bytes, sha256 })),
    sha256: src.sha256,
  };
  const cfg = configFromControls();
  pageSources(data, cfg.seed); // refuses a set too small to split before it replaces the data
  userData = data;
  const cls = $('cls') as HTMLInputElement;
  cls.max = String(data.numClasses - 1);
  if (Number(cls.value) > data.numClasses - 1) cls.value = String(data.numClasses - 1);
  const pct = Math.round(TEST_FRACTION * 100);
  $('data').textContent =
    `Training data: ${src.name}: ${describeSet(ds)}. The next run trains on ${100 - pct} % of it (up to ${cfg.trainSize.toLocaleString('en')} samples) and tests on a held-out ${pct} %, both chosen by the seed.`;
  $('status').textContent = `${src.name}: ${describeSet(ds)}.`;
  await drawGrid(cfg);
}

/** Dropped or chosen files: a model.json is a model to check, anything else an image set. */
async function takeFiles(files: File[]): Promise<void> {
  $('error').hidden = true;
  if (files.length === 0) return;
  try {
    const json = files.find((f) => f.name.toLowerCase().endsWith('.json'));
    if (json) await checkDroppedModel(json);
    else await loadDroppedSet(files);
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
  const input = $('file') as HTMLInputElement;
  input.onchange = () => {
    takeFiles(Array.from(input.files ?? [])).finally(() => {
      input.value = ''; // the same file chosen again is a change again
    });
  };
  document.addEventListener('dragover', (ev) => ev.preventDefault());
  document.addEventListener('drop', (ev) => {
    ev.preventDefault(); // else the browser opens the file in place of the page
    takeFiles(Array.from(ev.dataTransfer?.files ?? []));
  });
  await drawGrid(cfg);
  $('run').onclick = () => {
    $('error').hidden = true;
    const c = configFromControls();
    if (c.forget.kind === 'samples' && c.forget.positions.length === 0) {
      showError('Pick at least one sample in the grid first.');
      return;
    }
    try {
      if (userData && c.forget.kind === 'pattern') checkPatternFits(userData);
    } catch (e) {
      showError(e instanceof Error ? e.message : String(e));
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
