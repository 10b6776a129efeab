// @ts-check
// Starts a private redis-server on 127.0.0.1 on a free port, in its own temporary directory, for
// the benchmark and the differential test. Never touches a system-wide redis. The server is
// stopped by `stop()` and, as a last resort, when the parent process exits.
import { spawn, execFile } from 'node:child_process';
import { rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);

/** Resolves a TCP port that was free a moment ago on 127.0.0.1. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** Sends one inline command and resolves the first reply line, or rejects on error/timeout. */
function ping(port, timeoutMs) {
  return new Promise((resolve, reject) => {
    const sock = connect({ host: '127.0.0.1', port });
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error('no reply to PING'));
    }, timeoutMs);
    let buf = '';
    sock.on('connect', () => sock.write('PING\r\n'));
    sock.on('data', (chunk) => {
      buf += chunk.toString('utf8');
      if (buf.includes('\r\n')) {
        clearTimeout(timer);
        sock.end();
        resolve(buf.split('\r\n')[0]);
      }
    });
    sock.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

/** Reads `redis-server --version`, e.g. "7.0.15". */
export async function redisVersion(binary = 'redis-server') {
  const { stdout } = await execFileP(binary, ['--version']);
  const m = /v=(\S+)/.exec(stdout);
  return m ? m[1] : stdout.trim();
}

/**
 * Starts redis-server.
 * @param {{ binary?: string; appendonly?: 'no' | 'everysec' | 'always'; timeoutMs?: number }} [opts]
 * @returns {Promise<{ port: number; host: string; version: string; dir: string; pid: number; stop: () => Promise<void> }>}
 */
export async function startRedis(opts = {}) {
  const binary = opts.binary ?? 'redis-server';
  const appendonly = opts.appendonly ?? 'no';
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const version = await redisVersion(binary);
  const dir = await mkdtemp(join(tmpdir(), 'spoolkit-redis-'));
  const port = await freePort();
  const args = [
    '--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '',
    '--daemonize', 'no', '--protected-mode', 'yes', '--logfile', '', '--loglevel', 'warning',
    '--maxmemory-policy', 'noeviction',
  ];
  if (appendonly === 'no') args.push('--appendonly', 'no');
  else args.push('--appendonly', 'yes', '--appendfsync', appendonly);
  const child = spawn(binary, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (c) => { stderr += c.toString('utf8'); });
  let exited = false;
  const exitedP = new Promise((resolve) => child.once('exit', (code, signal) => { exited = true; resolve({ code, signal }); }));
  // Last resort when the parent exits without stop(): kill the server and remove its directory.
  const onParentExit = () => {
    if (!exited) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', onParentExit);

  const stop = async () => {
    process.removeListener('exit', onParentExit);
    if (!exited) {
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exitedP;
      clearTimeout(t);
    }
    await rm(dir, { recursive: true, force: true });
  };

  const deadline = Date.now() + timeoutMs;
  for (let i = 0; ; i++) {
    if (exited) {
      await stop();
      throw new Error(`redis-server exited at start: ${stderr.trim().split('\n').pop() ?? ''}`);
    }
    try {
      const reply = await ping(port, 500);
      if (reply === '+PONG') break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline || i > 500) {
      await stop();
      throw new Error(`redis-server did not answer PING on 127.0.0.1:${port} within ${timeoutMs} ms`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  return { port, host: '127.0.0.1', version, dir, pid: child.pid ?? -1, stop };
}
