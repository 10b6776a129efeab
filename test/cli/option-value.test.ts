import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { optionValueIn } from '../../src/cli/option-value.js';

const worker = new Command('worker')
  .option('-p, --processors <file>', '')
  .option('-s, --spool <path>', '')
  .option('-c, --concurrency <n>', '', (v) => Number.parseInt(v, 10))
  .option('--watch', '');

describe('optionValueIn', () => {
  it('reads an option the way commander will: every spelling, the last one winning, nothing after --', () => {
    expect(optionValueIn(worker, 'spool', [])).toEqual({ value: undefined });
    expect(optionValueIn(worker, 'spool', ['--spool', '/a'])).toEqual({ value: '/a' });
    expect(optionValueIn(worker, 'spool', ['--spool=/a'])).toEqual({ value: '/a' });
    expect(optionValueIn(worker, 'spool', ['-s', '/a', '--watch'])).toEqual({ value: '/a' });
    expect(optionValueIn(worker, 'spool', ['-s/a'])).toEqual({ value: '/a' });
    expect(optionValueIn(worker, 'spool', ['-s', '/a', '--spool', '/b'])).toEqual({ value: '/b' });
    expect(optionValueIn(worker, 'spool', ['--', '--spool', '/a'])).toEqual({ value: undefined });
  });

  it('skips the values of other options, and runs none of their parsers', () => {
    expect(optionValueIn(worker, 'spool', ['-p', '--spool', '-c', 'x4'])).toEqual({ value: undefined });
    expect(optionValueIn(worker, 'spool', ['--unknown', '-c', '0', '--spool', '/a'])).toEqual({ value: '/a' });
  });

  it('gives undefined when the command will refuse the arguments', () => {
    expect(optionValueIn(worker, 'spool', ['--spool'])).toBeUndefined();
  });
});
