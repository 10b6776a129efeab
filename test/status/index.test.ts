import { describe, expect, it } from 'vitest';
import { formatStatus } from '../../src/status/index.js';
import type { HeartbeatInput } from '../../src/health/evaluate.js';

const beat = (workerId: string, kind: HeartbeatInput['kind'], ageMs: number): HeartbeatInput => ({
  workerId, kind, hostname: 'h', pid: 1, queues: ['q'], heartbeatAt: 0, ageMs, concurrency: kind === 'worker' ? 4 : 0, running: 0, processed: 0, failed: 0, meta: { role: kind },
});

describe('formatStatus', () => {
  it('counts workers and scheduler loops apart, and lists both', () => {
    const text = formatStatus({ root: '/spool', formatVersion: 1, queues: {}, workers: [beat('w1', 'worker', 10), beat('w2', 'worker', 60_000), beat('s1', 'scheduler', 10)] });
    expect(text).toContain('Workers: 1 live, 1 stale; schedulers: 1 live, 0 stale');
    expect(text).toMatch(/s1 +h +1 +scheduler +q +0\/0/);
  });

  it('says nothing of schedulers when none runs', () => {
    const text = formatStatus({ root: '/spool', formatVersion: 1, queues: {}, workers: [beat('w1', 'worker', 10)] });
    expect(text).toContain('Workers: 1 live, 0 stale\n');
    expect(text).not.toContain('schedulers');
  });
});
