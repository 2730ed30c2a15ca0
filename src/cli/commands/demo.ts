/**
 * `uib demo`: the main job, with no arguments. On the embedded MNIST: a CNN on a balanced subset,
 * an MNIST-C corruption tied to one class, nine methods against Retrain, the table on stdout and
 * the report on disk. A thin wrapper around the runner with a built-in experiment
 * (experiments/demo.json); rerunning reuses finished work in --out.
 *
 *   uib demo
 *   uib demo --out runs/demo --seed 2 --backend cpu --quiet
 */
import type { Command } from 'commander';
import { DEMO_EXPERIMENT } from '../../experiments/demo.ts';
import { parseExperiment } from '../../experiments/schema.ts';
import { backendOption, seedOption } from '../options.ts';
import { type RunFlags, runAndReport } from './run.ts';

export function register(program: Command): void {
  program
    .command('demo')
    .description(
      'the main job: unlearn an MNIST-C bias tied to one class with 9 methods vs Retrain; prints the table, writes the report',
    )
    .option('--out <dir>', 'output directory', 'uib-out/demo')
    .addOption(seedOption('seed of the data subset, scenario, training and methods'))
    .addOption(backendOption())
    .option('--quiet', 'no progress display')
    .action(async (flags: RunFlags & { out: string; seed?: number }) => {
      const input =
        flags.seed === undefined ? DEMO_EXPERIMENT : { ...DEMO_EXPERIMENT, seeds: [flags.seed] };
      const exp = parseExperiment(input, 'uib demo (built-in experiment)');
      await runAndReport(exp, flags, 'uib demo');
    });
}
