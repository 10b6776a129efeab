// The topology follows the platform: split where processes share a disk, all where they cannot,
// and a split topology on a platform without a shared disk is refused unless forced.
import { describe, expect, it } from 'vitest';
import { chooseTopology, createModel, PLATFORMS, PLATFORM_INFO, renderFiles, snapshotFromFiles, type InitRequest } from '../../src/generate/index.js';

function model(request: InitRequest) {
  return createModel(
    snapshotFromFiles('/apps/shop', {
      'package.json': JSON.stringify({ name: 'shop', dependencies: { spoolkit: '1' }, scripts: { start: 'node server.js' } }),
      'package-lock.json': '{}',
      'processors.js': '',
    }),
    request,
  );
}

describe('topology', () => {
  it.each(PLATFORMS)('%s gets split exactly when its processes share a disk', (platform) => {
    const choice = chooseTopology(platform, undefined, false);
    expect(choice.topology).toBe(PLATFORM_INFO[platform].sharedDisk ? 'split' : 'all');
    expect(choice.reason).toContain(PLATFORM_INFO[platform].label);
  });

  it.each(['heroku', 'fly', 'render', 'railway'] as const)('refuses split on %s without --force, and says why', (platform) => {
    expect(() => model({ options: { platform, topology: 'split' } })).toThrow(/cannot work on .*--force/);
    const forced = model({ options: { platform, topology: 'split' }, force: true });
    expect(forced.topology.topology).toBe('split');
    // The forced choice is saved, so a re-run without --force reproduces it.
    expect(forced.saved.init).toMatchObject({ topology: 'split', forceTopology: true });
    expect(model({ options: forced.saved.init }).topology.topology).toBe('split');
  });

  it('runs one all process on Heroku and web, worker processes on compose', () => {
    expect(model({ options: { platform: 'heroku' } }).processes.map((p) => `${p.name}:${p.role}`)).toEqual(['web:all']);
    expect(model({}).processes.map((p) => `${p.name}:${p.role}x${p.replicas}`)).toEqual(['web:webx1', 'worker:workerx2']);
  });

  it('refuses a shutdown timeout that Heroku would cut short', () => {
    expect(() => model({ options: { platform: 'heroku', shutdownTimeoutMs: 28_000 } })).toThrow(/Pass --shutdown-timeout-ms 25000 or less/);
  });

  it('refuses a shutdown timeout longer than a Render Blueprint accepts (maxShutdownDelaySeconds 1-300)', () => {
    expect(() => model({ options: { platform: 'render', shutdownTimeoutMs: 600_000 } })).toThrow(/at most 300 s.*Pass --shutdown-timeout-ms 295000 or less/);
    expect(model({ options: { platform: 'render', shutdownTimeoutMs: 295_000 } }).stopGraceSeconds).toBe(300);
  });

  it('keeps the stop grace period above the shutdown timeout', () => {
    for (const shutdownTimeoutMs of [1000, 8000, 25_000, 60_500]) {
      const m = model({ options: { shutdownTimeoutMs } });
      expect(m.stopGraceSeconds * 1000).toBeGreaterThan(shutdownTimeoutMs);
    }
  });

  it('has systemd create the spool directory itself for every unit, not only its parent', () => {
    const units = renderFiles(model({ options: { platform: 'vps', systemd: true } })).filter((f) => f.path.endsWith('.service'));
    expect(units.length).toBe(2);
    for (const unit of units) {
      const spool = /^Environment=SPOOLKIT_SPOOL=(.*)$/m.exec(unit.content)?.[1];
      const created = (/^StateDirectory=(.*)$/m.exec(unit.content)?.[1] ?? '').split(' ').map((d) => `/var/lib/${d}`);
      expect(created, unit.path).toContain(spool);
    }
  });

  it('writes systemd units only for a machine that shares its disk', () => {
    expect(() => model({ options: { platform: 'fly', systemd: true } })).toThrow(/--platform vps/);
  });
});

describe('options', () => {
  it('rejects unknown and malformed saved options with the fix', () => {
    expect(() => model({ options: { platform: 'mars' as never } })).toThrow(/must be one of compose, dokku/);
    expect(() => model({ options: { workers: -1 } })).toThrow(/integer from 0 to 100/);
    expect(() => model({ options: { bogus: 1 } as never })).toThrow(/unknown option "bogus"/);
  });
});
