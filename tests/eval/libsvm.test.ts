import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { loadLibsvm } from '../../src/eval/libsvm.ts';

test('loading libsvm leaves no process-wide unhandledRejection listener behind', async () => {
  const before = process.listeners('unhandledRejection').length;
  const SVM = await loadLibsvm();
  assert.equal(typeof SVM, 'function');
  assert.equal(process.listeners('unhandledRejection').length, before);
  assert.equal(typeof WebAssembly.instantiateStreaming, 'function'); // restored
});

test('loading libsvm prints nothing', () => {
  const code =
    "import('./src/eval/libsvm.ts').then(async (m) => { const s = await m.trainSvc([[0],[1]], [0,1], { C: 3 }); console.log(s.predict([[0.9]])[0]); s.free(); })";
  const r = spawnSync(process.execPath, ['--import', 'tsx', '-e', code], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr, '');
  assert.equal(r.stdout.trim(), '1');
});
