// The example app's processors, as users copy them: a job of many steps keeps one abort listener
// at a time on its signal, and an abort ends the running step at once.
import { afterEach, describe, expect, it } from 'vitest';

type Steps = (job: { data: unknown; updateProgress(p: number): Promise<void> }, token: string, signal: AbortSignal) => Promise<unknown>;
// A plain JavaScript module without types: imported by a path the compiler does not follow.
const examplePath: string = '../../example/processors.js';
const processors = ((await import(examplePath)) as { default: { demo: { jobs: { steps: Steps } } } }).default;
const steps = processors.demo.jobs.steps;

const warnings: Error[] = [];
const onWarning = (w: Error): void => {
  warnings.push(w);
};
afterEach(() => {
  process.off('warning', onWarning);
  warnings.length = 0;
});

describe('example processors: steps', () => {
  it('runs 30 steps on one signal without piling up abort listeners', async () => {
    process.on('warning', onWarning);
    const progress: number[] = [];
    const signal = new AbortController().signal;
    await steps({ data: { steps: 30, stepMs: 1 }, updateProgress: async (p) => void progress.push(p) }, 't', signal);
    await new Promise((r) => setImmediate(r));
    expect(progress.at(-1)).toBe(100);
    expect(warnings.filter((w) => w.name === 'MaxListenersExceededWarning')).toEqual([]);
  });

  it('rejects with the abort reason as soon as the job is aborted', async () => {
    const ac = new AbortController();
    const run = steps({ data: { steps: 3, stepMs: 60_000 }, updateProgress: async () => undefined }, 't', ac.signal);
    ac.abort(new Error('lease lost'));
    await expect(run).rejects.toThrow('lease lost');
  });
});
