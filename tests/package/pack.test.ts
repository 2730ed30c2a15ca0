/**
 * The package as a user gets it: built and packed (`npm pack` of a staged copy), then
 * `npm install ./uib-*.tgz` in an empty project, then `import … from 'uib'` from an .mjs file that
 * runs (examples/quickstart.mjs) and from a .ts file that tsc type-checks against the packed .d.ts
 * (examples/quickstart.ts, with a deliberately wrong copy that must fail). The install takes the
 * dependencies from npm's cache where it can (`--prefer-offline`), skips install scripts (the
 * optional native addon) and the optional backends.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { tempDir } from '../data/helpers.ts';
import { ROOT } from '../helpers/cli.ts';

const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const run = (cmd: string, args: string[], cwd: string) =>
  execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

test('npm pack → npm install ./uib-*.tgz → import from .mjs (runs) and .ts (tsc)', {
  timeout: 300_000,
}, () => {
  const dir = tempDir('pack');
  // Packed from a staged copy built here, so that the repository's own dist/ (which other test
  // files' child processes may be running) is neither rewritten nor, if stale, shipped.
  const stage = path.join(dir, 'stage');
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
  for (const f of [...pkg.files.filter((f: string) => f !== 'dist'), 'package.json', 'README.md'])
    fs.cpSync(path.join(ROOT, f), path.join(stage, f), { recursive: true });
  const tscBin = path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  run(
    process.execPath,
    [tscBin, '-p', path.join(ROOT, 'tsconfig.build.json'), '--outDir', path.join(stage, 'dist')],
    ROOT,
  );
  const out = run(npm, ['pack', '--ignore-scripts', '--pack-destination', dir, '--silent'], stage)
    .trim()
    .split('\n');
  const tgz = path.join(dir, out[out.length - 1]);
  assert.ok(fs.existsSync(tgz), `npm pack wrote ${tgz}`);
  const listing = run('tar', ['-tzf', tgz], dir);
  for (const f of ['package/dist/index.js', 'package/dist/index.d.ts', 'package/bin/uib.js'])
    assert.ok(listing.includes(f), `${f} is packed`);
  assert.ok(!listing.includes('package/tests/'), 'the tests are not packed');

  const proj = path.join(dir, 'proj');
  fs.mkdirSync(proj);
  fs.writeFileSync(
    path.join(proj, 'package.json'),
    JSON.stringify({ name: 'scratch', private: true, type: 'module' }),
  );
  run(
    npm,
    [
      'install',
      '--prefer-offline',
      '--no-audit',
      '--no-fund',
      '--ignore-scripts',
      '--omit=optional',
      tgz,
    ],
    proj,
  );

  // JavaScript: the quickstart runs and forgets the class.
  fs.copyFileSync(path.join(ROOT, 'examples', 'quickstart.mjs'), path.join(proj, 'quickstart.mjs'));
  const result = JSON.parse(
    run(process.execPath, ['quickstart.mjs'], proj)
      .split('\n')
      .find((l) => l.startsWith('{'))!,
  );
  assert.ok(
    result.after.ua > result.before.ua + 0.3,
    `UA ${result.before.ua} → ${result.after.ua}`,
  );
  assert.ok(result.after.ra > 0.9, `RA ${result.after.ra}`);

  // TypeScript: the typed quickstart checks against the packed declarations; a wrong one fails.
  const tsc = tscBin;
  const typed = fs.readFileSync(path.join(ROOT, 'examples', 'quickstart.ts'), 'utf8');
  fs.writeFileSync(path.join(proj, 'quickstart.ts'), typed);
  fs.writeFileSync(
    path.join(proj, 'wrong.ts'),
    typed.replace("unlearn('uib-if', inputs", 'unlearn(7, inputs'),
  );
  const config = (file: string) =>
    JSON.stringify({
      compilerOptions: {
        module: 'nodenext',
        moduleResolution: 'nodenext',
        target: 'ES2022',
        strict: true,
        noEmit: true,
        skipLibCheck: true,
        types: [],
      },
      files: [file],
    });
  fs.writeFileSync(path.join(proj, 'tsconfig.json'), config('quickstart.ts'));
  fs.writeFileSync(path.join(proj, 'tsconfig.wrong.json'), config('wrong.ts'));
  run(process.execPath, [tsc, '-p', 'tsconfig.json'], proj);
  assert.throws(
    () => run(process.execPath, [tsc, '-p', 'tsconfig.wrong.json'], proj),
    (e: unknown) => /TS2345/.test(String((e as { stdout?: string }).stdout)),
  );
  // The bin of the installed package answers from the built JavaScript.
  const help = run(
    process.execPath,
    [path.join(proj, 'node_modules', 'uib', 'bin', 'uib.js'), '--help'],
    proj,
  );
  assert.match(help, /Usage: uib/);
});
