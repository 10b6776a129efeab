import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Queue, readSpoolStatus } from '../../src/index.js';
import { ensureSpoolRoot, forgetSpoolRoot, readSpoolMarker, resolveSpoolRoot, SPOOL_FORMAT_VERSION } from '../../src/spool/root.js';
import { resolveModes } from '../../src/spool/fs.js';
import { snapshotTree } from '../cli/helpers.js';
import { tmpSpool } from '../fixtures/core/helpers.js';

const markers: [string, string, RegExp][] = [
  ['a newer version', JSON.stringify({ format: 'spoolkit', version: SPOOL_FORMAT_VERSION + 1, createdAt: 1 }), /newer than this spoolkit supports.*upgrade spoolkit/],
  ['version 0', JSON.stringify({ format: 'spoolkit', version: 0 }), /no valid format version \(a whole number from 1, got 0\)/],
  ['a version in a string', JSON.stringify({ format: 'spoolkit', version: String(SPOOL_FORMAT_VERSION) }), /no valid format version/],
  ['a fraction', JSON.stringify({ format: 'spoolkit', version: 1.5 }), /no valid format version/],
  ['broken JSON', '{"format":"spoolk', /not a spoolkit format marker \(not JSON\)/],
];

describe('the spool format marker', () => {
  it.each(markers)('with %s, a Queue and readSpoolStatus refuse the spool before writing anything', async (_what, body, message) => {
    const spool = tmpSpool();
    const q = new Queue('mail', { spool });
    await q.add('x', {});
    await q.close();
    fs.writeFileSync(path.join(spool, 'spool.json'), body);
    forgetSpoolRoot(spool);
    const before = snapshotTree(spool);
    expect(() => ensureSpoolRoot(spool, resolveModes(undefined))).toThrow(message);
    expect(() => new Queue('other', { spool })).toThrow(message);
    await expect(readSpoolStatus(spool)).rejects.toThrow(message);
    expect(snapshotTree(spool)).toEqual(before);
  });

  it('refuses an invalid marker in a spool that has no queues yet without creating queues/ or workers/', () => {
    const spool = tmpSpool();
    fs.writeFileSync(path.join(spool, 'spool.json'), JSON.stringify({ format: 'spoolkit', version: 0 }));
    expect(() => new Queue('mail', { spool })).toThrow(/no valid format version/);
    expect(fs.readdirSync(spool)).toEqual(['spool.json']);
  });

  it('reads a valid marker, and none where there is no spool.json', () => {
    const spool = tmpSpool();
    expect(readSpoolMarker(spool)).toBeNull();
    ensureSpoolRoot(spool, resolveModes(undefined));
    expect(readSpoolMarker(spool)?.version).toBe(SPOOL_FORMAT_VERSION);
  });
});

describe('resolveSpoolRoot', () => {
  it('takes every form of file URL as the path it names, as the CLI does', () => {
    expect(resolveSpoolRoot(undefined, { SPOOLKIT_SPOOL: 'file:/var/spool/app' })).toBe('/var/spool/app');
    expect(resolveSpoolRoot('FILE:///var/spool/app', {})).toBe('/var/spool/app');
    expect(resolveSpoolRoot(new URL('file:///var/spool/a%20b'), {})).toBe('/var/spool/a b');
    expect(() => resolveSpoolRoot('file:spool', {})).toThrow(/the spool option is a file: URL without an absolute path/);
    expect(() => resolveSpoolRoot(undefined, { SPOOLKIT_SPOOL: 'redis://localhost' })).toThrow(/SPOOLKIT_SPOOL must be a path or a file:\/\/ URL/);
  });

  it('refuses a spool with blanks at its ends, as the CLI does (a stray space named a spool of its own)', () => {
    expect(() => resolveSpoolRoot(undefined, { SPOOLKIT_SPOOL: '/var/spool/app\t' })).toThrow(/^SPOOLKIT_SPOOL "\/var\/spool\/app\\t" has blanks at its start or end/);
    expect(() => resolveSpoolRoot(' /var/spool/app', {})).toThrow(/^the spool option " \/var\/spool\/app" has blanks/);
    expect(resolveSpoolRoot('/var/spool/my app', {})).toBe('/var/spool/my app');
  });
});
