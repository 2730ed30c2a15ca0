/**
 * Look at a scenario: counts per class / group / split as a text table, and a PNG grid of example
 * images (one row per split), because a person judges a corruption by eye, not by its name.
 */
import { PNG } from 'pngjs';
import { writeFileAtomic } from '../../core/atomic.ts';
import { UsageError } from '../../core/errors.ts';
import { type Dataset, sampleSize } from '../dataset.ts';
import type { Scenario } from './index.ts';

/** The named views of a scenario, in display order (absent ones skipped). */
export function scenarioViews(s: Scenario): [string, Dataset][] {
  const views: [string, Dataset | undefined][] = [
    ['train', s.train],
    ['forget', s.forget],
    ['retain', s.retain],
    ['test', s.test],
    ['biased-test', s.biasedTest],
    ['trigger-test', s.triggerTest],
  ];
  return views.filter((v): v is [string, Dataset] => v[1] !== undefined);
}

function pad(s: string | number, n: number): string {
  return String(s).padStart(n);
}

/** Counts per class for each view, then b(x) = 1 and group counts where the data has them. */
export function describeScenario(s: Scenario): string {
  const m = s.manifest;
  const views = scenarioViews(s);
  const classNames = s.train.source.classNames ?? [];
  const k = s.train.numClasses;
  const w = Math.max(7, ...views.map(([n]) => n.length + 1));
  const out: string[] = [];
  const { kind, ...params } = m.scenario;
  out.push(`scenario ${kind} on ${m.dataset.id}, seed ${m.seed}: ${JSON.stringify(params)}`);
  out.push(`${'class'.padEnd(14)}${views.map(([n]) => pad(n, w)).join('')}`);
  const counts = views.map(([, v]) => {
    const c = new Array<number>(k).fill(0);
    for (let i = 0; i < v.length; i++) c[v.label(i)]++;
    return c;
  });
  for (let c = 0; c < k; c++) {
    if (counts.every((col) => col[c] === 0)) continue;
    const name = classNames[c] && classNames[c] !== String(c) ? `${c} ${classNames[c]}` : String(c);
    out.push(`${name.slice(0, 13).padEnd(14)}${counts.map((col) => pad(col[c], w)).join('')}`);
  }
  out.push(`${'total'.padEnd(14)}${views.map(([, v]) => pad(v.length, w)).join('')}`);
  const metaRow = (label: string, f: (v: Dataset) => number | null) => {
    const vals = views.map(([, v]) => f(v));
    if (vals.some((x) => x !== null)) {
      out.push(`${label.slice(0, 13).padEnd(14)}${vals.map((x) => pad(x ?? '-', w)).join('')}`);
    }
  };
  metaRow('b(x)=1', (v) => countWhere(v, v.source.meta.bias, 1));
  const groupNames = s.train.source.meta.groupNames ?? s.test.source.meta.groupNames;
  groupNames?.forEach((g, gi) => {
    metaRow(`group ${g}`, (v) => countWhere(v, v.source.meta.group, gi));
  });
  return out.join('\n');
}

function countWhere(v: Dataset, arr: Uint8Array | undefined, value: number): number | null {
  if (!arr) return null;
  let n = 0;
  for (let i = 0; i < v.length; i++) if (arr[v.at(i)] === value) n++;
  return n;
}

/**
 * Write a PNG: one row of `perRow` images per view (forget, retain, test, biased/trigger test),
 * each image scaled `zoom` times; returns the row names, top to bottom.
 */
export function writeScenarioGrid(s: Scenario, file: string, perRow = 10, zoom = 3): string[] {
  const shape = s.train.sampleShape;
  if (shape.length !== 3) {
    throw new UsageError(
      '--png',
      `${s.manifest.dataset.id} is tabular; there are no images to draw`,
    );
  }
  const rows = scenarioViews(s).filter(([n]) => n !== 'train');
  const [h, w] = shape;
  const gap = 4;
  const cellW = w * zoom + gap;
  const cellH = h * zoom + gap;
  const png = new PNG({ width: perRow * cellW + gap, height: rows.length * cellH + gap });
  // Mid-grey frame, so black image borders stay visible.
  png.data.fill(96);
  for (let i = 3; i < png.data.length; i += 4) png.data[i] = 255;
  rows.forEach(([, view], r) => {
    const picks = examplePositions(view, perRow);
    picks.forEach((pos, c) => {
      drawSample(png, view, pos, gap + c * cellW, gap + r * cellH, zoom);
    });
  });
  writeFileAtomic(file, PNG.sync.write(png));
  return rows.map(([n]) => n);
}

/** Evenly spaced positions; in a view with b(x), half with the pattern and half without. */
function examplePositions(view: Dataset, n: number): number[] {
  const spaced = (pos: number[], k: number) =>
    Array.from(
      { length: Math.min(k, pos.length) },
      (_, i) => pos[Math.floor((i * pos.length) / Math.min(k, pos.length))],
    );
  const all = Array.from({ length: view.length }, (_, i) => i);
  const bias = view.source.meta.bias;
  if (!bias) return spaced(all, n);
  const marked = all.filter((i) => bias[view.at(i)] === 1);
  const clean = all.filter((i) => bias[view.at(i)] !== 1);
  if (marked.length === 0 || clean.length === 0) return spaced(all, n);
  const a = spaced(marked, Math.ceil(n / 2));
  return [...a, ...spaced(clean, n - a.length)];
}

function drawSample(
  png: PNG,
  view: Dataset,
  pos: number,
  x0: number,
  y0: number,
  zoom: number,
): void {
  const [h, w, ch] = view.sampleShape;
  const size = sampleSize(view.sampleShape);
  const { x, scale } = view.source;
  const off = view.at(pos) * size;
  const byte = (v: number) => Math.max(0, Math.min(255, Math.round(v * scale * 255)));
  for (let r = 0; r < h * zoom; r++) {
    for (let c = 0; c < w * zoom; c++) {
      const p = off + (Math.floor(r / zoom) * w + Math.floor(c / zoom)) * ch;
      const o = ((y0 + r) * png.width + x0 + c) * 4;
      png.data[o] = byte(x[p]);
      png.data[o + 1] = byte(x[ch === 3 ? p + 1 : p]);
      png.data[o + 2] = byte(x[ch === 3 ? p + 2 : p]);
    }
  }
}
