/**
 * `uib worker`: take jobs of `uib run … --queue` runs from Redis until stopped, and write their
 * outputs under --store (the directory every worker and the coordinator reach). SIGINT/SIGTERM:
 * finish the job in hand, then stop; a second signal hands it back to the queue at once.
 *
 *   uib worker --queue redis://10.0.0.5:6379 --store /shared/uib
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Command } from 'commander';
import { computeEnvironment, describeEnvironment } from '../../backend/environment.ts';
import { initBackend } from '../../backend/index.ts';
import { UsageError } from '../../core/errors.ts';
import { executeJob } from '../../experiments/jobs/execute.ts';
import { QUEUE_NAME, runQueueWorker } from '../../experiments/jobs/queue.ts';
import { backendOption } from '../options.ts';

interface WorkerFlags {
  queue: string;
  store: string;
  backend?: string;
}

export function register(program: Command): void {
  program
    .command('worker')
    .description('take jobs of `uib run --queue` runs from Redis until stopped (docs/scale-out.md)')
    .requiredOption('--queue <url>', 'the Redis the runs enqueue on (redis://HOST:PORT)')
    .requiredOption('--store <dir>', 'the shared directory the runs write to (their --store)')
    .addOption(backendOption())
    .action(async (flags: WorkerFlags) => {
      const store = path.resolve(flags.store);
      if (!fs.existsSync(store) || !fs.statSync(store).isDirectory())
        throw new UsageError('--store', `must be an existing directory; got ${flags.store}`);
      await initBackend(flags.backend);
      const log = (line: string) => process.stdout.write(`uib worker ${process.pid}: ${line}\n`);
      let signals = 0;
      let stop: () => void = () => {};
      let release: () => void = () => {};
      const stopped = new Promise<void>((r) => {
        stop = r;
      });
      const released = new Promise<void>((r) => {
        release = r;
      });
      const onSignal = () => {
        signals++;
        if (signals === 1) stop();
        else release();
      };
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
      try {
        const r = await runQueueWorker({
          url: flags.queue,
          storeRoot: store,
          execute: executeJob,
          log,
          onReady: () =>
            log(
              `taking jobs from ${flags.queue} (queue ${QUEUE_NAME}), store ${store}, on ${describeEnvironment(computeEnvironment())}, host ${os.hostname()}; stop with Ctrl-C`,
            ),
          stop: stopped,
          release: released,
        });
        log(
          `stopped after ${r.jobs} job(s)${r.released ? '; the job in hand went back to the queue' : ''}`,
        );
        // A released job's computation is still under way in this process: leave it now; its
        // outputs are written atomically, so nothing half-written is left behind.
        if (r.released) process.exit(130);
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }
    });
}
