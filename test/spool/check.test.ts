import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkSpool, shellWord } from '../../src/spool/check.js';
import { tmpSpool } from '../fixtures/core/helpers.js';

describe('checkSpool fixes', () => {
  it('shell-quotes the paths in the commands it suggests', async () => {
    const missing = path.join(tmpSpool(), "no such 'spool'");
    const c = await checkSpool(missing);
    expect(c.problems[0]?.fix).toContain(`mkdir -p '${path.dirname(missing)}/no such '\\''spool'\\'''`);
    expect(shellWord('/var/spool/app')).toBe('/var/spool/app');
    expect(shellWord('/tmp/a b')).toBe("'/tmp/a b'");
  });
});
