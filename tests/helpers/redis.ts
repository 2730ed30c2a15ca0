/**
 * A throwaway Redis for tests: Debian's `redis-server` on a free loopback port, no persistence,
 * its files in a temp directory; `stop()` ends it (SIGTERM, then SIGKILL) and removes them. No
 * fixed port and no system service, so tests in parallel each have their own.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

export const REDIS_SERVER = process.env.UIB_REDIS_SERVER ?? '/usr/bin/redis-server';

export interface TestRedis {
  url: string;
  port: number;
  stop(): Promise<void>;
}

/** Whether redis-server can run here (tests skip with this reason otherwise). */
export function redisMissing(): string | false {
  const r = spawnSync(REDIS_SERVER, ['--version'], { encoding: 'utf8' });
  return r.status === 0 ? false : `${REDIS_SERVER} is not available`;
}

/** A port no one listens on right now (the kernel picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createConnection({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

export async function startRedis(): Promise<TestRedis> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'uib-redis-'));
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const child: ChildProcess = spawn(
      REDIS_SERVER,
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'no',
        '--dir',
        dir,
      ],
      { stdio: 'ignore' },
    );
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline && child.exitCode === null) {
      if (await canConnect(port)) {
        return {
          url: `redis://127.0.0.1:${port}`,
          port,
          stop: async () => {
            if (child.exitCode === null) {
              const gone = new Promise((r) => child.once('exit', r));
              child.kill('SIGTERM');
              const t = setTimeout(() => child.kill('SIGKILL'), 3000);
              await gone;
              clearTimeout(t);
            }
            fs.rmSync(dir, { recursive: true, force: true });
          },
        };
      }
      await new Promise((r) => setTimeout(r, 25));
    }
    child.kill('SIGKILL'); // the port was taken in between, or it did not start: try another
  }
  fs.rmSync(dir, { recursive: true, force: true });
  throw new Error('could not start redis-server on a free port');
}
