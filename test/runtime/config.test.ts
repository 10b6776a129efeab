import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../../src/errors.js';
import { loggerOptions, parseInteger, parseJsonArgument, parseRole, readAppPackageConfig, resolveProcessorsPath, spoolRootFrom } from '../../src/config.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'spoolkit-config-'));
  dirs.push(d);
  return d;
}

describe('config parsing', () => {
  it('parses whole numbers strictly and names the source in errors', () => {
    expect(parseInteger('8', 'SPOOLKIT_CONCURRENCY', { min: 1 })).toBe(8);
    expect(() => parseInteger('8x', 'SPOOLKIT_CONCURRENCY', { min: 1 })).toThrow(/SPOOLKIT_CONCURRENCY must be a whole number >= 1; got "8x"/);
    expect(() => parseInteger('0', 'SPOOLKIT_CONCURRENCY', { min: 1 })).toThrow(/SPOOLKIT_CONCURRENCY must be a whole number >= 1; got 0/);
    expect(() => parseInteger('1e3', '--max-jobs')).toThrow(/--max-jobs/);
    expect(() => parseInteger('', '--max-jobs')).toThrow(/got ""/);
  });

  it('accepts only known roles', () => {
    expect(parseRole('worker', 'SPOOLKIT_ROLE')).toBe('worker');
    expect(() => parseRole('wrker', 'SPOOLKIT_ROLE')).toThrow(/SPOOLKIT_ROLE must be one of web, worker, all, scheduler, health; got "wrker"/);
  });

  it('resolves the spool from the flag, SPOOLKIT_SPOOL (path or file URL) or ./.spool', () => {
    expect(spoolRootFrom(undefined, {}, '/app')).toBe('/app/.spool');
    expect(spoolRootFrom(undefined, { SPOOLKIT_SPOOL: 'data/spool' }, '/app')).toBe('/app/data/spool');
    expect(spoolRootFrom(undefined, { SPOOLKIT_SPOOL: 'file:///var/spool/app' }, '/app')).toBe('/var/spool/app');
    expect(spoolRootFrom('/x', { SPOOLKIT_SPOOL: '/y' }, '/app')).toBe('/x');
    expect(() => spoolRootFrom(undefined, { SPOOLKIT_SPOOL: 'redis://localhost' }, '/app')).toThrow(/SPOOLKIT_SPOOL must be a path or a file:\/\/ URL/);
  });

  it('refuses a spool with blanks at its ends (a stray space in a .env file named a spool of its own)', () => {
    expect(() => spoolRootFrom(undefined, { SPOOLKIT_SPOOL: '/var/spool/app ' }, '/app')).toThrow(ConfigError);
    expect(() => spoolRootFrom(undefined, { SPOOLKIT_SPOOL: '/var/spool/app ' }, '/app')).toThrow('SPOOLKIT_SPOOL "/var/spool/app " has blanks at its start or end; remove them (check the quoting in your .env or compose file).');
    expect(() => spoolRootFrom(' ', {}, '/app')).toThrow(/^--spool " " has blanks at its start or end/);
    expect(spoolRootFrom(undefined, { SPOOLKIT_SPOOL: '/var/spool/my app' }, '/app')).toBe('/var/spool/my app');
  });

  it('takes every form of file URL (file:/x, FILE:///x, file://localhost/x) as the path it names', () => {
    expect(spoolRootFrom(undefined, { SPOOLKIT_SPOOL: 'file:/var/spool/app' }, '/app')).toBe('/var/spool/app');
    expect(spoolRootFrom(undefined, { SPOOLKIT_SPOOL: 'FILE:///var/spool/app' }, '/app')).toBe('/var/spool/app');
    expect(spoolRootFrom('File://localhost/var/spool/app', {}, '/app')).toBe('/var/spool/app');
    expect(spoolRootFrom(undefined, { SPOOLKIT_SPOOL: 'file:///tmp/no%20such' }, '/app')).toBe('/tmp/no such');
    expect(() => spoolRootFrom(undefined, { SPOOLKIT_SPOOL: 'file:spool' }, '/app')).toThrow(/SPOOLKIT_SPOOL is a file: URL without an absolute path/);
    expect(() => spoolRootFrom('file://otherhost/x', {}, '/app')).toThrow(/--spool is not a usable file:\/\/ URL/);
    expect(() => spoolRootFrom(undefined, { SPOOLKIT_SPOOL: 'REDIS://x' }, '/app')).toThrow(/must be a path or a file:\/\/ URL/);
  });

  it('reports bad LOG_LEVEL and LOG_FORMAT as config errors', () => {
    expect(loggerOptions({ LOG_LEVEL: 'debug' }).level).toBe('debug');
    const err = (() => {
      try {
        loggerOptions({ LOG_LEVEL: 'loud' });
      } catch (e) {
        return e as Error & { code?: string };
      }
      return undefined;
    })();
    expect(err?.code).toBe('ERR_CONFIG');
    expect(err?.message).toMatch(/LOG_LEVEL must be one of debug, info, warn, error/);
  });

  it('reads an empty LOG_LEVEL or LOG_FORMAT as unset, as every other variable (it was refused, exit 2)', () => {
    expect(loggerOptions({ LOG_LEVEL: '', LOG_FORMAT: '' })).toEqual({ level: 'info', format: 'json' });
    expect(() => loggerOptions({ LOG_FORMAT: ' ' })).toThrow(/LOG_FORMAT must be json or pretty; got " "/);
  });

  it('explains bad JSON arguments', () => {
    expect(parseJsonArgument('{"a":1}', 'data')).toEqual({ a: 1 });
    expect(() => parseJsonArgument('{a:1}', 'The job data')).toThrow(/The job data is not valid JSON .*Quote it for the shell/);
  });

  it('finds the processors module from the flag, the variable or package.json', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'procs.js'), 'export default {}');
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ spoolkit: { processors: 'procs.js', web: 'node web.js' } }));
    expect(resolveProcessorsPath(undefined, {}, dir)).toBe(join(dir, 'procs.js'));
    expect(resolveProcessorsPath(undefined, { SPOOLKIT_PROCESSORS: 'procs.js' }, dir)).toBe(join(dir, 'procs.js'));
    expect(() => resolveProcessorsPath('missing.js', {}, dir)).toThrow(/missing\.js \(from --processors\) does not exist/);
    expect(readAppPackageConfig(dir).web).toBe('node web.js');
    const empty = tempDir();
    expect(() => resolveProcessorsPath(undefined, {}, empty)).toThrow(/pass --processors <file>, set SPOOLKIT_PROCESSORS, or add "spoolkit"/);
  });

  it('refuses a malformed spoolkit key in package.json', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ spoolkit: { web: 42 } }));
    expect(() => readAppPackageConfig(dir)).toThrow(/"spoolkit.web" .* must be a command string or a non-empty array/);
  });
});
