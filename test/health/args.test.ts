import path from 'node:path';
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { optionValueIn } from '../../src/cli/option-value.js';
import { register as registerScheduler } from '../../src/cli/commands/scheduler.js';
import { register as registerWorker } from '../../src/cli/commands/worker.js';
import { HEALTH_DEFAULTS, parseHealthArgs } from '../../src/health/args.js';
import { spoolFlagOf } from '../../src/health/entrypoint-role.js';

describe('parseHealthArgs', () => {
  it('takes -s for --spool, as every command that reads the spool does', () => {
    expect(parseHealthArgs(['-s', '/srv/spool'], {})).toMatchObject({ spool: '/srv/spool', errors: [] });
    expect(parseHealthArgs(['-s/srv/x', '--strict'], {})).toMatchObject({ spool: '/srv/x', strict: true, errors: [] });
  });
});

describe('parseHealthArgs with a bad flag', () => {
  it('reports a mistyped flag and keeps every other value', () => {
    const a = parseHealthArgs(['--spool', '/srv/spool', '--max-wait', '5', '--role', 'worker', '--strict', '--queues', 'mail'], {});
    expect(a.spool).toBe('/srv/spool');
    expect(a.role).toBe('worker');
    expect(a.strict).toBe(true);
    expect(a.queues).toEqual(['mail']);
    expect(a.maxWaiting).toBe(HEALTH_DEFAULTS.maxWaiting);
    expect(a.errors).toEqual(['Bad arguments for spoolkit health: unknown option --max-wait (did you mean --max-waiting?). Fix the healthcheck command (see spoolkit health --help).']);
  });

  it('reports a flag without its value, a value given to a switch, and a stray argument, keeping the rest', () => {
    expect(parseHealthArgs(['--max-waiting', '3', '--spool'], {})).toMatchObject({ maxWaiting: 3, spool: undefined, errors: [expect.stringMatching(/--spool needs a value\. Fix/)] });
    expect(parseHealthArgs(['--spool', '--strict'], {}).errors[0]).toMatch(/--spool needs a value \(got the flag --strict; write --spool=--strict if that is the value\)/);
    expect(parseHealthArgs(['--strict=yes', '--spool=/a'], {})).toMatchObject({ spool: '/a', strict: false, errors: [expect.stringMatching(/--strict takes no value/)] });
    expect(parseHealthArgs(['stray', '--spool', '/b'], {})).toMatchObject({ spool: '/b', errors: [expect.stringMatching(/unexpected argument "stray"/)] });
  });

  it('takes --name=value and -h', () => {
    expect(parseHealthArgs(['--spool=/c', '--max-age-ms=10', '-h'], {})).toMatchObject({ spool: '/c', maxAgeMs: 10, help: true, errors: [] });
  });
});

describe('the entrypoint\'s spool', () => {
  it('is the spool of a role given --spool, unless the health check names its own or another role', () => {
    const worker = () => ({ role: 'worker', spool: '/data/spool' });
    expect(parseHealthArgs([], {}, worker)).toMatchObject({ role: 'worker', spool: '/data/spool' });
    expect(parseHealthArgs(['--spool', '/mine'], {}, worker)).toMatchObject({ role: 'worker', spool: '/mine' });
    expect(parseHealthArgs(['--role', 'web'], {}, worker)).toMatchObject({ role: 'web', spool: undefined });
    expect(parseHealthArgs(['--role', 'worker'], {}, worker)).toMatchObject({ role: 'worker', spool: '/data/spool' });
  });

  it('reads every form of the flag as the worker does, relative to the entrypoint\'s directory', () => {
    expect(spoolFlagOf(['--spool', '/a'], '/app')).toBe('/a');
    expect(spoolFlagOf(['--spool=b', '--concurrency', '2'], '/app')).toBe('/app/b');
    expect(spoolFlagOf(['-s', '/c', '-s/d'], '/app')).toBe('/d');
    expect(spoolFlagOf(['--spool', 'file:///e'], '/app')).toBe('file:///e');
    expect(spoolFlagOf(['--spool='], '/app')).toBeUndefined();
    expect(spoolFlagOf(['--', '--spool', '/f'], '/app')).toBeUndefined();
  });
});

describe('spoolFlagOf against the commands themselves', () => {
  // Health reads a worker's or scheduler's --spool from /proc without loading commander and the
  // command modules (about 30 ms); these argument lists are read the same way by both.
  const program = new Command();
  registerWorker(program, () => {});
  registerScheduler(program, () => {});
  const lists: string[][] = [
    [],
    ['--spool', '/a'],
    ['-c', '4', '--spool=/b', '--watch'],
    ['--queues', 'mail,thumbs', '-s', 'rel/spool', '--threads'],
    ['-q', 'mail', '-s/data/spool', '--max-jobs', '100'],
    ['--spool', '/a', '--shutdown-timeout-ms', '20000', '-s', '/c'],
    ['-p', './processors.js', '--log-payloads', '--spool', 'file:///srv/spool'],
    ['--heartbeat-interval-ms', '500', '--spool', '/a', '--', '--spool', '/z'],
    ['--queue', 'reports', '--poll-interval', '250', '-s', '/sched'],
    ['--spool='],
  ];
  for (const command of ['worker', 'scheduler']) {
    it(`agrees with ${command}`, () => {
      const cmd = program.commands.find((c) => c.name() === command);
      if (cmd === undefined) throw new Error(`no ${command} command`);
      for (const args of lists) {
        const value = optionValueIn(cmd, 'spool', args)?.value;
        const expected = value === undefined || value === '' ? undefined : value.startsWith('file:') ? value : path.resolve('/app', value);
        expect(spoolFlagOf(args, '/app'), args.join(' ')).toBe(expected);
      }
    });
  }
});
