/**
 * The distributed route, on BullMQ over Redis: the coordinator (`uib run FILE --queue URL`)
 * enqueues each job whose inputs are stored, under its deterministic id (jobs/graph.ts), and
 * waits for it; `uib worker --queue URL --store DIR` on any machine takes jobs one at a time.
 * BullMQ does the rest: retries with exponential backoff for faults, none for bad input
 * (UnrecoverableError), and stalled-job detection, which puts the job of a worker that died
 * (SIGKILL, a lost machine) back in the queue once its lock expires.
 *
 * Timings, for tests and slow links (milliseconds): UIB_QUEUE_LOCK_MS (a job's lock, default
 * 30000), UIB_QUEUE_STALLED_MS (how often workers look for stalled jobs, default 30000),
 * UIB_QUEUE_POLL_MS (how often the coordinator looks at its jobs, default 500),
 * UIB_QUEUE_BACKOFF_MS (the first retry's delay, default 1000); UIB_QUEUE_ATTEMPTS (tries per
 * job, default 3).
 */
import { type Job, Queue, UnrecoverableError, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { isUsageError, oneLine, UsageError } from '../../core/errors.ts';
import type { JobData, JobResult, JobSpec } from './graph.ts';
import type { Executor } from './schedule.ts';

export const QUEUE_NAME = 'uib-jobs';

/** Where Redis is, as `--queue` names it. */
export interface RedisTarget {
  host: string;
  port: number;
  db: number;
  password?: string;
  username?: string;
}
/** A worker's UsageError travels as the failed reason: this prefix, then `{ where, problem }`. */
const USAGE_PREFIX = 'uib-usage ';

function envMs(name: string, fallback: number): number {
  const v = Number(process.env[name]);
  return Number.isFinite(v) && v > 0 ? v : fallback;
}

/** `redis://[user:password@]host:port[/db]`, as `--queue` takes it. */
export function parseQueueUrl(url: string): RedisTarget {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new UsageError('--queue', `must be a URL redis://HOST:PORT; got "${url}"`);
  }
  if (u.protocol !== 'redis:' || !u.hostname) {
    throw new UsageError('--queue', `must be a URL redis://HOST:PORT; got "${url}"`);
  }
  const db = u.pathname && u.pathname !== '/' ? Number(u.pathname.slice(1)) : 0;
  if (!Number.isInteger(db) || db < 0) {
    throw new UsageError('--queue', `the database after the port must be an integer; got "${url}"`);
  }
  return {
    host: u.hostname.replace(/^\[|\]$/g, ''),
    port: u.port ? Number(u.port) : 6379,
    db,
    ...(u.password && { password: decodeURIComponent(u.password) }),
    ...(u.username && { username: decodeURIComponent(u.username) }),
  };
}

