/**
 * Runs one benchmark job in a child process (project: Node + tsx; reference: Python) and reads
 * the one JSON line it prints last. Each job gets a fresh process so that its peak RSS is its own.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const WORKER = path.join(HERE, 'project-worker.ts');
const REFERENCE = path.join(HERE, '..', 'reference', 'bench.py');
/** bench.py's exit status when torch cannot be imported. */
const UNAVAILABLE_EXIT = 3;
/** project-worker.ts's exit status when it does not run on the route it was asked for. */
export const ROUTE_MISMATCH_EXIT = 4;

export type JobOutcome =
  | { ok: true; out: Record<string, unknown> & { maxRssKB: number } }
  | { ok: false; unavailable: boolean; reason: string; routeMismatch?: boolean };

function run(
  cmd: string,
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
}

function outcome(r: { code: number; stdout: string; stderr: string }): JobOutcome {
  const lines = r.stdout.trim().split('\n');
  const last = lines[lines.length - 1] ?? '';
  if (r.code === 0) {
    try {
      return { ok: true, out: JSON.parse(last) };
    } catch {
      return { ok: false, unavailable: false, reason: `unreadable output: ${last.slice(0, 200)}` };
    }
  }
  const err = r.stderr.trim().split('\n').slice(-3).join(' | ');
  if (r.code === ROUTE_MISMATCH_EXIT) {
    const line = r.stderr.trim().split('\n').pop() ?? '';
    return { ok: false, unavailable: false, routeMismatch: true, reason: line };
  }
  return {
    ok: false,
    unavailable: r.code === UNAVAILABLE_EXIT,
    reason: r.code === UNAVAILABLE_EXIT ? last : `exit ${r.code}: ${err || last}`.slice(0, 600),
  };
}

/** `env`: the job's route (bench/lib/routes.ts); the caller's environment by default. */
export async function runProjectJob(
  job: object,
  env: NodeJS.ProcessEnv = process.env,
): Promise<JobOutcome> {
  return outcome(
    await run(process.execPath, ['--import', 'tsx', WORKER, JSON.stringify(job)], env),
  );
}

/**
 * The Python that has Debian's python3-torch: $UIB_BENCH_PYTHON, else /usr/bin/python3 (a pyenv or
 * venv `python3` earlier on PATH does not see /usr/lib/python3/dist-packages), else `python3`.
 */
export function referencePython(): string {
  const chosen = process.env.UIB_BENCH_PYTHON;
  if (chosen) return chosen;
  return fs.existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
}

/** torch at `threads` threads, OpenBLAS at one (else the two pools oversubscribe the cores). */
export async function runReferenceJob(job: object): Promise<JobOutcome> {
  // No __pycache__ beside the reference scripts in the working tree.
  const env = { ...process.env, OPENBLAS_NUM_THREADS: '1', PYTHONDONTWRITEBYTECODE: '1' };
  try {
    return outcome(await run(referencePython(), [REFERENCE, JSON.stringify(job)], env));
  } catch (e) {
    return {
      ok: false,
      unavailable: true,
      reason: `cannot start ${referencePython()}: ${(e as Error).message}`,
    };
  }
}
