/**
 * `uib demo`: the main job, with no arguments. On the embedded MNIST: a CNN on the 60,000
 * training images, an MNIST-C corruption tied to one class, UIB-IF and four baselines against
 * Retrain (`--full`: eight baselines and a 3-member Retrain ensemble), the table on stdout and the
 * report on disk. A thin wrapper around the runner with a built-in experiment
 * (experiments/demo.json, experiments/demo-full.json); rerunning reuses finished work in --out.
 *
 *   uib demo
 *   uib demo --full --out runs/demo --seed 2 --backend cpu --quiet
 */
import type { Command } from 'commander';
import { DEMO_EXPERIMENT, DEMO_FULL_EXPERIMENT } from '../../experiments/demo.ts';
import { parseExperiment } from '../../experiments/schema.ts';
import { backendOption, seedOption } from '../options.ts';
import { type RunFlags, runAndReport } from './run.ts';

export function register(program: Command): void {
  program
    .command('demo')
    .description(
      'the main job: unlearn an MNIST-C bias tied to one class from a CNN on all of MNIST with UIB-IF and 4 baselines vs Retrain; prints the table, writes the report',
    )
    .option('--full', 'every baseline (8) against a 3-member Retrain ensemble (about 4× longer)')
    .option(
      '--out <dir>',
      'output directory (default: uib-out/demo, or uib-out/demo-full with --full)',
    )
    .addOption(seedOption('seed of the data subset, scenario, training and methods'))
    .addOption(backendOption())
    .option('--quiet', 'no progress display')
    .action(async (flags: RunFlags & { out?: string; seed?: number; full?: boolean }) => {
      const base = flags.full ? DEMO_FULL_EXPERIMENT : DEMO_EXPERIMENT;
      const input = flags.seed === undefined ? base : { ...base, seeds: [flags.seed] };
      const exp = parseExperiment(input, 'uib demo (built-in experiment)');
      const out = flags.out ?? (flags.full ? 'uib-out/demo-full' : 'uib-out/demo');
      await runAndReport(exp, { ...flags, out }, flags.full ? 'uib demo --full' : 'uib demo');
    });
}
