import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { writeOverride } from '../../src/testing/compose.js';

describe('writeOverride', () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });

  it('pins images, replaces published ports with 127.0.0.1-only ones, and adds environment and healthcheck timing', async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'spoolkit-override-'));
    const file = path.join(dir, 'override.yaml');
    await writeOverride(file, {
      web: { image: 'app:web', publish: [3000], environment: { A: 'b c' }, healthcheck: { interval: '1s' } },
      worker: { image: 'app:worker', publish: [] },
    });
    const lines = readFileSync(file, 'utf8').split('\n');
    expect(lines).toContain('  "web":');
    expect(lines).toContain('    image: "app:web"');
    expect(lines).toContain('    pull_policy: never');
    expect(lines).toContain('    ports: !override ["127.0.0.1::3000"]');
    expect(lines).toContain('    environment: {"A":"b c"}');
    expect(lines).toContain('    healthcheck: {"interval":"1s"}');
    expect(lines).toContain('    ports: !override []');
  });
});
