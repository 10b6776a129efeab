// Processors for the example app: a map of queue name to processor, as `spoolkit worker` loads it.
// A queue entry is a function (every job name) or { jobs: { name: fn }, concurrency }.
import { UnrecoverableError } from 'spoolkit';

// Waits `ms`, or rejects as soon as the job is aborted; the listener goes with the wait, so a
// job of many steps does not pile them up on its signal.
const sleep = (ms, signal) =>
  new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason ?? new Error('aborted'));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });

export default {
  demo: {
    concurrency: 4,
    jobs: {
      // Echo the data back: the quickest possible round trip.
      echo: async (job) => ({ echoed: job.data, pid: process.pid }),
      // Work in steps, reporting progress after each one.
      steps: async (job, _token, signal) => {
        const steps = Number(job.data?.steps ?? 5);
        const stepMs = Number(job.data?.stepMs ?? 200);
        for (let i = 1; i <= steps; i++) {
          await sleep(stepMs, signal);
          await job.updateProgress(Math.round((i / steps) * 100));
        }
        return { steps, host: process.env.HOSTNAME ?? 'local', pid: process.pid };
      },
      // Fail on purpose: retried while attempts remain.
      flaky: async (job) => {
        if (job.attemptsMade < Number(job.data?.failTimes ?? 1)) throw new Error(`flaky failure ${job.attemptsMade + 1}`);
        return { attempts: job.attemptsMade + 1 };
      },
      // Fail for good, skipping retries.
      broken: async () => {
        throw new UnrecoverableError('this job can never succeed');
      },
    },
  },
};
