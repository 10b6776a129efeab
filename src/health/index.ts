/**
 * `spoolkit health`: gathers the spool check and the spool status, evaluates them (see
 * `evaluate.ts`) and returns one JSON line and an exit code. It never imports the application
 * and reads only the cheap spool status (no directory listings), so a container can run it every
 * few seconds.
 */
import { hostname } from 'node:os';
import { spoolRootFrom } from '../config.js';
import { readSpoolMarker } from '../spool/root.js';
import { evaluateHealth, type HealthReport, type SpoolProblemInput, type SpoolStatusInput } from './evaluate.js';
import { HEALTH_HELP, parseHealthArgs } from './args.js';
import { runningEntrypoint } from './entrypoint-role.js';

export { evaluateHealth, type HealthReport, type HealthThresholds, MAX_REPORT_BYTES } from './evaluate.js';
export { parseHealthArgs, HEALTH_DEFAULTS, HEALTH_HELP, type HealthArgs } from './args.js';

/** Spool problems after which there is no status worth reading. */
const NO_STATUS_PROBLEMS = new Set(['SPOOL_MISSING', 'SPOOL_UNREADABLE', 'SPOOL_NOT_DIRECTORY', 'SPOOL_FORMAT_UNKNOWN', 'SPOOL_FORMAT_CORRUPT']);

/** The spool readers health uses (the core's, unless a test passes others). */
export interface HealthSources {
  checkSpool(root: string): Promise<{ problems: SpoolProblemInput[] }>;
  readSpoolStatus(root: string, opts: { queues?: string[]; nowMs?: number; publishedCounts?: boolean }): Promise<SpoolStatusInput>;
}

/** The outcome of one health run: the line for stdout and the exit code (0 or 1, never 2). */
export interface HealthRun {
  /** What to print on stdout (with a trailing newline). */
  output: string;
  exitCode: 0 | 1;
  report: HealthReport | undefined;
}

/** Runs the health check for the arguments after `health`. Never throws. */
export async function runHealth(argv: readonly string[], env: NodeJS.ProcessEnv = process.env, sources?: HealthSources): Promise<HealthRun> {
  const args = parseHealthArgs(argv, env, () => runningEntrypoint(env));
  if (args.help) return { output: HEALTH_HELP, exitCode: 0, report: undefined };
  const nowMs = Date.now();
  let spool = '';
  const extraReasons = [...args.errors];
  let problems: SpoolProblemInput[] = [];
  let status: SpoolStatusInput | undefined;
  let statusError: string | undefined;
  try {
    spool = spoolRootFrom(args.spool, env);
    const src = sources ?? (await coreSources());
    problems = (await src.checkSpool(spool)).problems;
    // A missing or foreign spool has no status worth reading; the check already says why.
    if (!problems.some((p) => NO_STATUS_PROBLEMS.has(p.code))) {
      const queues = args.queues ? await existingQueues(spool, args.queues, extraReasons) : undefined;
      try {
        status = await src.readSpoolStatus(spool, { ...(queues ? { queues } : {}), nowMs, publishedCounts: true });
      } catch (err) {
        statusError = (err as Error).message;
      }
    }
  } catch (err) {
    extraReasons.push(`The health check could not run: ${(err as Error).message}`);
  }
  const { report, exitCode } = evaluateHealth({
    spool,
    status,
    formatVersion: status ? status.formatVersion : markerVersion(spool),
    statusError,
    problems,
    role: args.role,
    hostname: hostname(),
    nowMs,
    thresholds: { maxWaiting: args.maxWaiting, maxAgeMs: args.maxAgeMs, staleAfterMs: args.staleAfterMs, strict: args.strict },
    extraReasons,
  });
  return { output: `${JSON.stringify(report)}\n`, exitCode, report };
}

/** The queues of `names` the spool has; each it does not have is a reason (a mistyped --queues must not pass). */
async function existingQueues(root: string, names: string[], reasons: string[]): Promise<string[]> {
  const [{ listQueues }, { unknownQueuesMessage }] = await Promise.all([import('../spool/status.js'), import('../status/unknown-queues.js')]);
  const known = listQueues(root);
  const message = unknownQueuesMessage(root, known, names);
  if (message !== undefined) reasons.push(`${message} Fix: correct --queues in the healthcheck command.`);
  return names.filter((n) => known.includes(n));
}

/** The version in spool.json when the status was not read (e.g. a newer format), null when there is none. */
function markerVersion(root: string): number | null {
  try {
    return root === '' ? null : (readSpoolMarker(root)?.version ?? null);
  } catch {
    return null;
  }
}

/** The core's spool check and status reader, imported directly to keep the import graph small. */
async function coreSources(): Promise<HealthSources> {
  const [{ checkSpool }, { readSpoolStatus }] = await Promise.all([import('../spool/check.js'), import('../spool/status.js')]);
  return { checkSpool, readSpoolStatus };
}
