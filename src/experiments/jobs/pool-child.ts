/**
 * A local pool worker (jobs/pool.ts forks it): its own tfjs backend and thread count, one job at
 * a time from the parent over IPC, each run with jobs/execute.ts like any other worker's.
 */
import { initBackend } from '../../backend/index.ts';
import { isUsageError, oneLine } from '../../core/errors.ts';
import { executeJob } from './execute.ts';
import type { JobData } from './graph.ts';

export type ToChild = { type: 'job'; id: string; data: JobData } | { type: 'stop' };
export type FromChild =
  | { type: 'ready' }
  | { type: 'done'; id: string; result: Awaited<ReturnType<typeof executeJob>> }
  | { type: 'failed'; id: string; message: string; usage?: { where: string; problem: string } };

const send = (m: FromChild) => process.send?.(m);
const storeRoot = process.env.UIB_POOL_STORE ?? '.';

// The listener is in place before the backend is up: a message sent meanwhile (a stop, when the
// run is refused early) waits for it rather than being lost.
let chain: Promise<unknown> = initBackend(process.env.UIB_BACKEND || undefined).catch((e) => {
  process.stderr.write(`uib: pool worker: ${oneLine(e)}\n`);
  process.exit(1);
});
process.on('message', (m: ToChild) => {
  if (m.type === 'stop') {
    // After the job in hand; tfjs's threads would keep the process alive past the disconnect.
    chain = chain.then(() => process.exit(0));
    return;
  }
  chain = chain.then(async () => {
    try {
      send({ type: 'done', id: m.id, result: await executeJob(m.data, storeRoot) });
    } catch (e) {
      if (process.env.UIB_DEBUG && e instanceof Error && e.stack)
        process.stderr.write(`${e.stack}\n`);
      send({
        type: 'failed',
        id: m.id,
        message: oneLine(e),
        ...(isUsageError(e) && { usage: { where: e.where, problem: e.problem } }),
      });
    }
  });
});
void chain.then(() => send({ type: 'ready' }));
