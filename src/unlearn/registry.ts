/**
 * The unlearning methods, by id. One explicit frozen list; `<id>+uib` variants are composed here
 * (never a file) for every method with `supportsUib`. `unlearn()` is the one entry point: it
 * validates hyper-parameters, hides D_r from methods that must not read it, runs the method on a
 * seeded context, checks that the original model came back untouched, and reports the cost.
 * When a method throws, every tfjs variable created during its run (clones, optimizer slots) is
 * disposed before the error goes on, so no method needs its own cleanup for that case.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { z } from 'zod';
import { DivergenceError, UsageError } from '../core/errors.ts';
import { sha256 } from '../core/hash.ts';
import { rngFor } from '../core/rng.ts';
import type { Dataset } from '../data/dataset.ts';
import { checkSupported, logitsTwin, restoreOutputActivation } from '../models/describe.ts';
import type { ModelSpec } from '../models/types.ts';
import { modelWeightsProblem, weightScale } from '../models/weight-guard.ts';
import { CostCounter } from '../train/cost.ts';
import { trainLoop } from '../train/loop.ts';
import type { TrainRecipe } from '../train/types.ts';
import { boundaryShrink } from './methods/boundary-shrink.ts';
import { dfr } from './methods/dfr.ts';
import { fisherForgetting } from './methods/fisher-forgetting.ts';
import { ft } from './methods/ft.ts';
import { ga } from './methods/ga.ts';
import { iu } from './methods/iu.ts';
import { jtt } from './methods/jtt.ts';
import { l1Sparse } from './methods/l1-sparse.ts';
import { negGradPlus } from './methods/neg-grad-plus.ts';
import { retrain } from './methods/retrain.ts';
import { rl } from './methods/rl.ts';
import { salun } from './methods/salun.ts';
import { scrub } from './methods/scrub.ts';
import { ssd } from './methods/ssd.ts';
import { uibIf } from './methods/uib-if.ts';
import type { UnlearnContext, UnlearnData, UnlearnMethod, UnlearnResult } from './types.ts';
import type { FisherCacheSource } from './uib/fisher-cache.ts';
import {
  boundValue,
  buildUibPlugin,
  type DisposablePenalty,
  priorParams,
} from './uib/regularizer.ts';

/** The id of the reference method: what runners and reports compare every other method with. */
export const RETRAIN_ID = 'retrain' as const;
if (retrain.id !== RETRAIN_ID) throw new Error(`registry: Retrain's id is ${retrain.id}`);

// ---------------------------------------------------------------------------------------------
// `<id>+uib`: the base method's loss plus (β / n_r)·Σ_l R^(l)(θ^(l)) around the dynamic prior.

/** Prior hyper-parameters are prefixed in variants (`priorTau`), as `alpha` etc. clash with the bases'. */
const prefixed = (k: string) => `prior${k[0].toUpperCase()}${k.slice(1)}`;
const priorShape: z.ZodRawShape = Object.fromEntries(
  Object.entries(priorParams).map(([k, v]) => [prefixed(k), v]),
);

export function uibVariant(base: UnlearnMethod): UnlearnMethod {
  if (!(base.params instanceof z.ZodObject))
    throw new Error(`registry: ${base.id}'s params must be a zod object`);
  const baseKeys = Object.keys(base.params.shape);
  const params = base.params.extend({
    beta: z
      .number()
      .min(0)
      .max(1e9)
      .default(1)
      .describe('β: weight of the UIB bound R (scaled by 1/n_r)'),
    ...priorShape,
  });
  return {
    id: `${base.id}+uib`,
    baseId: base.id,
    summary: `${base.summary}; plus the UIB regulariser`,
    params,
    readsRetain: true, // the dynamic prior reads D_r (F_r) as well as ΔD
    supportsUib: false,
    async run(ctx, p: Record<string, unknown>) {
      const priorRaw: Record<string, unknown> = { beta: p.beta };
      for (const k of Object.keys(priorParams)) priorRaw[k] = p[prefixed(k)];
      const plugin = await buildUibPlugin(ctx, priorRaw);
      // One penalty per model trained (SCRUB's student runs many loops), freed after the run.
      const made = new Map<LayersModel, DisposablePenalty>();
      let trained = false;
      const train: UnlearnContext['train'] = (opts) => {
        trained = true;
        let penalty = made.get(opts.model);
        if (!penalty) {
          penalty = plugin.penalty(opts.model);
          made.set(opts.model, penalty);
        }
        return ctx.train({ ...opts, penalties: [...(opts.penalties ?? []), penalty] });
      };
      const baseParams = Object.fromEntries(baseKeys.map((k) => [k, p[k]]));
      try {
        const out = await base.run({ ...ctx, train }, baseParams);
        if (!trained)
          throw new Error(
            `registry: ${base.id} declares supportsUib but never trains through ctx.train; ${base.id}+uib would lack its bound`,
          );
        return {
          ...out,
          phases: { ...plugin.prior.record.timeMs, ...(out.phases ?? {}) },
          details: {
            ...(out.details ?? {}),
            prior: plugin.prior.record,
            // Σ_l R^(l) (unscaled) at the result: how far it ended from the bound's centre.
            boundAtEnd: boundValue(plugin.prior, out.model, plugin.centre),
          },
        };
      } finally {
        // Penalties own μ and Λ as tensors; every one made for this run is freed here.
        for (const penalty of made.values()) penalty.dispose();
      }
    },
  };
}

