/**
 * A web command that cannot be started, through the built CLI: one line naming the program,
 * where the command came from and the fix, and a shell's exit code, in `web` and in `all`.
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { assertBuilt } from '../cli/helpers.js';
import { entryScope, type EntryApp } from './helpers.js';

const scope = entryScope();
const { app, entry } = scope;
beforeAll(() => assertBuilt());
afterEach(() => scope.cleanup());

function withWeb(a: EntryApp, web: string | undefined): void {
  writeFileSync(join(a.dir, 'package.json'), JSON.stringify({ name: 'entry-app', type: 'module', spoolkit: { ...(web === undefined ? {} : { web }), processors: 'processors.mjs' } }));
}
/** The spoolkit lines on stderr (the worker's JSON logs left out). */
const diagnostics = (stderr: string) => stderr.split('\n').filter((l) => l !== '' && !l.startsWith('{'));

describe('spoolkit entrypoint: a web command naming a package program', () => {
  it('finds it in the app\'s node_modules/.bin, as npm start would, outside an image too', async () => {
    const a = app();
    mkdirSync(join(a.dir, 'node_modules', '.bin'), { recursive: true });
    writeFileSync(join(a.dir, 'node_modules', '.bin', 'serve-app'), '#!/bin/sh\necho "served by serve-app $1"\n', { mode: 0o755 });
    withWeb(a, 'serve-app --port=1');
    const r = await entry(a, ['web'], { PATH: '/usr/bin:/bin' }).done;
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('served by serve-app --port=1\n');
  });
});

describe('spoolkit entrypoint: a web command that cannot be started', () => {
  it.each([
    ['web'],
    ['all'],
  ])('%s: a program not on PATH exits 127 with one line naming it, package.json and the fix', async (role) => {
    const a = app();
    withWeb(a, 'nodee server.js');
    const p = entry(a, [role]);
    const r = await p.done;
    expect(r.code).toBe(127);
    const lines = diagnostics(r.stderr);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^spoolkit: the web command "nodee server\.js" from "spoolkit\.web" in .*package\.json cannot be started: "nodee" was not found on PATH \(ENOENT\)\. Fix: /);
    // In all, the worker is not started next to a web command that cannot run.
    expect(p.logs().filter((l) => l.event === 'worker:started')).toEqual([]);
  });

  it('web: a script that is not executable exits 126 and says to chmod it', async () => {
    const a = app();
    writeFileSync(join(a.dir, 'server.sh'), '#!/bin/sh\nexit 0\n', { mode: 0o644 });
    withWeb(a, './server.sh');
    const r = await entry(a, ['web']).done;
    expect(r.code).toBe(126);
    expect(diagnostics(r.stderr)).toEqual([expect.stringMatching(/"\.\/server\.sh" is not executable \(EACCES\)\. Fix: make it executable in the image \(chmod \+x \.\/server\.sh\)/)]);
  });

  it('web: a missing script exits 127 saying where a relative path is taken from', async () => {
    const a = app();
    withWeb(a, './bin/server');
    const r = await entry(a, ['web']).done;
    expect(r.code).toBe(127);
    expect(diagnostics(r.stderr)).toEqual([expect.stringContaining(`"./bin/server" does not exist (ENOENT; a relative path is taken from ${a.dir})`)]);
  });

  it('all: "exec node …" on the Procfile web line exits 127 saying to drop exec, with the worker never started', async () => {
    const a = app();
    withWeb(a, undefined);
    writeFileSync(join(a.dir, 'Procfile'), 'web: exec node web.mjs\n');
    const p = entry(a, ['all']);
    const r = await p.done;
    expect(r.code).toBe(127);
    expect(diagnostics(r.stderr)).toEqual([
      `spoolkit: the web command "exec node web.mjs" from the web: line of ${join(a.dir, 'Procfile')} cannot be started: "exec" is a shell builtin, not a program, and the web command runs without a shell. Fix: remove "exec": the entrypoint already runs "node web.mjs" directly, without a shell in between, as exec would.`,
    ]);
    expect(p.logs().filter((l) => l.event === 'worker:started')).toEqual([]);
  });
});
