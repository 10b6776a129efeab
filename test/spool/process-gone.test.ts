import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import { describe, expect, it } from 'vitest';
import { LIVENESS_TAG, PID_NAMESPACE, livenessTagOf, processGoneOnThisHost, processOfTagGone, taggedProcessGone } from '../../src/spool/process-gone.js';

const host = os.hostname();

describe('processGoneOnThisHost', () => {
  it('reports a live pid alive, and never judges another host or a nonsense pid', () => {
    expect(processGoneOnThisHost(host, process.pid)).toBe(false);
    expect(processGoneOnThisHost(host, 1)).toBe(false);
    expect(processGoneOnThisHost('another-host', 2 ** 22 + 7)).toBe(false);
    expect(processGoneOnThisHost(host, 0)).toBe(false);
    expect(processGoneOnThisHost(host, Number.NaN)).toBe(false);
  });

  it('reports a pid that no process has as gone', () => {
    // Above Linux's largest pid_max (2^22), so no process can have it.
    expect(processGoneOnThisHost(host, 2 ** 22 + 7)).toBe(true);
  });
});

describe('taggedProcessGone', () => {
  const ns = PID_NAMESPACE;

  it('takes this host, namespace and pid with another tag for an earlier process that had this pid', () => {
    expect(taggedProcessGone(host, ns, process.pid, LIVENESS_TAG === 'zzzz' ? 'yyyy' : 'zzzz')).toBe(true);
  });

  it('names the process by its start time, the same in every thread (a thread loads its own copy of the modules)', () => {
    const stat = fs.readFileSync('/proc/self/stat', 'utf8');
    const ticks = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
    expect(LIVENESS_TAG).toBe(`t${ticks.toString(36)}`);
  });

  it('takes this host, namespace, pid and tag for this process, and a record without a tag as this process', () => {
    expect(taggedProcessGone(host, ns, process.pid, LIVENESS_TAG)).toBe(false);
    expect(taggedProcessGone(host, ns, process.pid, undefined)).toBe(false);
  });

  it('asks the system about any other pid of this namespace, whatever the tag', () => {
    expect(taggedProcessGone(host, ns, 1, 'zzzz')).toBe(false);
    expect(taggedProcessGone(host, ns, 2 ** 22 + 7, undefined)).toBe(true);
    expect(taggedProcessGone('another-host', ns, process.pid, 'zzzz')).toBe(false);
  });

  it('never judges a record from another pid namespace (another container under the same hostname) or one naming none', () => {
    expect(taggedProcessGone(host, 'pid:[1]', 2 ** 22 + 7, 'zzzz')).toBe(false);
    expect(taggedProcessGone(host, 'pid:[1]', process.pid, 'zzzz')).toBe(false);
    expect(taggedProcessGone(host, undefined, 2 ** 22 + 7, 'zzzz')).toBe(false);
  });

  it('knows this process namespace on Linux', () => {
    if (process.platform === 'linux') expect(PID_NAMESPACE).toMatch(/^pid:\[\d+\]$/);
  });
});

describe('processOfTagGone (a sandbox child named in a heartbeat)', () => {
  it('reads the liveness tag of another process from /proc, as LIVENESS_TAG names this one', () => {
    expect(livenessTagOf(process.pid)).toBe(LIVENESS_TAG);
    const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 5000)']);
    try {
      const tag = livenessTagOf(child.pid!);
      expect(tag).toMatch(/^t[0-9a-z]+$/);
      expect(processOfTagGone(child.pid!, tag!)).toBe(false);
      // The same pid with another start time is a later process: the named one is gone.
      expect(processOfTagGone(child.pid!, 't0')).toBe(true);
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('reports a process that has ended as gone, and never judges a nonsense pid', () => {
    const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    expect(processOfTagGone(Number(r.stdout), 't1')).toBe(true);
    expect(livenessTagOf(Number(r.stdout))).toBeUndefined();
    expect(processOfTagGone(0, 't1')).toBe(false);
    expect(processOfTagGone(Number.NaN, 't1')).toBe(false);
  });
});

describe('a pid namespace without a /proc of its own', () => {
  // `unshare --pid --fork` without `--mount-proc`: /proc is the parent namespace's, where this
  // namespace's pids name other processes (pid 1 there is the host's init).
  const can = process.getuid?.() === 0 && spawnSync('unshare', ['--pid', '--fork', 'true']).status === 0;
  it.skipIf(!can)('never judges a live process of it gone by what that /proc says', () => {
    const fixture = new URL('../fixtures/core/ns-judge.ts', import.meta.url).pathname;
    const r = spawnSync('unshare', ['--pid', '--fork', process.execPath, '--import', 'tsx', fixture, 'holder'], { encoding: 'utf8', timeout: 20_000, cwd: new URL('../..', import.meta.url).pathname });
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ gone: false, tag: null });
  });
});