/** Reach Redis once before anything else: one clear line (exit 2) when it is not there. */
export async function checkRedis(url: string): Promise<RedisTarget> {
  const target = parseQueueUrl(url);
  // One try, no reconnects: the answer is wanted now, not after BullMQ's patient retries.
  const c = new Redis({
    ...target,
    lazyConnect: true,
    connectTimeout: 3000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  // ioredis rejects connect() with "Connection is closed."; the socket's error says why.
  let first: Error | undefined;
  c.on('error', (e: Error) => {
    first ??= e;
  });
  try {
    await c.connect().catch((e: Error) => {
      throw first ?? e;
    });
    const pong = await c.ping();
    if (pong !== 'PONG') throw new Error(`answered PING with ${JSON.stringify(pong)}`);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why =
      code === 'ECONNREFUSED'
        ? 'connection refused'
        : code === 'ENOTFOUND' || code === 'EAI_AGAIN'
          ? 'no such host'
          : oneLine(e);
    throw new UsageError(
      '--queue',
      `cannot reach Redis at ${url} (${why}); start redis-server there or give the right --queue`,
    );
  } finally {
    c.disconnect();
  }
  return target;
}

/** A BullMQ connection (ioredis, which reconnects if Redis goes away; BullMQ needs
 * maxRetriesPerRequest null so that its blocking commands wait instead of failing). */
function connect(target: RedisTarget) {
  const client = new Redis({ ...target, maxRetriesPerRequest: null });
  // BullMQ reports and retries; an unheard 'error' event would end the process instead.
  client.on('error', () => {});
  return client;
}

// ─── the coordinator's side ────────────────────────────────────────────────────────────────────

interface Waiter {
  job: JobSpec;
  resolve: (r: JobResult) => void;
  reject: (e: unknown) => void;
}

export class QueueExecutor implements Executor {
  private waiting = new Map<string, Waiter>();
  private active = 0;
  private retries = 0;
  private timer: NodeJS.Timeout | null = null;
  private polling = false;

  private constructor(
    private readonly queue: Queue,
    private readonly client: ReturnType<typeof connect>,
  ) {}

  static async open(url: string): Promise<QueueExecutor> {
    const target = await checkRedis(url);
    const client = connect(target);
    return new QueueExecutor(new Queue(QUEUE_NAME, { connection: client as never }), client);
  }

  async run(job: JobSpec): Promise<JobResult> {
    const existing = await this.queue.getJob(job.id);
    if (existing) {
      const state = await existing.getState();
      // Finished in the queue but not in the store (the coordinator asks only for jobs whose
      // output is not stored): the store was cleared or another run failed it. Run it anew.
      if (state === 'completed' || state === 'failed') await existing.remove();
      // Waiting, delayed or active: an earlier coordinator's; waiting on it is enough.
    }
    const attempts = envMs('UIB_QUEUE_ATTEMPTS', 3);
    await this.queue.add(job.title, job.data, {
      jobId: job.id,
      attempts,
      backoff: { type: 'exponential', delay: envMs('UIB_QUEUE_BACKOFF_MS', 1000) },
      removeOnComplete: false,
      removeOnFail: false,
    });
    return new Promise<JobResult>((resolve, reject) => {
      this.waiting.set(job.id, { job, resolve, reject });
      this.timer ??= setInterval(() => void this.poll(), envMs('UIB_QUEUE_POLL_MS', 500));
    });
  }

  private async poll(): Promise<void> {
    if (this.polling) return; // one look at a time
    this.polling = true;
    try {
      let active = 0;
      for (const [id, w] of [...this.waiting]) {
        const state = await this.queue.getJobState(id);
        if (state === 'active') active++;
        if (state !== 'completed' && state !== 'failed' && state !== 'unknown') continue;
        this.waiting.delete(id);
        const job = await this.queue.getJob(id);
        this.countRetries(job);
        if (state === 'completed' && job) w.resolve(job.returnvalue as JobResult);
        else if (state === 'unknown' || !job)
          w.reject(new Error(`${w.job.title}: removed from the queue`));
        else w.reject(failure(w.job, job));
      }
      this.active = active;
    } catch {
      // Redis away for a moment: BullMQ reconnects, the next look tries again.
    } finally {
      this.polling = false;
      if (this.waiting.size === 0 && this.timer) {
        clearInterval(this.timer);
        this.timer = null;
      }
    }
  }

  private countRetries(job: Job | undefined): void {
    if (!job) return;
    this.retries += (job.stalledCounter ?? 0) + Math.max(0, job.attemptsMade - 1);
  }

  running(): number {
    return this.active;
  }

  retried(): number {
    return this.retries;
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.queue.close();
    await this.client.quit();
  }
}

function failure(spec: JobSpec, job: Job): Error {
  const reason = job.failedReason ?? 'no reason given';
  if (reason.startsWith(USAGE_PREFIX)) {
    try {
      const u = JSON.parse(reason.slice(USAGE_PREFIX.length)) as { where: string; problem: string };
      return new UsageError(u.where, u.problem);
    } catch {
      // not ours after all: reported as it stands
    }
  }
  return new Error(
    `${spec.title}: failed after ${job.attemptsMade} attempt(s) on the queue: ${reason}`,
  );
}

// ─── the worker's side ─────────────────────────────────────────────────────────────────────────

export interface WorkerOptions {
  url: string;
  storeRoot: string;
  /** Runs one job (jobs/execute.ts), given the job's data and the store root. */
  execute: (data: JobData, storeRoot: string) => Promise<JobResult>;
  log: (line: string) => void;
  /** Called once Redis is reached and the worker listens. */
  onReady?: () => void;
  /** Resolves when the worker should stop (SIGINT/SIGTERM); the second signal, to release now. */
  stop: Promise<void>;
  release: Promise<void>;
}

/** Take jobs until told to stop; the job in hand is finished first (or released on a second signal). */
export async function runQueueWorker(
  opts: WorkerOptions,
): Promise<{ jobs: number; released: boolean }> {
  const target = await checkRedis(opts.url);
  const client = connect(target);
  let current: { job: Job; token?: string } | null = null;
  let jobs = 0;
  const worker = new Worker(
    QUEUE_NAME,
    async (job: Job, token?: string) => {
      current = { job, token };
      const t0 = performance.now();
      const again = job.attemptsMade + (job.stalledCounter ?? 0) > 0 ? ' (retried)' : '';
      opts.log(`${job.name}: started${again}`);
      try {
        const r = await opts.execute(job.data as JobData, opts.storeRoot);
        opts.log(`${job.name}: done (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
        jobs++;
        return r;
      } catch (e) {
        opts.log(`${job.name}: failed: ${oneLine(e)}`);
        // Bad input fails the same way every time: no retries.
        if (isUsageError(e))
          throw new UnrecoverableError(
            `${USAGE_PREFIX}${JSON.stringify({ where: e.where, problem: e.problem })}`,
          );
        throw e;
      } finally {
        current = null;
      }
    },
    {
      connection: client as never,
      concurrency: 1,
      lockDuration: envMs('UIB_QUEUE_LOCK_MS', 30_000),
      stalledInterval: envMs('UIB_QUEUE_STALLED_MS', 30_000),
      // One missed lock renewal is a busy event loop, not a dead worker: retried, not failed.
      maxStalledCount: 3,
    },
  );
  worker.on('error', () => {}); // connection trouble: BullMQ reconnects
  await worker.waitUntilReady();
  opts.onReady?.();
  // Second signal: hand the job in hand back now rather than when its lock expires.
  const released = opts.release.then(async () => {
    const c = current as { job: Job; token?: string } | null;
    if (c) {
      try {
        await c.job.moveToWait(c.token);
        opts.log(`${c.job.name}: released to the queue`);
      } catch {
        // the lock is gone already: the job is retried once it is found stalled
      }
    }
    await worker.close(true).catch(() => {});
    return 'released' as const;
  });
  await opts.stop;
  opts.log(
    current ? 'stopping after the current job (signal again to release it now)' : 'stopping',
  );
  const how = await Promise.race([worker.close().then(() => 'finished' as const), released]);
  await client.quit().catch(() => '');
  return { jobs, released: how === 'released' };
}
