// @ts-check
// Child processes for multi-process benchmark cases. A child is `node <script>` with an IPC channel;
// parent and child exchange plain objects. Children are killed if the parent exits first.
import { fork } from 'node:child_process';

/**
 * Forks a Node child with IPC and resolves once it sends `{ type: 'ready' }`.
 * @param {string} script absolute path
 * @param {string[]} args
 * @param {{ env?: NodeJS.ProcessEnv; readyTimeoutMs?: number }} [opts]
 */
export async function forkReady(script, args, opts = {}) {
  const child = fork(script, args, { env: opts.env ?? process.env, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const kill = () => child.kill('SIGKILL');
  process.once('exit', kill);
  const messages = [];
  const waiters = [];
  child.on('message', (msg) => {
    messages.push(msg);
    for (const w of [...waiters]) w();
  });
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => {
    process.removeListener('exit', kill);
    for (const w of [...waiters]) w();
    resolve({ code, signal });
  }));
  let done = false;
  exited.then(() => { done = true; });

  /** Resolves the first message (consumed) matching `pred`, or rejects on exit/timeout. */
  function next(pred, timeoutMs = 120_000) {
    return new Promise((resolve, reject) => {
      const deadline = setTimeout(() => { remove(); reject(new Error(`child ${script} sent no expected message within ${timeoutMs} ms`)); }, timeoutMs);
      const check = () => {
        const i = messages.findIndex(pred);
        if (i >= 0) {
          const [m] = messages.splice(i, 1);
          clearTimeout(deadline); remove(); resolve(m); return;
        }
        if (done) { clearTimeout(deadline); remove(); reject(new Error(`child ${script} exited before sending the expected message`)); }
      };
      const remove = () => { const k = waiters.indexOf(check); if (k >= 0) waiters.splice(k, 1); };
      waiters.push(check);
      check();
    });
  }
  await next((m) => m && m.type === 'ready', opts.readyTimeoutMs ?? 60_000);
  return {
    child,
    send: (msg) => child.send(msg),
    next,
    exited,
    async stop(timeoutMs = 30_000) {
      if (!done) {
        child.send({ type: 'stop' });
        const t = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
        await exited;
        clearTimeout(t);
      }
    },
  };
}

/**
 * In a child: calls `onMessage` for each parent message, and sends `{ type: 'ready' }`.
 * @param {(msg: any) => void | Promise<void>} onMessage
 */
export function childMain(onMessage) {
  process.on('message', (msg) => {
    Promise.resolve(onMessage(msg)).catch((err) => {
      process.send?.({ type: 'error', message: err instanceof Error ? err.stack : String(err) });
      process.exitCode = 1;
    });
  });
  process.send?.({ type: 'ready' });
}
