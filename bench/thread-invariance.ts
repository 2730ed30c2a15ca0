/**
 * Whether each native kernel's output depends on the thread count: every case of
 * tests/backend/native/thread-cases.ts run with 1, 2, 3 and 4 threads (minParallelWork 0), the
 * floats whose bits differ from the 1-thread run counted. Not a test (kernels.test.ts asserts
 * it): `node --import tsx bench/thread-invariance.ts [--threads 1,2,3,4]`. Prints JSON on stdout.
 */
import { parseArgs } from 'node:util';
import {
  nativeAddon,
  nativeUnavailableReason,
  threadsFromEnv,
} from '../src/backend/native/addon.ts';
import { bitsDiffer, runThreadCase, THREAD_CASES } from '../tests/backend/native/thread-cases.ts';

const { values } = parseArgs({ options: { threads: { type: 'string', default: '1,2,3,4' } } });
const threads = values.threads.split(',').map(Number);
const addon = nativeAddon();
if (addon === undefined) {
  process.stderr.write(`native addon absent: ${nativeUnavailableReason()}\n`);
  process.exit(1);
}
const rows = THREAD_CASES.map((c) => {
  const outs = runThreadCase(addon, c, threads);
  const differing = Object.fromEntries(
    threads.slice(1).map((t, i) => [t, bitsDiffer(outs[0], outs[i + 1])]),
  );
  return { kernel: c.name, floats: outs[0].length, differing };
});
addon.setThreads(threadsFromEnv());
process.stdout.write(`${JSON.stringify({ threads, cases: rows }, null, 2)}\n`);
