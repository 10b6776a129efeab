import { afterEach, describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { loadProcessorPlans, planProcessors, type QueuePlan, type RuntimeJob } from '../../src/runtime/processor-map.js';
import { isUnrecoverableError } from '../../src/errors.js';

const map = (name: string): string => fileURLToPath(new URL(`../fixtures/runtime/maps/${name}`, import.meta.url));

function job(name: string, data: unknown = {}): RuntimeJob {
  return {
    id: '7',
    name,
    data,
    attemptsMade: 0,
    updateProgress: async () => undefined,
    log: async () => 0,
    updateData: async () => undefined,
    moveToDelayed: async () => undefined,
  };
}

const loaded: QueuePlan[] = [];
afterEach(async () => {
  await Promise.all(loaded.splice(0).flatMap((p) => p.sandboxes.map((s) => s.close())));
});
async function load(name: string): Promise<QueuePlan[]> {
  const plans = await loadProcessorPlans(map(name));
  loaded.push(...plans);
  return plans;
}

describe('loadProcessorPlans', () => {
  it('resolves functions, sandboxed paths, in-process paths and per-name jobs', async () => {
    const plans = await load('mixed.mjs');
    const byName = Object.fromEntries(plans.map((p) => [p.queueName, p]));
    expect(Object.keys(byName)).toEqual(['plain', 'sandboxed', 'inline', 'named']);

    expect(await byName.plain!.processor(job('any', 5))).toEqual({ plain: 5 });

    const sandboxed = (await byName.sandboxed!.processor(job('any', { n: 4 }))) as { doubled: number; pid: number };
    expect(sandboxed.doubled).toBe(8);
    expect(sandboxed.pid).not.toBe(process.pid);
    expect(byName.sandboxed!.sandboxes).toHaveLength(1);

    const inline = (await byName.inline!.processor(job('any', { n: 1 }))) as { pid: number };
    expect(inline.pid).toBe(process.pid);
    expect(byName.inline!.sandboxes).toHaveLength(0);

    const named = byName.named!;
    expect(named.concurrency).toBe(3);
    expect(named.timeoutMs).toBe(500);
    expect(named.workerOptions).toEqual({ lockDuration: 12_000 });
    expect(named.jobNames).toEqual(['hello', 'double']);
    expect(named.hasCatchAll).toBe(false);
    expect(await named.processor(job('hello', { who: 'ada' }))).toBe('hello ada');
    expect(((await named.processor(job('double', { n: 21 }))) as { doubled: number }).doubled).toBe(42);
  });

  it('fails an unknown job name at once with an UnrecoverableError naming the known names', async () => {
    const named = (await load('mixed.mjs')).find((p) => p.queueName === 'named')!;
    const err = (await named.processor(job('helo')).catch((e: unknown) => e)) as Error;
    expect(isUnrecoverableError(err)).toBe(true);
    expect(err.message).toContain('No processor for job name "helo" in queue "named"');
    expect(err.message).toContain('known job names: "hello", "double"');
  });

  it('accepts named exports as queues', async () => {
    const plans = await load('named-exports.mjs');
    expect(plans.map((p) => p.queueName).sort()).toEqual(['first', 'second']);
  });

  it.each([
    ['not-object.mjs', /must export an object mapping queue names.*exports string/],
    ['unknown-key.mjs', /unknown key\(s\) "concurency"; allowed: processor, jobs, concurrency/],
    ['throws-on-load.mjs', /failed to load: boom at import/],
    ['function-sandbox.mjs', /is a function, which cannot run in a sandbox; give a file path/],
    ['huge-timeout.mjs', /timeoutMs of .* must be at most 2147483647 \(the longest Node timer/],
    ['huge-kill-grace.mjs', /killGraceMs must be at most 2147483647 ms/],
    ['missing-file.mjs', /job "render" of queue "q" .* names \.\/processors\/render\.mjs, which is resolved against the folder of the processors module \(.*\/maps\) to .*\/maps\/processors\/render\.mjs; no such file\. Fix the path \(relative to .*\/maps, or absolute\)\.$/],
  ])('refuses %s with a config error that names the fix', async (file, message) => {
    const err = (await loadProcessorPlans(map(file)).catch((e: unknown) => e)) as Error & { code?: string };
    expect(err.code).toBe('ERR_CONFIG');
    expect(err.message).toMatch(message);
  });

  it.each([
    ['concurrency', 4, /^worker.concurrency of queue "q" in \/app\/processors.mjs is set by the worker runtime, not by the processors module; set it on the queue itself: \{ concurrency: 4/],
    ['spool', '/elsewhere', /^worker.spool of queue "q" .* every queue runs on the spool of --spool or SPOOLKIT_SPOOL\.$/],
    ['autorun', false, /^worker.autorun of queue "q" .* the runtime starts every worker it makes\.$/],
  ])('refuses worker.%s, which the runtime sets (it was overridden silently, or kept the worker from running)', async (key, value, message) => {
    const entry = { processor: async () => 1, worker: { lockDuration: 12_000, [key]: value } };
    const err = (await planProcessors({ q: entry }, '/app/processors.mjs').catch((e: unknown) => e)) as Error & { code?: string };
    expect(err.code).toBe('ERR_CONFIG');
    expect(err.message).toMatch(message);
  });
});
