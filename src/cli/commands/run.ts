/**
 * `uib run`: run an experiment file (methods × scenarios × seeds) and write results.json,
 * results.md and report.html. Rerunning on the same --out resumes: finished cells are kept.
 *
 *   uib run experiments/mnist-bias.json
 *   uib run experiments/mnist-c.yaml --out runs/mnist-c --backend cpu --quiet
 */
import * as path from 'node:path';
import type { Command } from 'commander';
import { type RunOutcome, runExperiment } from '../../experiments/runner.ts';
import { type Experiment, loadExperiment } from '../../experiments/schema.ts';
import { backendOption } from '../options.ts';

export interface RunFlags {
  out?: string;
  backend?: string;
  quiet?: boolean;
  /** Files the run reads (the experiment file), which --out must not hold. */
  inputs?: Record<string, string>;
}

/** Run `exp`, print the table and where the reports are; shared by `uib run` and `uib demo`. */
export async function runAndReport(
  exp: Experiment,
  flags: RunFlags & { out: string },
  source: string,
): Promise<RunOutcome> {
  const outcome = await runExperiment(exp, {
    outDir: flags.out,
    backend: flags.backend,
    quiet: flags.quiet,
    source,
    inputs: flags.inputs,
  });
  // Relative to the working directory when inside it, else absolute.
  const rel = (p: string) => {
    const r = path.relative(process.cwd(), path.resolve(p));
    return r && !r.startsWith('..') ? r : path.resolve(p);
  };
  process.stdout.write(`\n${outcome.table}\n`);
  process.stdout.write(
    `report:  ${rel(outcome.files.html)}\ntables:  ${rel(outcome.files.markdown)}\nresults: ${rel(outcome.files.json)}\n`,
  );
  if (outcome.skipped > 0)
    process.stdout.write(
      `(${outcome.skipped} finished unit(s) found in ${rel(flags.out)} and reused)\n`,
    );
  if (outcome.failures.length > 0) {
    // The reports list the failed cells; the command still ends in failure, and a rerun retries them.
    throw new Error(
      `${outcome.failures.length} method run(s) failed: ${outcome.failures.join('; ')}`,
    );
  }
  return outcome;
}

export function register(program: Command): void {
  program
    .command('run')
    .description(
      'run an experiment file (JSON or YAML): methods × scenarios × seeds → results and report',
    )
    .argument('<experiment>', 'experiment file (.json, .yaml or .yml); see experiments/')
    .option('--out <dir>', 'output directory (default: runs/<experiment name>)')
    .addOption(backendOption())
    .option('--quiet', 'no progress display')
    .action(async (file: string, flags: RunFlags) => {
      const exp = loadExperiment(file);
      const out = flags.out ?? path.join('runs', exp.name);
      await runAndReport(exp, { ...flags, out, inputs: { 'the experiment file': file } }, file);
    });
}
