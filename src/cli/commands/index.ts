/** Every `uib` verb, in the order `uib --help` lists them. Add a verb: one file, one line here. */
import type { Command } from 'commander';
import { register as demo } from './demo.ts';
import { register as evalCmd } from './eval.ts';
import { register as methods } from './methods.ts';
import { register as metrics } from './metrics.ts';
import { register as run } from './run.ts';
import { register as scenario } from './scenario.ts';
import { register as train } from './train.ts';
import { register as unlearn } from './unlearn.ts';
import { register as verify } from './verify.ts';
import { register as worker } from './worker.ts';

export type RegisterCommand = (program: Command) => void;

export const COMMANDS: readonly RegisterCommand[] = [
  demo,
  run,
  worker,
  train,
  scenario,
  unlearn,
  evalCmd,
  verify,
  methods,
  metrics,
];
