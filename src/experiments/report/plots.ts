/**
 * Plots for the HTML report, as SVG strings made in Node: a vega-lite spec is compiled to vega
 * and rendered headless (`View.toSVG()`), so the report embeds finished drawings and needs no
 * JavaScript. Data is always inline; the loader refuses every URL, so rendering never touches
 * the network.
 */

import * as vega from 'vega';
import * as vl from 'vega-lite';
import { ENSEMBLE_BAND_SDS } from '../../eval/ensemble.ts';
import { CHART_METRIC_IDS } from '../../eval/registry.ts';
import type { ScenarioTable } from '../aggregate.ts';
import type { MetricInfo } from '../results-schema.ts';
import { directionMark, rangeOf, scaled, shortName, shownInterval, unitSuffix } from './format.ts';

type VlSpec = vl.TopLevelSpec;

const FONT = 'DejaVu Sans, Helvetica, Arial, sans-serif';
const CONFIG = {
  font: FONT,
  view: { stroke: null },
  axis: { labelFontSize: 11, titleFontSize: 11, grid: true, gridColor: '#eee' },
  title: { fontSize: 13, anchor: 'start' as const },
};
const COLOURS = { retrain: '#d62728', original: '#7f7f7f', method: '#4c78a8', uib: '#2ca02c' };

/** Render a vega-lite spec to an SVG string. */
export async function renderSvg(spec: VlSpec): Promise<string> {
  const compiled = vl.compile({
    ...spec,
    config: { ...CONFIG, ...(spec.config ?? {}) },
  } as VlSpec).spec;
  const noNetwork = vega.loader();
  noNetwork.load = async (uri: string) => {
    throw new Error(`plots: refusing to load ${uri}; report plots use inline data only`);
  };
  const view = new vega.View(vega.parse(compiled), { renderer: 'none', loader: noNetwork });
  try {
    const svg = await view.toSVG();
    return svg.replace(/^<svg /, '<svg role="img" ');
  } finally {
    view.finalize();
  }
}

function colourOf(label: string, kind: string): string {
  if (kind === 'retrain') return COLOURS.retrain;
  if (kind === 'original') return COLOURS.original;
  return label.includes('uib') ? COLOURS.uib : COLOURS.method;
}

/**
 * One metric: a bar per method (mean, with its interval clipped to the metric's range as an error
 * bar), Retrain's mean as a dashed red reference line over the band of its ensemble's spread
 * (± 2 sd over members and seeds). The original model is drawn grey for comparison.
 */
export function metricBarSpec(t: ScenarioTable, metric: MetricInfo): VlSpec | null {
  const retrain = t.rows.find((r) => r.kind === 'retrain')?.summaries[metric.id];
  const range = rangeOf(metric);
  const values = t.rows
    .filter((r) => r.kind !== 'retrain' && r.summaries[metric.id]?.mean !== null)
    .map((r) => {
      const s = r.summaries[metric.id];
      const shown = shownInterval(s, range); // clipped to the metric's range, as in the tables
      return {
        method: r.name,
        mean: scaled(s.mean as number, metric.unit),
        lo: shown === null ? null : scaled(shown.lo, metric.unit),
        hi: shown === null ? null : scaled(shown.hi, metric.unit),
        colour: colourOf(r.label, r.kind),
      };
    });
  if (values.length === 0) return null;
  const order = values.map((v) => v.method);
  const title = `${shortName(metric.id)}${unitSuffix(metric.unit, metric.id)} ${directionMark(metric.direction)}`;
  const layers: unknown[] = [
    {
      mark: { type: 'bar', width: { band: 0.7 } },
      encoding: {
        x: {
          field: 'method',
          type: 'nominal',
          sort: order,
          axis: { labelAngle: -40, title: null },
        },
        y: { field: 'mean', type: 'quantitative', title: null },
        color: { field: 'colour', type: 'nominal', scale: null },
        tooltip: [{ field: 'method' }, { field: 'mean', format: '.4g' }],
      },
    },
    {
      transform: [{ filter: 'datum.lo !== null' }],
      mark: { type: 'rule', color: '#222' },
      encoding: {
        x: { field: 'method', type: 'nominal', sort: order },
        y: { field: 'lo', type: 'quantitative' },
        y2: { field: 'hi' },
      },
    },
  ];
  if (retrain && retrain.mean !== null && retrain.sd !== null && retrain.sd > 0) {
    // The Retrain ensemble's spread (members × seeds): a band of ± ENSEMBLE_BAND_SDS sd, clipped.
    const lo = Math.max(retrain.mean - ENSEMBLE_BAND_SDS * retrain.sd, range.min ?? -Infinity);
    const hi = Math.min(retrain.mean + ENSEMBLE_BAND_SDS * retrain.sd, range.max ?? Infinity);
    layers.unshift({
      data: { values: [{ lo: scaled(lo, metric.unit), hi: scaled(hi, metric.unit) }] },
      mark: { type: 'rect', color: COLOURS.retrain, opacity: 0.15 },
      encoding: { y: { field: 'lo', type: 'quantitative' }, y2: { field: 'hi' } },
    });
  }
  if (retrain && retrain.mean !== null) {
    const ref = scaled(retrain.mean, metric.unit);
    layers.push(
      {
        data: { values: [{ ref }] },
        mark: { type: 'rule', color: COLOURS.retrain, strokeDash: [5, 3], strokeWidth: 2 },
        encoding: { y: { field: 'ref', type: 'quantitative' } },
      },
      {
        data: { values: [{ ref, text: 'Retrain' }] },
        mark: { type: 'text', color: COLOURS.retrain, align: 'left', dx: 2, dy: -6, x: 0 },
        encoding: { y: { field: 'ref', type: 'quantitative' }, text: { field: 'text' } },
      },
    );
  }
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title,
    width: Math.max(160, 26 * values.length),
    height: 150,
    data: { values },
    layer: layers,
  } as VlSpec;
}

