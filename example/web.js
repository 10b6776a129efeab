// The example web process: enqueue with POST /jobs, read state, progress and result with
// GET /jobs/:id. It answers at once; workers run the jobs from the shared spool.
import { createServer } from 'node:http';
import { Queue, QueueEvents } from 'spoolkit';

const port = Number(process.env.PORT ?? 3000);
const queue = new Queue('demo');
const events = new QueueEvents('demo');

async function readJson(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  const text = Buffer.concat(chunks).toString('utf8');
  return text ? JSON.parse(text) : {};
}

function send(res, status, body) {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

// The state is read before the record: a job seen completed is then read with its final fields
// (reading the record first could pair a running job's fields with a state read a moment later).
async function describe(id) {
  const state = await queue.getJobState(id);
  const job = await queue.getJob(id);
  if (!job) return undefined;
  return {
    id: job.id,
    name: job.name,
    state,
    progress: job.progress,
    attemptsMade: job.attemptsMade,
    returnvalue: job.returnvalue,
    failedReason: job.failedReason,
    timestamp: job.timestamp,
    processedOn: job.processedOn,
    finishedOn: job.finishedOn,
  };
}

const server = createServer(async (req, res) => {
  try {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (req.method === 'GET' && url.pathname === '/healthz') return send(res, 200, { ok: true });
    if (req.method === 'POST' && url.pathname === '/jobs') {
      const body = await readJson(req);
      const job = await queue.add(String(body.name ?? 'echo'), body.data ?? {}, body.opts ?? {});
      if (url.searchParams.get('wait') === '1') {
        await job.waitUntilFinished(events, Number(url.searchParams.get('ttl') ?? 30000));
        return send(res, 200, (await describe(job.id)) ?? { id: job.id, state: 'unknown' });
      }
      return send(res, 202, { id: job.id });
    }
    const match = /^\/jobs\/([^/]+)$/.exec(url.pathname);
    if (req.method === 'GET' && match) {
      const found = await describe(decodeURIComponent(match[1]));
      return found ? send(res, 200, found) : send(res, 404, { error: 'no such job' });
    }
    if (req.method === 'GET' && url.pathname === '/counts') return send(res, 200, await queue.getJobCounts());
    send(res, 404, { error: 'not found' });
  } catch (err) {
    send(res, 400, { error: err instanceof Error ? err.message : String(err) });
  }
});

server.listen(port, () => process.stderr.write(`${JSON.stringify({ event: 'web:listening', port })}\n`));

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.once(signal, () => {
    server.close();
    Promise.all([queue.close(), events.close()]).finally(() => process.exit(0));
  });
}
