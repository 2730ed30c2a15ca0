/**
 * Interrupted unlearning: `uib unlearn` (FT on a tiny MLP and a 120-image scenario) is SIGKILLed
 * at seeded times, writing a fresh output directory and overwriting an existing one. After each
 * kill the output directory is absent or a whole unlearned checkpoint whose deletion record
 * verifies (`uib verify`), nothing else is visible beside it, and a rerun completes and leaves no
 * temp files.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { runVerify } from '../../src/cli/commands/verify.ts';
import { rngFor } from '../../src/core/rng.ts';
import { RECORD_FILE, readDeletionRecord } from '../../src/unlearn/record.ts';
import { tempDir } from '../data/helpers.ts';
import { runUib } from '../helpers/cli.ts';
import { tempLeftovers, visibleFiles } from './cli.ts';
import { checkCheckpointDir } from './run-dir.ts';
import { unlearnArgs, unlearnFixture } from './unlearn-fixture.ts';

/** What a reader finds at `out`: nothing, or a whole unlearned checkpoint of the given seed. */
async function state(out: string): Promise<string> {
  if (!fs.existsSync(out)) return 'absent';
  checkCheckpointDir(out);
  await runVerify(out, {}, () => {}); // throws naming the file that does not match
  return `seed ${readDeletionRecord(path.join(out, RECORD_FILE)).seed}`;
}

test('uib unlearn: SIGKILL leaves no output or a whole verified one; reruns complete', {
  timeout: 180_000,
}, async (t) => {
  const f = await unlearnFixture('kill-unlearn');
  const fresh = path.join(f.dir, 'fresh');
  const kept = path.join(f.dir, 'kept');
  const expected = new Set(['original', 'scenario.json', 'fresh', 'kept']);
  const onlyResults = () => {
    const stray = visibleFiles(f.dir).filter((p) => !expected.has(p.split(path.sep)[0]));
    assert.deepEqual(stray, [], 'files beside the outputs');
  };

  const first = await runUib(unlearnArgs(f, kept, 1));
  assert.equal(first.code, 0, first.stderr);
  assert.equal(await state(kept), 'seed 1');
  const whole = first.ms;

  const rng = rngFor(8, 'kill-unlearn');
  const seen: string[] = [];
  // Killed at a seeded time, or (when = 'writing') as soon as its temp directory appears beside
  // `out`: the write itself takes milliseconds, which a random time seldom hits.
  const pristine = path.join(tempDir('kill-unlearn-seed1'), 'kept');
  fs.cpSync(kept, pristine, { recursive: true });
  const killAt = async (out: string, seed: number, allowed: string[], when?: 'writing') => {
    // Each kill starts from the same state: no fresh output, the seed-1 result to overwrite.
    fs.rmSync(out, { recursive: true, force: true });
    if (out === kept) fs.cpSync(pristine, kept, { recursive: true });
    const at = rng.uniform(0.4, 1.05) * whole;
    const writing = () =>
      fs.readdirSync(f.dir).some((n) => n.startsWith(`.${path.basename(out)}.tmp-`));
    const r = await runUib(
      unlearnArgs(f, out, seed),
      when ? { killWhen: writing } : { killAfterMs: at },
    );
    const now = await state(out);
    assert.ok(allowed.includes(now), `${path.basename(out)} holds ${now}`);
    onlyResults();
    const label = when ? 'when writing' : `${Math.round(at)} ms`;
    seen.push(`${path.basename(out)} ${label}: ${r.signal ?? `exit ${r.code}`}, ${now}`);
  };
  // A fresh output directory: absent or whole.
  for (const when of [undefined, undefined, 'writing'] as const)
    await killAt(fresh, 1, ['absent', 'seed 1'], when);
  // Overwriting a verified result: the old one or the new one, whole.
  for (const when of [undefined, undefined, 'writing'] as const)
    await killAt(kept, 2, ['seed 1', 'seed 2'], when);

  for (const [out, seed] of [
    [fresh, 1],
    [kept, 2],
  ] as const) {
    const r = await runUib(unlearnArgs(f, out, seed));
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await state(out), `seed ${seed}`);
  }
  onlyResults();
  assert.deepEqual(tempLeftovers(f.dir), [], 'temp files left after the reruns');
  t.diagnostic(`whole run ${Math.round(whole)} ms; ${seen.join('; ')}`);
});
