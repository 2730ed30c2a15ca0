/**
 * `uib run`: run an experiment file (methods × scenarios × seeds) and write results.json,
 * results.md and report.html. Rerunning on the same --out resumes: finished cells are kept.
 *
 *   uib run experiments/mnist-bias.json
 *   uib run experiments/mnist-c.yaml --out runs/mnist-c --backend cpu --quiet
 *   uib run experiments/mnist-bias.json --workers 2          # a local pool of 2 processes
 *   uib run experiments/mnist-bias.json --queue redis://host:6379 --store /shared/uib
 *                                                            # jobs for `uib worker`s (docs/scale-out.md)
 */
import * as path from 'node:path';
import type { Command } from 'commander';
import { UsageError } from '../../core/errors.ts';
import { type RunOutcome, runExperiment } from '../../experiments/runner.ts';
import { type Experiment, loadExperiment } from '../../experiments/schema.ts';
import { backendOption, intOption } from '../options.ts';

export interface RunFlags {
  out?: string;
  backend?: string;
  quiet?: boolean;
  /** Files the run reads (the experiment file), which --out must not hold. */
  inputs?: Record<string, string>;
  workers?: number;
  queue?: string;
  store?: string;
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
    workers: flags.workers,
    ...(flags.queue && flags.store && { queue: { url: flags.queue, store: flags.store } }),
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
  if (outcome.retried)
    process.stdout.write(
      `(${outcome.retried} job(s) tried again after a lost worker or a failed try; each counted once)\n`,
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
    .option(
      '--workers <n>',
      'worker processes on this machine, each with ⌊cores / n⌋ threads (default 1: in this process)',
      intOption('--workers', { min: 1, max: 256 }),
    )
    .option(
      '--queue <url>',
      'enqueue the jobs on Redis (redis://HOST:PORT) for `uib worker`s and wait (docs/scale-out.md)',
    )
    .option(
      '--store <dir>',
      'with --queue: the shared directory every worker reaches (--store of uib worker)',
    )
    .option('--quiet', 'no progress display')
    .action(async (file: string, flags: RunFlags) => {
      checkRouteFlags(flags);
      const exp = loadExperiment(file);
      const out =
        flags.out ??
        (flags.queue && flags.store
          ? path.join(flags.store, exp.name)
          : path.join('runs', exp.name));
      await runAndReport(exp, { ...flags, out, inputs: { 'the experiment file': file } }, file);
    });
}

/** The route flags agree: a pool of --workers, or a --queue with its --store; not both. */
function checkRouteFlags(flags: RunFlags): void {
  if (flags.queue && (flags.workers ?? 1) > 1)
    throw new UsageError(
      '--workers',
      'runs a pool on this machine; with --queue the workers are the `uib worker` processes',
    );
  if (flags.queue && !flags.store)
    throw new UsageError('--queue', 'needs --store DIR, the directory every worker reaches');
  if (flags.store && !flags.queue)
    throw new UsageError('--store', 'is for --queue; a local run writes to --out');
}