/** The base methods, in the order `uib methods` lists them. */
export const BASE_METHODS: readonly UnlearnMethod[] = Object.freeze([
  retrain,
  ft,
  ga,
  negGradPlus,
  rl,
  l1Sparse,
  iu,
  salun,
  scrub,
  ssd,
  fisherForgetting,
  boundaryShrink,
  dfr, // group-robustness baselines (issue 16): DFR, JTT
  jtt,
  uibIf,
] as UnlearnMethod[]);

/** Every method: the base list, then `<id>+uib` for each base method that supports it. */
export const METHODS: readonly UnlearnMethod[] = Object.freeze([
  ...BASE_METHODS,
  ...BASE_METHODS.filter((m) => m.supportsUib).map((m) => uibVariant(m)),
]);

const byId = new Map<string, UnlearnMethod>();
for (const m of METHODS) {
  if (byId.has(m.id)) throw new Error(`registry: duplicate method id "${m.id}"`);
  byId.set(m.id, m);
}

export function listMethods(): readonly UnlearnMethod[] {
  return METHODS;
}

export function getMethod(id: string, where = '--method'): UnlearnMethod {
  const m = byId.get(id);
  if (!m)
    throw new UsageError(
      where,
      `unknown method "${id}"; must be one of ${[...byId.keys()].join(', ')}`,
    );
  return m;
}

// ---------------------------------------------------------------------------------------------
// Hyper-parameters: one validator, one message shape (parameter, allowed values, value received).

interface FieldSchema {
  type?: string;
  enum?: unknown[];
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  default?: unknown;
  description?: string;
}

/** Each hyper-parameter of a method as JSON Schema (type, range, default, description). */
export function paramFields(method: UnlearnMethod): Record<string, FieldSchema> {
  const schema = z.toJSONSchema(method.params, { io: 'input', unrepresentable: 'any' }) as {
    properties?: Record<string, FieldSchema>;
  };
  return schema.properties ?? {};
}

/** "a number in (0, 1]", "an integer ≥ 1", "one of sgd, adam". */
export function describeField(f: FieldSchema): string {
  if (f.enum) return `one of ${f.enum.join(', ')}`;
  const kind =
    f.type === 'integer'
      ? 'an integer'
      : f.type === 'boolean'
        ? 'true or false'
        : `a ${f.type ?? 'value'}`;
  const lo = f.exclusiveMinimum ?? f.minimum;
  const hi = f.exclusiveMaximum ?? f.maximum;
  const big = (x: number | undefined) => x === undefined || Math.abs(x) >= Number.MAX_SAFE_INTEGER;
  if (big(lo) && big(hi)) return kind;
  if (big(hi)) return `${kind} ${f.exclusiveMinimum !== undefined ? '>' : '≥'} ${lo}`;
  if (big(lo)) return `${kind} ${f.exclusiveMaximum !== undefined ? '<' : '≤'} ${hi}`;
  const open = f.exclusiveMinimum !== undefined ? '(' : '[';
  const close = f.exclusiveMaximum !== undefined ? ')' : ']';
  return `${kind} in ${open}${lo}, ${hi}${close}`;
}

