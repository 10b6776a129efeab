// @ts-check
// A spool that has run before: `n` jobs added and then removed (`Queue.drain`). Their files wait
// in free/ (the spare pool) and trash/, and later adds reuse them instead of creating files, which
// is what a spool in steady use looks like (retention removes old jobs as new ones arrive).

/** @param {{ addBulk(jobs: { name: string; data: unknown }[]): Promise<unknown>; drain(): Promise<unknown> }} queue */
export async function primeSpareFiles(queue, n) {
  for (let i = 0; i < n; i += 1000) {
    await queue.addBulk(Array.from({ length: Math.min(1000, n - i) }, (_, k) => ({ name: 'earlier', data: { i: i + k } })));
  }
  await queue.drain();
}
