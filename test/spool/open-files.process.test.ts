import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tmpSpool } from '../fixtures/core/helpers.js';

describe('open-file limit', () => {
  it('maps EMFILE to ERR_TOO_MANY_OPEN_FILES naming the fix, stores nothing, and works again once descriptors are free', () => {
    const fixture = path.resolve(import.meta.dirname, '../fixtures/core/open-files-exhausted.ts');
    const out = execFileSync('bash', ['-c', `ulimit -n 256 && exec "${process.execPath}" --import tsx "${fixture}"`], {
      env: { ...process.env, SPOOL: tmpSpool() },
      encoding: 'utf8',
      timeout: 30_000,
    });
    const res = JSON.parse(out.trim().split('\n').pop()!) as { first?: { code?: string; message: string }; gone: boolean; after: number };
    expect(res.first?.code).toBe('ERR_TOO_MANY_OPEN_FILES');
    expect(res.first?.message).toMatch(/ulimit -n.*concurrency/);
    expect(res.gone).toBe(true);
    expect(res.after).toBe(2);
  });
});
