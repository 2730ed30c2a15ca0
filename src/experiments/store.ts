/**
 * The output directory of `uib run`: one file per finished unit of work, written atomically, so an
 * interrupted run resumes where it stopped and a reader never sees half a result.
 *
 *   OUT/results.json, results.md, report.html     assembled from the files below
 *   OUT/cells/<scenario>/seed-<s>/<method>.json   one (scenario, seed, method) cell
 *   OUT/cells/<scenario>/seed-<s>/_original.json  the original model's record (likewise _retrain,
 *                                                 _retrain-1 … for the Retrain ensemble)
 *   OUT/cells/<scenario>/seed-<s>/_scenario.json  manifest hash, split sizes, example images
 *   OUT/cache/                                    trained models and manifests, by content hash
 *   OUT/.lock                                     the pid of the run using the directory
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';
import { writeJsonAtomic } from '../core/atomic.ts';
import { describeErrno, UsageError } from '../core/errors.ts';
import { acquireLock } from '../core/lock.ts';
import { MiB, readJsonChecked } from '../core/read.ts';
import { type Cell, CellSchema, type Reference, ReferenceSchema } from './results-schema.ts';

export const SeedScenarioSchema = z.object({
  scenario: z.string(),
  seed: z.number(),
  manifestHash: z.string(),
  counts: z.record(z.string(), z.number()),
  /** Model input shape and class count, so a finished run can be recognised without the data. */
  sampleShape: z.array(z.number()),
  numClasses: z.number(),
  forgetExamples: z.array(z.object({ label: z.number(), png: z.string() })),
  classNames: z.array(z.string()),
});
export type SeedScenario = z.infer<typeof SeedScenarioSchema>;

/**
 * A stored record: the largest is `_scenario.json` with up to 64 example PNGs (32×32 RGB, ≤ 5 KiB
 * each in base64, ≤ 0.4 MB) or a cell of a 100-class set (a 100×100 confusion matrix, ~0.1 MB);
 * 16 MiB is ×40.
 */
export const RECORD_MAX_BYTES = 16 * MiB;

export class RunStore {
  constructor(readonly outDir: string) {}

  get cacheDir(): string {
    return path.join(this.outDir, 'cache');
  }

  private cellDir(scenario: string, seed: number): string {
    return path.join(this.outDir, 'cells', fileName(scenario), `seed-${seed}`);
  }

  cellPath(scenario: string, seed: number, label: string): string {
    return path.join(this.cellDir(scenario, seed), `${fileName(label)}.json`);
  }

  private refPath(scenario: string, seed: number, role: string, member = 0): string {
    return path.join(
      this.cellDir(scenario, seed),
      `_${role}${member > 0 ? `-${member}` : ''}.json`,
    );
  }

  readCell(scenario: string, seed: number, label: string): Cell | null {
    return readJson(this.cellPath(scenario, seed, label), CellSchema);
  }

  writeCell(cell: Cell): void {
    writeJsonAtomic(this.cellPath(cell.scenario, cell.seed, cell.method), cell);
  }

  /** A reference record; `member` numbers the Retrain ensemble (0: `_retrain.json`, k: `_retrain-k.json`). */
  readReference(
    scenario: string,
    seed: number,
    role: 'original' | 'retrain',
    member = 0,
  ): Reference | null {
    return readJson(this.refPath(scenario, seed, role, member), ReferenceSchema);
  }

  writeReference(ref: Reference): void {
    writeJsonAtomic(this.refPath(ref.scenario, ref.seed, ref.role, ref.member), ref);
  }

  readSeedScenario(scenario: string, seed: number): SeedScenario | null {
    return readJson(this.refPath(scenario, seed, 'scenario'), SeedScenarioSchema);
  }

  writeSeedScenario(info: SeedScenario): void {
    writeJsonAtomic(this.refPath(info.scenario, info.seed, 'scenario'), info);
  }

  /**
   * Claim the directory for this process. A lock left by a process that no longer runs (a
   * killed run) is taken over; one held by a live process is refused.
   */
  lock(): () => void {
    try {
      fs.mkdirSync(this.outDir, { recursive: true });
    } catch (e) {
      throw new UsageError(this.outDir, `cannot create the run directory (${describeErrno(e)})`);
    }
    return acquireLock(
      path.join(this.outDir, '.lock'),
      this.outDir,
      (pid) =>
        new UsageError(
          this.outDir,
          `is in use by another uib run (pid ${pid}); wait for it or choose another --out`,
        ),
    );
  }

  /** Remove temp files an interrupted writer left (`.name.tmp-*`); none is ever a result. */
  removeStaleTemps(): number {
    let removed = 0;
    const walk = (dir: string) => {
      if (!fs.existsSync(dir)) return;
      for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
        const p = path.join(dir, e.name);
        if (/^\..+\.tmp-\d+-[0-9a-f]+(\.old)?$/.test(e.name)) {
          fs.rmSync(p, { recursive: true, force: true });
          removed++;
        } else if (e.isDirectory()) walk(p);
      }
    };
    walk(this.outDir);
    return removed;
  }
}

/** A label as a file name: ids stay readable (`ft+uib`), anything else is percent-encoded. */
export function fileName(label: string): string {
  return label.replace(
    /[^A-Za-z0-9+._-]/g,
    (c) => `%${c.charCodeAt(0).toString(16).padStart(2, '0')}`,
  );
}

/** A stored record, or null when absent or unreadable (it is then recomputed). */
function readJson<T>(file: string, schema: z.ZodType<T>): T | null {
  try {
    // A FIFO, device or oversized file is refused without reading it; every refusal is a miss.
    const r = schema.safeParse(readJsonChecked(file, { maxBytes: RECORD_MAX_BYTES }));
    return r.success ? r.data : null;
  } catch {
    return null;
  }
}
