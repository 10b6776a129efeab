// The repository's own docker/Dockerfile, compose.yaml, Procfile and .dockerignore are what
// spoolkit init writes for the example app at the repository root; this keeps them in sync.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runInit } from '../../src/generate/index.js';

const repoRoot = join(import.meta.dirname, '../..');

describe('the repository as the example app', () => {
  it('has committed files identical to what spoolkit init writes (regenerate with: node --import tsx src/cli/main.ts init --force)', async () => {
    const result = await runInit(repoRoot, { mode: 'check' });
    expect(result.diff).toBe('');
    expect(result.drifted).toEqual([]);
    expect(result.files.map((f) => f.path)).toEqual(['docker/Dockerfile', '.dockerignore', 'compose.yaml', 'Procfile', 'package.json']);
  });

  it('runs the CLI from the package itself, since the app is spoolkit', async () => {
    const { model } = await runInit(repoRoot, { mode: 'check' });
    expect(model.self).toBe(true);
    expect(model.spoolkitBin).toBe('dist/cli/main.js');
    expect(model.paths.binInImage).toBe('/app/dist/cli/main.js');
    expect(model.build).toEqual({ script: 'build' });
    expect(model.web.command).toBe('node example/web.js');
    expect(model.processors.path).toBe('example/processors.js');
    expect(model.topology.topology).toBe('split');
  });
});
