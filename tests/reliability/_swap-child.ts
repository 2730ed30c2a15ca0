/**
 * Child process for interrupt-swap.test.ts: `writeDirAtomic(target)` that SIGKILLs itself right
 * after its Nth `fs.renameSync` (1: the old directory moved aside, the new one not yet in; 2: the
 * new one in, the old one not yet removed). Timing cannot hit that window; this does, every time.
 *
 *   node --import tsx tests/reliability/_swap-child.ts TARGET N
 */
import { createRequire, syncBuiltinESMExports } from 'node:module';
import * as path from 'node:path';

const [target, nth] = process.argv.slice(2);
const fs = createRequire(import.meta.url)('node:fs') as typeof import('node:fs');
const rename = fs.renameSync;
let renames = 0;
fs.renameSync = (from, to) => {
  rename(from, to);
  if (++renames === Number(nth)) process.kill(process.pid, 'SIGKILL');
};
syncBuiltinESMExports(); // so `import * as fs` in atomic.ts sees the wrapper
const { writeDirAtomic } = await import('../../src/core/atomic.ts');
await writeDirAtomic(target, (tmp) => fs.writeFileSync(path.join(tmp, 'new.txt'), 'new'));
