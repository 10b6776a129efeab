import fs from 'node:fs';
import os from 'node:os';
import { describe, expect, it } from 'vitest';
import { LIVENESS_TAG, PID_NAMESPACE, processGoneOnThisHost, taggedProcessGone } from '../../src/spool/process-gone.js';

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
