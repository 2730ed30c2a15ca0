/**
 * README's "Your own model" runs as written: its shell block line by line (`node examples/…` and
 * `npx uib …`, in an empty directory), then its JavaScript block and docs/api.md's example for the
 * same exports, with `'uib'` pointed at the sources.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { tempDir } from '../data/helpers.ts';
import { ROOT, runUib } from '../helpers/cli.ts';

/** The fenced blocks of `lang` in the section of `file` that starts with `heading`. */
function blocks(file: string, heading: string, lang: string): string[] {
  const text = fs.readFileSync(path.join(ROOT, file), 'utf8');
  const start = text.indexOf(heading);
  assert.ok(start >= 0, `${file} has "${heading}"`);
  const end = text.indexOf('\n## ', start + heading.length);
  const section = text.slice(start, end < 0 ? undefined : end);
  return [...section.matchAll(new RegExp(`\`\`\`${lang}\\n([\\s\\S]*?)\`\`\``, 'g'))].map(
    (m) => m[1],
  );
}

/** Shell lines: continuations joined, comments dropped, split on spaces (the block has no quotes). */
function commands(block: string): string[][] {
  return block
    .replace(/\\\n\s*/g, ' ')
    .split('\n')
    .map((l) => l.replace(/\s#.*$/, '').trim())
    .filter((l) => l !== '')
    .map((l) => l.split(/\s+/));
}

/** A JS block as a module importing the sources for 'uib'. */
function runJs(code: string, cwd: string, name: string): string {
  const file = path.join(cwd, name);
  const index = pathToFileURL(path.join(ROOT, 'src', 'index.ts')).href;
  fs.writeFileSync(file, code.replace(/from 'uib'/g, `from '${index}'`));
  // tsx by path: the file lies outside the repository, where `--import tsx` does not resolve.
  const tsx = pathToFileURL(path.join(ROOT, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href;
  return execFileSync(process.execPath, ['--import', tsx, file], {
    cwd,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

test('README "Your own model": the shell commands, the JavaScript, and docs/api.md’s example run', {
  timeout: 300_000,
}, async () => {
  const cwd = tempDir('own-readme');
  const [sh] = blocks('README.md', '## Your own model', 'sh');
  const cmds = commands(sh);
  assert.ok(cmds.length >= 4, sh);
  for (const argv of cmds) {
    if (argv[0] === 'node') {
      execFileSync(process.execPath, [path.join(ROOT, argv[1]), ...argv.slice(2)], {
        cwd,
        stdio: 'ignore',
      });
      continue;
    }
    assert.deepEqual(argv.slice(0, 2), ['npx', 'uib'], argv.join(' '));
    const r = await runUib(argv.slice(2), { cwd, env: { UIB_BACKEND: 'cpu' } });
    assert.equal(r.code, 0, `${argv.join(' ')}\n${r.stderr}`);
  }
  for (const f of [
    'model.json',
    'weights.bin',
    'deletion-record.json',
    'evidence.json',
    'report.html',
  ])
    assert.ok(fs.existsSync(path.join(cwd, 'my-own', 'forgotten', f)), f);
  assert.ok(fs.existsSync(path.join(cwd, 'my-own', 'eval', 'evidence.json')));

  const [js] = blocks('README.md', '## Your own model', 'js');
  runJs(js, cwd, 'readme.mjs');
  assert.ok(fs.existsSync(path.join(cwd, 'my-own', 'forgotten-api', 'weights.bin')));
  const [api] = blocks('docs/api.md', '**Your own model, data and deletion request**', 'js');
  const out = runJs(api, cwd, 'api.mjs').trim().split('\n');
  const [before, after] = out[out.length - 1].split(' ').map(Number);
  assert.ok(before > 0.5 && after < before, out.join('\n'));
});
