/**
 * SGD (momentum) and Adam with decoupled weight decay (SGDW / AdamW, PyTorch's convention:
 * θ ← θ − lr·(update + wd·θ)) and update masks.
 *
 * tfjs's own optimisers know neither masks nor decoupled decay, hence this one. Masked entries
 * get a zero gradient (so no momentum builds up for them) and their new value is selected from
 * the old one with `where`, so they stay bit-identical whatever the update computes.
 */
import * as tf from '@tensorflow/tfjs-core';
import { accelerations } from '../backend/accel.ts';
import { UsageError } from '../core/errors.ts';
import type { OptimizerSpec } from './types.ts';

const BETA1 = 0.9;
const BETA2 = 0.999;
const EPS = 1e-8;

interface Slot {
  variable: tf.Variable;
  /** Boolean mask (true = may change), or null for "all". */
  mask: tf.Tensor | null;
  /** SGD velocity or Adam first moment. */
  m: tf.Variable | null;
  /** Adam second moment. */
  v: tf.Variable | null;
}

export class MaskedOptimizer {
  private readonly slots = new Map<string, Slot>();
  private t = 0;

  constructor(
    readonly spec: OptimizerSpec,
    variables: tf.Variable[],
    masks?: (v: tf.Variable) => tf.Tensor | undefined,
  ) {
    if (spec.name !== 'sgd' && spec.name !== 'adam') {
      throw new UsageError('optimizer.name', `must be sgd or adam; got "${spec.name}"`);
    }
    for (const [field, value] of Object.entries({
      lr: spec.lr,
      momentum: spec.momentum,
      weightDecay: spec.weightDecay,
    })) {
      if (value !== undefined && !(Number.isFinite(value) && value >= 0)) {
        throw new UsageError(`optimizer.${field}`, `must be a finite number ≥ 0; got ${value}`);
      }
    }
    for (const variable of variables) {
      const given = masks?.(variable);
      if (given && !tf.util.arraysEqual(given.shape, variable.shape)) {
        throw new UsageError(
          `masks[${variable.name}]`,
          `shape ${JSON.stringify(given.shape)} does not match the variable's ${JSON.stringify(variable.shape)}`,
        );
      }
      const mask = given ? tf.tidy(() => tf.notEqual(given, 0)) : null;
      const zeros = () => {
        const z = tf.zerosLike(variable);
        const slot = tf.variable(z, false);
        z.dispose(); // the variable holds its own reference to the buffer
        return slot;
      };
      const usesM = spec.name === 'adam' || (spec.momentum ?? 0.9) > 0;
      this.slots.set(variable.name, {
        variable,
        mask,
        m: usesM ? zeros() : null,
        v: spec.name === 'adam' ? zeros() : null,
      });
    }
  }

  /** Apply one step of `grads` (by variable name; missing entries are left untouched) at rate `lr`. */
  apply(grads: tf.NamedTensorMap, lr: number): void {
    this.t++;
    const wd = this.spec.weightDecay ?? 0;
    const mu = this.spec.momentum ?? 0.9;
    const c1 = 1 - BETA1 ** this.t;
    const c2 = 1 - BETA2 ** this.t;
    for (const [name, grad] of Object.entries(grads)) {
      const slot = this.slots.get(name);
      if (!slot || !grad) continue;
      // The same update as below in one native call when the platform has it (backend/accel.ts).
      const native = accelerations().optimizerStep({
        kind: this.spec.name,
        theta: slot.variable,
        grad,
        m: slot.m,
        v: slot.v,
        mask: slot.mask,
        lr,
        weightDecay: wd,
        beta1: this.spec.name === 'adam' ? BETA1 : mu,
        beta2: BETA2,
        c1,
        c2,
        eps: EPS,
      });
      if (native) continue;
      tf.tidy(() => {
        const { variable: theta, mask, m, v } = slot;
        const g = mask ? tf.where(mask, grad, tf.zerosLike(grad)) : grad;
        let update: tf.Tensor;
        if (this.spec.name === 'adam') {
          m!.assign(tf.add(tf.mul(m!, BETA1), tf.mul(g, 1 - BETA1)));
          v!.assign(tf.add(tf.mul(v!, BETA2), tf.mul(tf.square(g), 1 - BETA2)));
          update = tf.div(tf.div(m!, c1), tf.add(tf.sqrt(tf.div(v!, c2)), EPS));
        } else if (m) {
          m.assign(tf.add(tf.mul(m, mu), g));
          update = m;
        } else {
          update = g;
        }
        if (wd > 0) update = tf.add(update, tf.mul(theta, wd));
        const next = tf.sub(theta, tf.mul(update, lr));
        theta.assign(mask ? tf.where(mask, next, theta) : next);
      });
    }
  }

  dispose(): void {
    for (const s of this.slots.values()) {
      s.mask?.dispose();
      s.m?.dispose();
      s.v?.dispose();
    }
    this.slots.clear();
  }
}

/**
 * One optimiser whose state (moments, bias-correction count) and schedule position carry over
 * from one `trainLoop` call to the next, as when a method alternates passes over different
 * streams with a single optimiser (SCRUB's authors). The first call's variables and masks hold
 * for every later call. The caller disposes it.
 */
export class OptimizerSession {
  private optimizer: MaskedOptimizer | null = null;
  /** Steps taken so far over all calls: where the next call's schedule starts. */
  steps = 0;

  /** `totalSteps`: the length the schedule runs over (default: each call's own length). */
  constructor(readonly totalSteps?: number) {}

  /** The session's optimiser, built by the first call. */
  optimizerFor(
    spec: OptimizerSpec,
    variables: tf.Variable[],
    masks?: (v: tf.Variable) => tf.Tensor | undefined,
  ): MaskedOptimizer {
    if (!this.optimizer) this.optimizer = new MaskedOptimizer(spec, variables, masks);
    else if (JSON.stringify(this.optimizer.spec) !== JSON.stringify(spec)) {
      throw new UsageError('optimizer', 'must be the same in every call of one optimiser session');
    }
    return this.optimizer;
  }

  dispose(): void {
    this.optimizer?.dispose();
    this.optimizer = null;
  }
}
