// @ts-check
// The machine a benchmark ran on: CPU, cores, memory, kernel, Node, and the filesystem under the
// benchmark directory (type and mount options, which decide what fsync and unlink cost).
import { execFileSync } from 'node:child_process';
import { cpus, loadavg, totalmem, release, platform } from 'node:os';

function tryRun(cmd, args) {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return null;
  }
}

/** Describes this machine and the filesystem holding `dir`. */
export function describeMachine(dir) {
  const cpuList = cpus();
  const findmnt = tryRun('findmnt', ['-n', '-T', dir, '-o', 'SOURCE,FSTYPE,OPTIONS']);
  const [source, fstype, options] = findmnt ? findmnt.split(/\s+/) : [null, null, null];
  const statf = tryRun('stat', ['-f', '-c', '%T bsize=%S', dir]);
  return {
    cpuModel: cpuList[0]?.model ?? 'unknown',
    cores: cpuList.length,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    kernel: `${platform()} ${release()}`,
    node: process.version,
    filesystem: { dir, source, type: fstype, options, statf },
    loadavgAtStart: loadavg().map((x) => Math.round(x * 100) / 100),
  };
}

/** What a single case records of its machine: everything but the load at the run's start. */
export function briefMachine(m) {
  const { loadavgAtStart: _load, ...rest } = m;
  return rest;
}
