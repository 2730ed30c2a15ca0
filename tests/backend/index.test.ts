import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { importOptionalPackage, initBackend, parseBackendName } from '../../src/backend/index.ts';
import { WASM_KERNELS } from '../../src/backend/wasm/kernels.ts';
import { UsageError } from '../../src/core/errors.ts';

async function withEnv<T>(value: string | undefined, f: () => Promise<T>): Promise<T> {
  const saved = process.env.UIB_BACKEND;
  if (value === undefined) delete process.env.UIB_BACKEND;
  else process.env.UIB_BACKEND = value;
  try {
    return await f();
  } finally {
    if (saved === undefined) delete process.env.UIB_BACKEND;
    else process.env.UIB_BACKEND = saved;
  }
}

test('cpu: selected by name, computes', async () => {
  assert.equal(await initBackend('cpu'), 'cpu');
  assert.equal(tf.getBackend(), 'cpu');
  const s = tf.tidy(() => tf.sum(tf.tensor1d([1, 2, 3])).dataSync()[0]);
  assert.equal(s, 6);
});

test('wasm is the default and comes with every uib kernel registered', async () => {
  await initBackend('cpu');
  assert.equal(await withEnv(undefined, () => initBackend()), 'wasm');
  assert.equal(tf.getBackend(), 'wasm');
  for (const { config } of WASM_KERNELS) {
    assert.ok(tf.getKernel(config.kernelName, 'wasm'), `${config.kernelName} registered for wasm`);
  }
  // A conv filter gradient: the stock wasm backend throws "Kernel 'Conv2DBackpropFilter' not registered".
  const g = tf.tidy(() => {
    const x = tf.ones([1, 4, 4, 1]) as tf.Tensor4D;
    return tf.grad((f: tf.Tensor) => tf.sum(tf.conv2d(x, f as tf.Tensor4D, 1, 'valid')))(
      tf.ones([3, 3, 1, 1]),
    );
  });
  assert.deepEqual(Array.from(g.dataSync()), Array(9).fill(4));
  g.dispose();
});

test('UIB_BACKEND selects the backend; an explicit name wins over it', async () => {
  assert.equal(await withEnv('cpu', () => initBackend()), 'cpu');
  assert.equal(await withEnv('cpu', () => initBackend('wasm')), 'wasm');
  assert.equal(await withEnv('', () => initBackend()), 'wasm');
});

test('unknown backend names fail naming the flag or the variable and the allowed values', async () => {
  await assert.rejects(initBackend('tpu'), (e: unknown) => {
    assert.ok(e instanceof UsageError);
    assert.equal(e.where, '--backend');
    assert.match(e.message, /unknown backend "tpu"; must be one of wasm, cpu, webgpu, tensorflow/);
    return true;
  });
  await assert.rejects(
    withEnv('gpu', () => initBackend()),
    (e: unknown) => e instanceof UsageError && e.where === 'UIB_BACKEND' && /"gpu"/.test(e.message),
  );
  assert.throws(() => parseBackendName('WASM'), UsageError);
});

test('tensorflow: without @tensorflow/tfjs-node installed, a UsageError says what to install', async (t) => {
  try {
    await import('@tensorflow/tfjs-node' as string);
    t.skip('@tensorflow/tfjs-node is installed here');
    return;
  } catch {}
  const before = tf.getBackend();
  await assert.rejects(initBackend('tensorflow'), (e: unknown) => {
    assert.ok(e instanceof UsageError);
    assert.equal(e.where, '--backend');
    assert.match(
      e.message,
      /"@tensorflow\/tfjs-node", which is not installed \(npm install @tensorflow\/tfjs-node@4\.22\.0\)/,
    );
    return true;
  });
  assert.equal(tf.getBackend(), before, 'a failed switch leaves the current backend in place');
});

test('webgpu: starts when a GPU adapter exists, else a UsageError says none was found', async () => {
  try {
    assert.equal(await initBackend('webgpu'), 'webgpu');
    await initBackend('cpu');
  } catch (e) {
    assert.ok(e instanceof UsageError, `not a UsageError: ${e}`);
    assert.match(
      e.message,
      /no GPU adapter was found|needs the npm package "(webgpu|@tensorflow\/tfjs-backend-webgpu)"/,
    );
  }
});

test('a missing optional package is named with its install command; a present one loads', async () => {
  await assert.rejects(
    importOptionalPackage('uib-no-such-package', '--backend', 'backend "x"'),
    (e: unknown) => {
      assert.ok(e instanceof UsageError);
      assert.equal(
        e.message,
        '--backend: backend "x" needs the npm package "uib-no-such-package", which is not installed (npm install uib-no-such-package)',
      );
      return true;
    },
  );
  const mod = await importOptionalPackage('yaml', '--backend', 'test');
  assert.equal(typeof mod.parse, 'function');
});