/** Validate `raw` against the method's schema (defaults filled in); UsageError on the first fault. */
export function parseParams(
  method: UnlearnMethod,
  raw: Record<string, unknown> = {},
): Record<string, unknown> {
  // `__proto__` given as a key (own, from JSON, or set as the prototype by `raw[k] = v`) would
  // reach the schema as an inherited value and pass the unknown-key check: refuse it by name.
  const proto = Object.getPrototypeOf(raw);
  if (proto !== Object.prototype && proto !== null)
    throw new UsageError(`${method.id}.__proto__`, 'is not a hyper-parameter name');
  for (const key of Object.keys(raw))
    if (key === '__proto__' || key === 'constructor' || key === 'prototype')
      throw new UsageError(`${method.id}.${key}`, 'is not a hyper-parameter name');
  const r = method.params.safeParse(raw);
  if (r.success) return r.data as Record<string, unknown>;
  const issue = r.error.issues[0];
  const fields = paramFields(method);
  if (issue.code === 'unrecognized_keys') {
    const key = issue.keys[0];
    throw new UsageError(
      `${method.id}.${key}`,
      `unknown hyper-parameter; ${method.id} takes ${Object.keys(fields).join(', ') || 'none'}`,
    );
  }
  const key = String(issue.path[0] ?? '');
  const f = fields[key];
  const got = JSON.stringify(raw[key]) ?? 'nothing';
  throw new UsageError(
    `${method.id}.${key}`,
    `must be ${f ? describeField(f) : 'valid'}; got ${got}`,
  );
}

// ---------------------------------------------------------------------------------------------
// Running a method.

export interface UnlearnInputs {
  /** Any tfjs-layers model of the supported layers (models/describe.ts); logits or softmax out. */
  original: LayersModel;
  /** uib's spec of `original` when uib built it; omit for a model of your own. */
  spec?: ModelSpec;
  recipe: TrainRecipe;
  data: UnlearnData;
  /** Seeds every random choice of the run. */
  seed: number;
  /** n = |D|; default |D_r| + |ΔD|. */
  numTrain?: number;
  /** A cached F_D to use when the method's `useCache` asks (Node: `fisherCacheIn(checkpointDir)`). */
  fisherCache?: FisherCacheSource;
  /**
   * The method's precomputed state given by the caller (e.g. SSD's importance over D from a file),
   * instead of the registry computing it.
   */
  precomputed?: unknown;
  quiet?: boolean;
}

/** Precomputed state per (θ̂, D_r, ΔD, key): weak, so it goes with the model and data it was made from. */
const PRECOMPUTED = new WeakMap<
  LayersModel,
  WeakMap<Dataset, WeakMap<Dataset, Map<string, unknown>>>
>();

function precomputedFor(method: UnlearnMethod, original: LayersModel, data: UnlearnData): unknown {
  const p = method.precompute;
  if (!p) return undefined;
  const byRetain = PRECOMPUTED.get(original) ?? new WeakMap();
  PRECOMPUTED.set(original, byRetain);
  const byForget = byRetain.get(data.retain) ?? new WeakMap();
  byRetain.set(data.retain, byForget);
  const byKey = byForget.get(data.forget) ?? new Map<string, unknown>();
  byForget.set(data.forget, byKey);
  if (!byKey.has(p.key)) byKey.set(p.key, p.compute(original, data));
  return byKey.get(p.key);
}

/** SHA-256 of each weight tensor (moving statistics included), by weight name. */
export function weightHashes(model: LayersModel): Record<string, string> {
  const out: Record<string, string> = {};
  for (const w of model.weights) out[w.originalName] = sha256(w.read().dataSync() as Float32Array);
  return out;
}

/** D_r for a method that declared it never reads it: any use is a bug in that method. */
export function hiddenRetain(methodId: string, real: Dataset): Dataset {
  return new Proxy(real, {
    get(_t, prop) {
      if (typeof prop === 'symbol' || prop === 'then') return undefined;
      throw new Error(
        `${methodId}: read the retain set D_r (".${prop}") but declares readsRetain: false`,
      );
    },
  });
}

