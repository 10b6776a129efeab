/** The examples in docs/cli.md show what this version prints. */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SPOOL_FORMAT_VERSION } from '../../src/spool/root.js';
import { repoRoot } from './helpers.js';

const doc = readFileSync(join(repoRoot, 'docs/cli.md'), 'utf8');

describe('docs/cli.md', () => {
  it('the health line example names the current spool format version', () => {
    const line = /```json\n(\{"status".*\})\n```/.exec(doc)?.[1];
    expect(line).toBeDefined();
    expect((JSON.parse(line as string) as { formatVersion: number }).formatVersion).toBe(SPOOL_FORMAT_VERSION);
  });

  it('the status example names the current spool format version', () => {
    expect(doc).toMatch(new RegExp(`^spool /var/spool/app \\(format ${SPOOL_FORMAT_VERSION}\\)$`, 'm'));
  });
});
