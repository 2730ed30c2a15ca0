/**
 * Helpers for tests that run `uib` as a child process (`node bin/uib.js ...`): run it to the end,
 * or SIGKILL it after a delay; list what it left on disk.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const BIN = path.join(ROOT, 'bin', 'uib.js');

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/**
 * Run `uib args...`; with `killAfterMs`, SIGKILL it after that long (if still running). Progress
 * bars are off (not a TTY); the backend comes from the args or UIB_BACKEND.
 */
export function runUib(
  args: string[],
  opts: {
    killAfterMs?: number;
    /** Polled every 20 ms; the child is SIGKILLed as soon as it returns true. */
    killWhen?: () => boolean;
    timeoutMs?: number;
    env?: Record<string, string>;
  } = {},
): Promise<CliResult> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: ROOT,
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

/** Every file under `dir`, as paths relative to it. */
export function listFiles(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return (fs.readdirSync(dir, { recursive: true, withFileTypes: true }) as fs.Dirent[])
    .filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath ?? e.path, e.name)))
    .sort();
}

/** An atomic writer's temp file or directory: `.name.tmp-<pid>-<hex>` (see core/atomic.ts). */
export const isTempName = (name: string): boolean => /^\..+\.tmp-\d+-[0-9a-f]+/.test(name);

/** Files a reader would take as results: none under a temp name or a temp directory. */
export function visibleFiles(dir: string): string[] {
  return listFiles(dir).filter((f) => !f.split(path.sep).some((part) => part.startsWith('.')));
}

export function tempLeftovers(dir: string): string[] {
  return listFiles(dir).filter((f) => f.split(path.sep).some(isTempName));
}