export async function unlearn(
  id: string,
  inputs: UnlearnInputs,
  rawParams: Record<string, unknown> = {},
): Promise<UnlearnResult & { params: Record<string, unknown> }> {
  return unlearnWith(getMethod(id), inputs, rawParams);
}

/**
 * `unlearn` with a method object instead of a registry id: a method of one's own (or
 * `uibVariant(method)` of it) runs under the same checks, streams and guards as the registry's.
 */
export async function unlearnWith(
  method: UnlearnMethod,
  inputs: UnlearnInputs,
  rawParams: Record<string, unknown> = {},
): Promise<UnlearnResult & { params: Record<string, unknown> }> {
  const id = method.id;
  const params = parseParams(method, rawParams);
  // Every method runs or refuses here, by layer name, before any work.
  const described = checkSupported(inputs.original, 'original model');
  const broken = modelWeightsProblem(inputs.original);
  if (broken) throw new UsageError('original model', `${broken}; nothing can be unlearned from it`);
  // Losses take logits: a softmax / sigmoid model is unlearned through its logits twin and handed
  // back with its activation restored (no double softmax anywhere).
  const viaTwin = described.outputActivation !== 'linear';
  const original = viaTwin ? logitsTwin(inputs.original) : inputs.original;
  try {
    const result = await runMethod(id, method, params, { ...inputs, original });
    if (!viaTwin) return result;
    const logits = result.model;
    try {
      result.model = restoreOutputActivation(logits, inputs.original);
    } finally {
      logits.dispose();
    }
    result.details.outputActivation = described.outputActivation;
    return result;
  } finally {
    if (viaTwin) original.dispose();
  }
}

/** `unlearn` on a supported model that outputs logits. */
async function runMethod(
  id: string,
  method: UnlearnMethod,
  params: Record<string, unknown>,
  inputs: UnlearnInputs,
): Promise<UnlearnResult & { params: Record<string, unknown> }> {
  const before = weightHashes(inputs.original);
  const scale = weightScale(inputs.original);
  const cost = new CostCounter();
  const numTrain = inputs.numTrain ?? inputs.data.retain.length + inputs.data.forget.length;
  const streamId = method.baseId ?? id;
  const ctx: UnlearnContext = {
    original: inputs.original,
    spec: inputs.spec,
    recipe: inputs.recipe,
    data: method.readsRetain
      ? inputs.data
      : { ...inputs.data, retain: hiddenRetain(id, inputs.data.retain) },
    numTrain,
    // Keyed on the base method: `<id>+uib` draws the same batches and labels as `<id>`.
    rng: rngFor(inputs.seed, 'unlearn', streamId),
    stream: (label) => rngFor(inputs.seed, 'unlearn', streamId, label),
    cost,
    train: trainLoop,
    fisherCache: inputs.fisherCache,
    precomputed: inputs.precomputed ?? precomputedFor(method, inputs.original, inputs.data),
    quiet: inputs.quiet,
  };
  // Variables are registered by name in the engine; those not there now are the run's own.
  const existing = new Set(Object.keys(tf.engine().registeredVariables));
  let out: Awaited<ReturnType<UnlearnMethod['run']>>;
  try {
    cost.restart();
    out = await method.run(ctx, params);
    cost.stop();
    if (out.model === inputs.original)
      throw new Error(`${id}: returned the original model; methods must clone it`);
    const after = weightHashes(inputs.original);
    const changed = Object.keys(before).filter((k) => before[k] !== after[k]);
    if (changed.length > 0)
      throw new Error(`${id}: changed the original model's weights (${changed.join(', ')})`);
    // No method hands back a model that must not be saved: finite, within the original's scale.
    const problem = modelWeightsProblem(out.model, scale);
    if (problem) throw new DivergenceError(`${id}: ${problem}`);
  } catch (e) {
    cost.stop();
    const vars = tf.engine().registeredVariables;
    for (const name of Object.keys(vars)) if (!existing.has(name)) vars[name].dispose();
    throw e;
  }
  return {
    model: out.model,
    params,
    stats: {
      timeMs: cost.timeMs,
      gradEvals: cost.gradEvals,
      forwardEvals: cost.forwardEvals,
      epochsTouched: cost.epochsTouched(numTrain),
      phases: out.phases ?? {},
    },
    details: { ...(out.details ?? {}), touched: { ...cost.touched } },
  };
}
