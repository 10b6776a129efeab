import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { allRoleStopTimeoutMs, register as registerEntrypoint } from '../../../src/cli/commands/entrypoint.js';
import { register as registerWorker } from '../../../src/cli/commands/worker.js';

describe('allRoleStopTimeoutMs', () => {
  const program = new Command();
  registerWorker(program, () => {});
  registerEntrypoint(program, () => {});

  it('gives the worker its own shutdown timeout plus 5 s, read as the worker command reads it', () => {
    expect(allRoleStopTimeoutMs(program, [], {})).toBe(8000 + 5000);
    expect(allRoleStopTimeoutMs(program, ['-c', '2', '--shutdown-timeout-ms', '1000'], {})).toBe(6000);
    expect(allRoleStopTimeoutMs(program, ['--shutdown-timeout-ms=2000', '--watch'], {})).toBe(7000);
    expect(allRoleStopTimeoutMs(program, ['--shutdown-timeout-ms', '1000', '--shutdown-timeout-ms', '3000'], {})).toBe(8000);
    expect(allRoleStopTimeoutMs(program, [], { SPOOLKIT_SHUTDOWN_TIMEOUT_MS: '4000' })).toBe(9000);
    expect(allRoleStopTimeoutMs(program, ['--shutdown-timeout-ms', '1000'], { SPOOLKIT_SHUTDOWN_TIMEOUT_MS: '4000' })).toBe(6000);
  });

  it('skips what the worker will not read as the flag: after --, or the value of another option', () => {
    expect(allRoleStopTimeoutMs(program, ['--', '--shutdown-timeout-ms', '1000'], {})).toBe(13000);
    expect(allRoleStopTimeoutMs(program, ['--queues', '--shutdown-timeout-ms', '-c', '1'], {})).toBe(13000);
  });

  it('refuses a value the worker would refuse, naming the flag and its bounds', () => {
    expect(() => allRoleStopTimeoutMs(program, ['--shutdown-timeout-ms', 'soon'], {})).toThrow(/--shutdown-timeout-ms must be a whole number/);
  });
});