/** Cost versus distance to Retrain: wall time (log scale) against Avg. Gap, one point per method. */
export function costGapSpec(t: ScenarioTable): VlSpec | null {
  const values = t.rows
    .filter((r) => r.kind === 'method')
    .map((r) => ({
      method: r.name,
      timeS: r.summaries['time-ms']?.mean,
      gap: r.summaries['avg-gap']?.mean,
      colour: colourOf(r.label, r.kind),
    }))
    .filter((v) => typeof v.timeS === 'number' && typeof v.gap === 'number' && v.timeS > 0)
    .map((v) => ({ ...v, timeS: (v.timeS as number) / 1000 }));
  if (values.length === 0) return null;
  const retrainMs = t.rows.find((r) => r.kind === 'retrain')?.summaries['time-ms']?.mean;
  const layers: unknown[] = [
    {
      mark: { type: 'point', filled: true, size: 70 },
      encoding: {
        x: {
          field: 'timeS',
          type: 'quantitative',
          scale: { type: 'log' },
          title: 'unlearning time (s, log scale)',
        },
        y: { field: 'gap', type: 'quantitative', title: 'Avg. Gap to Retrain (pp) ↓' },
        color: { field: 'colour', type: 'nominal', scale: null },
      },
    },
    {
      mark: { type: 'text', align: 'left', dx: 6, fontSize: 11 },
      encoding: {
        x: { field: 'timeS', type: 'quantitative', scale: { type: 'log' } },
        y: { field: 'gap', type: 'quantitative' },
        text: { field: 'method' },
      },
    },
  ];
  if (typeof retrainMs === 'number' && retrainMs > 0) {
    layers.push({
      data: { values: [{ t: retrainMs / 1000, text: 'Retrain time' }] },
      layer: [
        {
          mark: { type: 'rule', color: COLOURS.retrain, strokeDash: [5, 3], strokeWidth: 2 },
          encoding: { x: { field: 't', type: 'quantitative', scale: { type: 'log' } } },
        },
        {
          mark: {
            type: 'text',
            color: COLOURS.retrain,
            angle: 270,
            dx: -4,
            dy: -6,
            y: 0,
            align: 'right',
          },
          encoding: {
            x: { field: 't', type: 'quantitative', scale: { type: 'log' } },
            text: { field: 'text' },
          },
        },
      ],
    });
  }
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: 'Cost versus distance to Retrain (lower left is better)',
    width: 420,
    height: 260,
    data: { values },
    layer: layers,
  } as VlSpec;
}

/** Per-class test accuracy, methods × classes, as a heat map with the values written in. */
export function perClassSpec(t: ScenarioTable, classNames: readonly string[]): VlSpec | null {
  const values: { method: string; cls: string; acc: number }[] = [];
  for (const r of t.rows) {
    r.perClassTestAccuracy.forEach((a, c) => {
      if (a !== null)
        values.push({ method: r.name, cls: classNames[c] ?? String(c), acc: 100 * a });
    });
  }
  if (values.length === 0) return null;
  const methods = t.rows.map((r) => r.name);
  const classes = [...new Set(values.map((v) => v.cls))];
  // Colour spans the bulk of the values, so a few points of difference between classes stay
  // visible even when one collapsed model (accuracy near 0) is in the table; lower values clamp.
  const sorted = values.map((v) => v.acc).sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)];
  const lo = Math.min(99, sorted.find((a) => a >= median - 30) ?? median);
  const mid = (lo + 100) / 2;
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: 'Per-class test accuracy (%)',
    data: { values },
    width: Math.max(200, 44 * classes.length),
    height: 22 * methods.length,
    encoding: {
      x: { field: 'cls', type: 'ordinal', sort: classes, title: 'class', axis: { labelAngle: 0 } },
      y: { field: 'method', type: 'nominal', sort: methods, title: null },
    },
    layer: [
      {
        mark: 'rect',
        encoding: {
          color: {
            field: 'acc',
            type: 'quantitative',
            scale: { scheme: 'blues', domain: [lo, 100], clamp: true },
            legend: null,
          },
        },
      },
      {
        mark: { type: 'text', fontSize: 10 },
        encoding: {
          text: { field: 'acc', type: 'quantitative', format: '.0f' },
          color: { condition: { test: `datum.acc > ${mid}`, value: 'white' }, value: 'black' },
        },
      },
    ],
  } as VlSpec;
}

/** The metrics that get a bar chart, in registry order, where the scenario has them. */
export const KEY_METRICS: readonly string[] = CHART_METRIC_IDS;
