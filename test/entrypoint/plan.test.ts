import { describe, expect, it } from 'vitest';
import { planEntrypoint } from '../../src/entrypoint/plan.js';

const commands = ['worker', 'health', 'status', 'jobs', 'queue', 'entrypoint', 'scheduler'];

describe('planEntrypoint: the role matrix', () => {
  it.each(['web', 'worker', 'all', 'scheduler', 'health'])('takes the role %s from the first argument', (role) => {
    expect(planEntrypoint([role, '--concurrency', '2'], {}, commands)).toEqual({ kind: 'role', role, args: ['--concurrency', '2'], source: 'argument' });
  });

  it('prefers the argument over SPOOLKIT_ROLE', () => {
    expect(planEntrypoint(['web'], { SPOOLKIT_ROLE: 'worker' }, commands)).toMatchObject({ kind: 'role', role: 'web', source: 'argument' });
  });

  it('takes the role from SPOOLKIT_ROLE when there is no argument', () => {
    expect(planEntrypoint([], { SPOOLKIT_ROLE: 'worker' }, commands)).toEqual({ kind: 'role', role: 'worker', args: [], source: 'SPOOLKIT_ROLE' });
  });

  it('runs spoolkit commands that are not roles in spoolkit', () => {
    expect(planEntrypoint(['status', '--json'], {}, commands)).toEqual({ kind: 'spoolkit', args: ['status', '--json'] });
  });

  it('passes any other command through unchanged, even when SPOOLKIT_ROLE is set', () => {
    expect(planEntrypoint(['sh', '-c', 'echo worker'], { SPOOLKIT_ROLE: 'worker' }, commands)).toEqual({ kind: 'exec', argv: ['sh', '-c', 'echo worker'] });
    // A role word later in the command line is not a role: only the first argument counts.
    expect(planEntrypoint(['node', 'web'], {}, commands)).toEqual({ kind: 'exec', argv: ['node', 'web'] });
  });

  it('refuses an unknown SPOOLKIT_ROLE with the list of roles (config error)', () => {
    expect(() => planEntrypoint([], { SPOOLKIT_ROLE: 'wroker' }, commands)).toThrow(/SPOOLKIT_ROLE must be one of web, worker, all, scheduler, health; got "wroker"/);
  });

  it('refuses no role at all (usage error)', () => {
    try {
      planEntrypoint([], {}, commands);
      expect.unreachable();
    } catch (err) {
      expect((err as { code?: string }).code).toBe('ERR_USAGE');
      expect((err as Error).message).toMatch(/No role given/);
    }
  });
});
