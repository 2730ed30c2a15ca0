/**
 * `uib eval`: the evidence for a model of your own on a deletion request, without unlearning —
 * accuracy and loss on ΔD, D_r and the test set, MIA-Efficacy, the selection score, and with a
 * `--reference` (a model retrained without ΔD, say) the match-Retrain metrics. `--original` is the
 * model before the deletion (the "before" column, and what the selection score measures the drops
 * of RA and TA against); without it, `--model` is both before and after. Prints a short table;
 * `--out` also writes evidence.json and report.html (atomically, the --out rules of every command).
 *
 *   uib eval --model forgotten --original my-model --data train.csv --label y --test test.csv \
 *     --forget ids.txt --out eval
 */
import * as path from 'node:path';
import type * as tfl from '@tensorflow/tfjs-layers';
import type { Command } from 'commander';
import { initBackend } from '../../backend/index.ts';
import { writeDirAtomic, writeFileAtomic } from '../../core/atomic.ts';
import { checkOutput, claimOutput, type OutputOptions } from '../../core/out-dir.ts';
import { buildEvidence, type Evidence, renderEvidenceHtml } from '../../experiments/evidence.ts';
import { loadLayersModelFile } from '../../models/user-model.ts';
import { backendOption, seedOption } from '../options.ts';
import {
  checkModelFits,
  classOnly,
  dataInputs,
  dataOptions,
  evidenceTable,
  loadOwnData,
  markNoTest,
  modelJsonOf,
  NO_TEST,
  type OwnDataFlags,
  predictSets,
  requestParts,
} from '../own.ts';
import { required } from './unlearn.ts';
import { EVIDENCE_FILE, REPORT_FILE } from './unlearn-own.ts';

export interface EvalFlags extends OwnDataFlags {
  model?: string;
  original?: string;
  reference?: string;
  seed: number;
  backend?: string;
  quiet?: boolean;
  out?: string;
  force?: boolean;
}

export async function runEval(f: EvalFlags): Promise<Evidence> {
  const modelJson = modelJsonOf(required(f.model, '--model', 'the tfjs model to evaluate'));
  const originalJson = f.original ? modelJsonOf(f.original) : undefined;
  const referenceJson = f.reference ? modelJsonOf(f.reference) : undefined;
  requestParts(f);
  const outOpts: OutputOptions | null = f.out
    ? {
        kind: 'evidence',
        force: f.force,
        inputs: {
          '--model': path.dirname(modelJson),
          '--original': originalJson && path.dirname(originalJson),
          '--reference': referenceJson && path.dirname(referenceJson),
          ...dataInputs(f),
        },
      }
    : null;
  const release = f.out && outOpts ? claimOutput(f.out, outOpts) : () => {};
  const made: tfl.LayersModel[] = [];
  try {
    await initBackend(f.backend);
    const data = loadOwnData(f);
    const load = async (file: string) => {
      const m = await loadLayersModelFile(file);
      made.push(m);
      checkModelFits(m, file, data.train);
      return m;
    };
    const model = await load(modelJson);
    const original = originalJson ? await load(originalJson) : null;
    const reference = referenceJson ? await load(referenceJson) : null;
    const after = await predictSets(model, data);
    const evidence = await buildEvidence({
      method: path.basename(path.dirname(path.resolve(modelJson))),
      classNames: data.train.source.classNames ?? [],
      before: original ? await predictSets(original, data) : after,
      after,
      reference: reference ? await predictSets(reference, data) : undefined,
      noReference: 'no reference model (give --reference, e.g. a model retrained without ΔD)',
      seed: f.seed,
      facts: { kind: classOnly(f) ? 'class' : 'random' },
    });
    if (!data.test) markNoTest(evidence);
    if (f.out && outOpts) {
      const out = f.out;
      await writeDirAtomic(
        out,
        (tmp) => {
          writeFileAtomic(path.join(tmp, EVIDENCE_FILE), `${JSON.stringify(evidence, null, 2)}\n`);
          writeFileAtomic(
            path.join(tmp, REPORT_FILE),
            renderEvidenceHtml(evidence, `uib eval: ${path.basename(path.dirname(modelJson))}`),
          );
        },
        { beforeSwap: () => checkOutput(out, outOpts) },
      );
    }
    if (!f.quiet)
      process.stdout.write(
        `${evidenceTable(evidence, { before: original ? 'original' : undefined, after: 'model' })}${data.test ? '' : `${NO_TEST}\n`}${f.out ? `saved ${f.out} (${EVIDENCE_FILE}, ${REPORT_FILE})\n` : ''}`,
      );
    return evidence;
  } finally {
    for (const m of made) m.dispose();
    release();
  }
}

export function register(program: Command): void {
  const cmd = program
    .command('eval')
    .description(
      'evaluate a tfjs model of your own on a deletion request without unlearning: ΔD, D_r and test accuracy and loss, MIA-Efficacy, the selection score; --out writes evidence.json and report.html',
    )
    .option('--model <model.json>', 'the model to evaluate (model.json or its directory)')
    .option(
      '--original <model.json>',
      'the model before the deletion: the "before" column, and what the selection score compares RA and TA with (default: --model itself, so before = after)',
    )
    .option(
      '--reference <model.json>',
      'a model retrained without ΔD (or another you trust): the match-Retrain metrics (Avg. Gap, JS divergence, tug of war) are read against it',
    );
  dataOptions(cmd)
    .addOption(seedOption('seed of the MIA’s subsample and folds (0 … 2^32−1)', 0))
    .addOption(backendOption())
    .option('--quiet', 'print nothing')
    .option('--out <dir>', 'directory to write evidence.json and report.html to (new or empty)')
    .option('--force', 'replace an evidence directory already at --out (nothing else)')
    .action(async (flags: EvalFlags) => {
      await runEval(flags);
    });
}
