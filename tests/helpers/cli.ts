/**
 * Running `uib` from tests: in-process through `run` from cli/main.ts (fast; stdout and stderr
 * captured), or as a child process (`node bin/uib.js ...`, for exit codes, signals and
 * interruption), to the end or SIGKILLed part-way.
 */
import { spawn, spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const BIN = path.join(ROOT, 'bin', 'uib.js');

/**
 * Run the CLI in-process, capturing what it writes. The CLI is imported on first use, so tests
 * that only spawn children do not load every command.
 */
export async function uib(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const { run } = await import('../../src/cli/main.ts');
  let out = '';
  let err = '';
  const w1 = process.stdout.write.bind(process.stdout);
  const w2 = process.stderr.write.bind(process.stderr);
  // Capture the CLI's text only. Under `node --test` the runner reports this file's results as
  // binary (v8-serialised) chunks on the same stdout, possibly while a CLI call is in flight:
  // swallowing those would silently drop other tests from the report.
  process.stdout.write = ((s: string | Uint8Array, ...rest: unknown[]) => {
    if (typeof s !== 'string') return (w1 as (...a: unknown[]) => boolean)(s, ...rest);
    out += s;
    return true;
  }) as typeof process.stdout.write;
  process.stderr.write = ((s: string | Uint8Array, ...rest: unknown[]) => {
    if (typeof s !== 'string') return (w2 as (...a: unknown[]) => boolean)(s, ...rest);
    err += s;
    return true;
  }) as typeof process.stderr.write;
  try {
    return { code: await run(argv), out, err };
  } finally {
    process.stdout.write = w1;
    process.stderr.write = w2;
  }
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/**
 * Run `uib args...` as a child; with `killAfterMs`, SIGKILL it after that long (if still running).
 * Progress bars are off (not a TTY); the backend comes from the args or UIB_BACKEND.
 */
export function runUib(
  args: string[],
  opts: {
    killAfterMs?: number;
    /** Polled every 20 ms; the child is SIGKILLed as soon as it returns true. */
    killWhen?: () => boolean;
    timeoutMs?: number;
    env?: Record<string, string>;
    /** Working directory of the child (default: the repository root). */
    cwd?: string;
  } = {},
): Promise<CliResult> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: opts.cwd ?? ROOT,
      env: { ...process.env, ...opts.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    const timers: NodeJS.Timeout[] = [];
    if (opts.killWhen) {
      const poll = setInterval(() => {
        if (opts.killWhen!()) {
          child.kill('SIGKILL');
          clearInterval(poll);
        }
      }, 20);
      timers.push(poll);
    }
    if (opts.killAfterMs !== undefined)
      timers.push(setTimeout(() => child.kill('SIGKILL'), opts.killAfterMs));
    timers.push(
      setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`uib ${args.join(' ')} ran past ${opts.timeoutMs ?? 120_000} ms`));
      }, opts.timeoutMs ?? 120_000),
    );
    child.on('error', reject);
    child.on('close', (code, signal) => {
      for (const t of timers) clearTimeout(t);
      resolve({ code, signal, stdout, stderr, ms: performance.now() - t0 });
    });
  });
}

/** Run `uib args...` as a child to the end, synchronously (no time limit). */
export function runUibSync(
  args: string[],
  env: Record<string, string> = {},
): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, ...env },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
