/**
 * The README's benchmark block (bench/lib/report.mjs): a report merged from runs on different
 * hardware must say which groups ran where, never present them under one machine.
 */
import { describe, expect, it } from 'vitest';
import { headlineMarkdown, machineGroups } from '../../bench/lib/report.mjs';

const fs = { dir: '/b', source: '/dev/vda', type: 'ext4', options: 'rw', statf: 'ext2/ext3' };
const intel = { cpuModel: 'Intel Xeon', cores: 2, memoryGiB: 23.5, kernel: 'linux 6.1', node: 'v20.1.0', filesystem: fs };
const amd = { ...intel, cpuModel: 'AMD EPYC' };

function opsCase(group: string, label: string, system: string, opsPerSec: number, machine?: object) {
  return { group, label, system, metric: 'opsPerSec', params: { n: 10 }, results: [{ opsPerSec }], errors: [], median: { opsPerSec }, commit: 'abcdef1234', ...(machine ? { machine } : {}) };
}

function report(cases: object[]) {
  return {
    startedAt: '2026-01-01T00:00:00.000Z',
    finishedAt: '2026-01-01T01:00:00.000Z',
    machine: { ...amd, loadavgAtStart: [0, 0, 0] },
    options: { runs: 3, sizes: { n: 10_000, durableN: 2000 } },
    redis: { version: '7.0.15' },
    cases,
  };
}

describe('benchmark report machines', () => {
  it('names one machine when every case ran on it (older cases without their own count as the report’s)', () => {
    const r = report([opsCase('enqueue', 'add (one at a time)', 'spoolkit-fast', 9000), opsCase('drain', 'concurrency 1', 'spoolkit-fast', 7000, amd)]);
    expect(machineGroups(r)).toHaveLength(1);
    const md = headlineMarkdown(r);
    expect(md).toContain('Machine: AMD EPYC, 2 cores');
    expect(md).not.toContain('Intel');
  });

  it('says which groups ran on which machine when a merge mixed them', () => {
    const r = report([
      opsCase('enqueue', 'add (one at a time)', 'spoolkit-fast', 9000, intel),
      opsCase('drain', 'concurrency 1', 'spoolkit-fast', 7000, intel),
      opsCase('cycle', 'write+rename+rename+read+unlink', 'raw-fs', 14000, amd),
    ]);
    expect(machineGroups(r).map((g) => [g.machine.cpuModel, g.groups])).toEqual([
      ['Intel Xeon', ['enqueue', 'drain']],
      ['AMD EPYC', ['cycle']],
    ]);
    const md = headlineMarkdown(r);
    expect(md).toMatch(/Machines \(groups measured on different hardware do not compare\): Intel Xeon, .* for enqueue, drain; AMD EPYC, .* for cycle\./);
  });
});
