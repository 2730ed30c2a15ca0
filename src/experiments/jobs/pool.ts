/**
 * The local pool: `uib run FILE --workers N` runs N worker processes on this machine, each with
 * its own tfjs backend and UIB_THREADS = ⌊cores / N⌋ (at least 1), so that N × threads ≤ cores.
 * Jobs go to an idle worker; a worker that dies in a job (killed, out of memory) is replaced
 * and the job tried again elsewhere, up to `attempts` tries; a job that fails with bad input
 * (UsageError) fails at once, as it would again.
 */
import { type ChildProcess, fork } from 'node:child_process';
import * as os from 'node:os';
import { fileURLToPath } from 'node:url';
import { UsageError } from '../../core/errors.ts';
import type { JobResult, JobSpec } from './graph.ts';
import type { FromChild, ToChild } from './pool-child.ts';
import type { Executor } from './schedule.ts';

interface Slot {
  child: ChildProcess;
  ready: Promise<void>;
  job?: Task;
  /** The (seed, scenario) of its last job: the worker keeps its data (jobs/execute.ts). */
  last?: string;
}

const placeOf = (job: JobSpec) =>
  `${job.data.run}|${job.data.phase}|${job.data.scenario}|${job.data.seed}`;

interface Task {
  job: JobSpec;
  tries: number;
  resolve: (r: JobResult) => void;
  reject: (e: unknown) => void;
}

/** Threads per worker so that N workers × threads stay within the cores. */
export function threadsPerWorker(workers: number, cores = os.availableParallelism()): number {
  return Math.max(1, Math.floor(cores / workers));
}

/** The child's entry beside this file: `.ts` under tsx (a clone), `.js` in the built package. */
function childEntry(): { file: string; execArgv: string[] } {
  const here = fileURLToPath(import.meta.url);
  const ts = here.endsWith('.ts');
  const file = here.replace(/pool\.(ts|js)$/, `pool-child.${ts ? 'ts' : 'js'}`);
  // An absolute specifier: the child may start in a directory where `tsx` does not resolve.
  return { file, execArgv: ts ? ['--import', import.meta.resolve('tsx')] : [] };
}

export class LocalPool implements Executor {
  private slots: Slot[] = [];
  private queue: Task[] = [];
  private retries = 0;
  private closing = false;

  constructor(
    private readonly workers: number,
    private readonly opts: { storeRoot: string; backend?: string; attempts?: number },
  ) {
    for (let i = 0; i < workers; i++) this.slots.push(this.spawn());
  }

  private spawn(): Slot {
    const { file, execArgv } = childEntry();
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      UIB_THREADS: String(threadsPerWorker(this.workers)),
      UIB_POOL_STORE: this.opts.storeRoot,
    };
    if (this.opts.backend) env.UIB_BACKEND = this.opts.backend;
    const child = fork(file, [], { execArgv, env, stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    const slot: Slot = { child, ready: Promise.resolve() };
    slot.ready = new Promise<void>((resolve) => {
      child.on('message', (m: FromChild) => {
        if (m.type === 'ready') resolve();
        else this.finished(slot, m);
      });
    });
    child.on('exit', (code, signal) => this.lost(slot, code, signal));
    return slot;
  }

  run(job: JobSpec): Promise<JobResult> {
    return new Promise((resolve, reject) => {
      this.queue.push({ job, tries: 0, resolve, reject });
      this.dispatch();
    });
  }

  running(): number {
    return this.slots.filter((s) => s.job).length;
  }

  retried(): number {
    return this.retries;
  }

  private dispatch(): void {
    for (const slot of this.slots) {
      if (slot.job || this.queue.length === 0 || this.closing) continue;
      // A job of the (seed, scenario) the worker has open first, else the oldest.
      const same = this.queue.findIndex((t) => placeOf(t.job) === slot.last);
      const task = this.queue.splice(Math.max(same, 0), 1)[0];
      task.tries++;
      slot.job = task;
      slot.last = placeOf(task.job);
      const msg: ToChild = { type: 'job', id: task.job.id, data: task.job.data };
      void slot.ready.then(() => slot.child.connected && slot.child.send(msg));
    }
  }

  private finished(slot: Slot, m: Exclude<FromChild, { type: 'ready' }>): void {
    const task = slot.job;
    if (!task || task.job.id !== m.id) return;
    slot.job = undefined;
    if (m.type === 'done') task.resolve(m.result);
    else if (m.usage) task.reject(new UsageError(m.usage.where, m.usage.problem));
    else this.again(task, `${m.message}`);
    this.dispatch();
  }

  /** A worker exited: its job (if any) goes to another, and a new worker takes its place. */
  private lost(slot: Slot, code: number | null, signal: NodeJS.Signals | null): void {
    const i = this.slots.indexOf(slot);
    const task = slot.job;
    slot.job = undefined;
    if (this.closing) return;
    if (i >= 0) this.slots[i] = this.spawn();
    if (task) this.again(task, `its worker exited (${signal ?? `code ${code}`})`);
    this.dispatch();
  }

  private again(task: Task, why: string): void {
    if (task.tries >= (this.opts.attempts ?? 3)) {
      task.reject(new Error(`${task.job.title}: failed ${task.tries} times; last: ${why}`));
      return;
    }
    this.retries++;
    this.queue.unshift(task);
  }

  async close(): Promise<void> {
    this.closing = true;
    for (const t of this.queue.splice(0)) t.reject(new Error('the pool was closed'));
    await Promise.all(
      this.slots.map(
        (s) =>
          new Promise<void>((resolve) => {
            if (s.child.exitCode !== null || s.child.signalCode !== null) return resolve();
            s.child.once('exit', () => resolve());
            // Idle workers have nothing to finish, and one still in a job (the run failed
            // elsewhere) is stopped, not waited for: its outputs are written atomically.
            s.child.kill('SIGTERM');
            setTimeout(() => s.child.kill('SIGKILL'), 5000).unref();
          }),
      ),
    );
  }
}
