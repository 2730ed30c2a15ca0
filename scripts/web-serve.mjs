#!/usr/bin/env node
// Serves web/dist/ (built by `npm run web:build`) on 127.0.0.1: `npm run web -- --port 8080`
// (or PORT=…; 0 picks a free port). Static files only; prints the URL once listening.
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', 'web', 'dist');
const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.wasm': 'application/wasm',
  '.bin': 'application/octet-stream',
  '.json': 'application/json',
};

const args = process.argv.slice(2);
const flag = args.indexOf('--port');
const port = Number(flag >= 0 ? args[flag + 1] : (process.env.PORT ?? 8080));
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(
    `web: --port must be an integer 0-65535, got ${flag >= 0 ? args[flag + 1] : process.env.PORT}`,
  );
  process.exit(2);
}
if (!fs.existsSync(path.join(root, 'index.html'))) {
  console.error('web: web/dist/index.html is missing; run `npm run web:build` first');
  process.exit(2);
}

const server = http.createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://127.0.0.1');
  const rel = decodeURIComponent(url.pathname === '/' ? '/index.html' : url.pathname);
  const file = path.join(root, path.normalize(rel));
  // Never outside web/dist, whatever the path says.
  if (!file.startsWith(root + path.sep) || !fs.existsSync(file) || !fs.statSync(file).isFile()) {
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('not found');
    return;
  }
  res.writeHead(200, {
    'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream',
    'cache-control': 'no-cache',
  });
  fs.createReadStream(file).pipe(res);
});
server.listen(port, '127.0.0.1', () => {
  console.log(`uib web: http://127.0.0.1:${server.address().port}/index.html`);
});
