/**
 * Where scheduler state lives on the spool, and how it is read and written.
 *
 * ```
 * <queueDir>/schedulers/<encoded id>/scheduler.json     the definition (StoredScheduler)
 * <queueDir>/schedulers/<encoded id>/ticks/<millis>.json one marker per enqueued run (TickMarker)
 * ```
 * The encoded id is `encodeURIComponent(id)` with a leading '.' written as `%2E`, so names that
 * start with '.' are always spoolkit's own temporary or removed entries.
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { SpoolkitError } from '../errors.js';
import type { SchedulerHost } from './host.js';
import { encodeSchedulerId, MARKER_NAME, markerPath, schedulersDirOf } from './presence.js';
import { createFileExclusive, ensureDir, listDir, readJson, removeFile, writeFileAtomic } from './files.js';
import { claimerGone, thisClaimer } from './claimer.js';
import type { ClaimerIdentity, StoredScheduler, TickMarker } from './types.js';

/** Markers kept per scheduler after pruning; older ones are deleted. */
export const KEPT_MARKERS = 8;

/** `<queueDir>/schedulers`. */
export function schedulersDir(host: Pick<SchedulerHost, 'queueDir'>): string {
  return schedulersDirOf(host.queueDir);
}

export { encodeSchedulerId };

/** The directory of one scheduler. */
export function schedulerDir(host: Pick<SchedulerHost, 'queueDir'>, id: string): string {
  return join(schedulersDir(host), encodeSchedulerId(id));
}

/** The job id of the run of `schedulerId` at `millis`, as BullMQ names it. */
export function tickJobId(schedulerId: string, millis: number): string {
  return `repeat:${schedulerId}:${millis}`;
}

/** Reads a scheduler definition; undefined when there is none (or it was removed meanwhile). */
export async function readScheduler(dir: string): Promise<StoredScheduler | undefined> {
  const path = join(dir, 'scheduler.json');
  let def: StoredScheduler | undefined;
  try {
    def = await readJson<StoredScheduler>(path);
  } catch (err) {
    if (!(err instanceof SyntaxError)) throw err;
    throw corrupt(path, err);
  }
  if (def !== undefined && (typeof def !== 'object' || def === null || def.format !== 1 || typeof def.id !== 'string' || typeof def.generation !== 'number')) {
    throw corrupt(path, undefined);
  }
  return def;
}

function corrupt(path: string, cause: unknown): SpoolkitError {
  return new SpoolkitError(
    'ERR_SPOOL_CORRUPT',
    `The job scheduler definition ${path} cannot be read (not a format-1 scheduler file); delete its directory and upsert the scheduler again.`,
    { cause, details: { path } },
  );
}

/** Writes a scheduler definition atomically, creating its directories. */
export async function writeScheduler(dir: string, def: StoredScheduler): Promise<void> {
  await ensureDir(join(dir, 'ticks'));
  await writeFileAtomic(join(dir, 'scheduler.json'), `${JSON.stringify(def)}\n`);
}

/** Directory names of every stored scheduler in the queue (unordered). */
export async function listSchedulerDirs(host: Pick<SchedulerHost, 'queueDir'>): Promise<string[]> {
  const root = schedulersDir(host);
  return (await listDir(root)).filter((name) => !name.startsWith('.')).map((name) => join(root, name));
}

/** The run times that have markers, ascending. */
export async function listMarkerMillis(dir: string): Promise<number[]> {
  const out: number[] = [];
  for (const name of await listDir(join(dir, 'ticks'))) {
    const m = MARKER_NAME.exec(name);
    if (m) out.push(Number(m[1]));
  }
  return out.sort((a, b) => a - b);
}

/** Reads one marker; undefined when it is gone. */
export async function readMarker(dir: string, millis: number): Promise<TickMarker | undefined> {
  try {
    return await readJson<TickMarker>(markerPath(dir, millis));
  } catch (err) {
    if (err instanceof SyntaxError) return undefined;
    throw err;
  }
}

/** Claims the run at `marker.millis`: true for exactly one caller; false when it was already claimed. */
export async function claimMarker(dir: string, marker: TickMarker): Promise<boolean> {
  return createFileExclusive(markerPath(dir, marker.millis), `${JSON.stringify(marker)}\n`);
}

/** Rewrites a claimed marker as enqueued. */
export async function commitMarker(dir: string, marker: TickMarker): Promise<void> {
  await writeFileAtomic(markerPath(dir, marker.millis), `${JSON.stringify({ ...marker, phase: 'enqueued' })}\n`);
}

/**
 * Rewrites a marker with another phase: `withdrawn` while a redefinition takes its run back (set
 * before the job goes, so a process killed in between leaves a marker the new definition may
 * replace once the job is gone), `enqueued` again when the run turned out to have started.
 */
export async function setMarkerPhase(dir: string, marker: TickMarker, phase: TickMarker['phase']): Promise<void> {
  await writeFileAtomic(markerPath(dir, marker.millis), `${JSON.stringify({ ...marker, phase })}\n`);
}

/** Deletes one marker. */
export async function deleteMarker(dir: string, millis: number): Promise<boolean> {
  return removeFile(markerPath(dir, millis));
}

/** Deletes all but the newest `keep` markers. Safe: a run is only re-created when no newer marker exists. */
export async function pruneMarkers(dir: string, millis: number[], keep = KEPT_MARKERS): Promise<void> {
  const old = millis.slice(0, Math.max(0, millis.length - keep));
  for (const m of old) await deleteMarker(dir, m);
}

/**
 * Removes a scheduler's directory: renamed aside first (so it disappears in one step for every
 * reader), then deleted. True when it existed.
 */
export async function removeSchedulerDir(host: Pick<SchedulerHost, 'queueDir'>, id: string): Promise<boolean> {
  const dir = schedulerDir(host, id);
  const aside = join(schedulersDir(host), `.removed-${randomBytes(6).toString('hex')}`);
  try {
    await fs.rename(dir, aside);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
  await fs.rm(aside, { recursive: true, force: true });
  return true;
}

/** A lock older than this is taken to belong to a dead process and is broken (at once when its holder, named in it, is known to be gone). */
export const LOCK_STALE_MS = 10_000;

/** Longest wait for a scheduler's lock before giving up with an error. */
export const LOCK_WAIT_MS = 30_000;

/**
 * Runs `fn` holding the scheduler's upsert lock (`schedulers/.lock-<encoded id>`, created
 * exclusively), so two processes upserting the same scheduler at once (two web replicas booting)
 * act one after the other: the second sees the first's definition and changes nothing.
 */
export async function withSchedulerLock<T>(host: Pick<SchedulerHost, 'queueDir' | 'now'>, id: string, fn: () => Promise<T>): Promise<T> {
  const root = schedulersDir(host);
  await ensureDir(root);
  const lock = join(root, `.lock-${encodeSchedulerId(id)}`);
  const body = JSON.stringify({ ...thisClaimer(), at: Date.now() });
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (let attempt = 0; ; attempt++) {
    if (await createFileExclusive(lock, body)) break;
    await breakIfStale(root, lock);
    if (Date.now() > deadline) {
      throw new SpoolkitError('ERR_SPOOL_UNWRITABLE', `Could not take the lock ${lock} for job scheduler "${id}" within ${LOCK_WAIT_MS} ms; another process holds it. If no process is upserting this scheduler, delete that file.`, { details: { path: lock } });
    }
    await new Promise((r) => setTimeout(r, Math.min(100, 5 + attempt * 5)));
  }
  try {
    return await fn();
  } finally {
    await removeFile(lock).catch(() => undefined);
  }
}

/** Breaks the lock when its holder is known to be gone (same host and pid namespace) or it is old. */
async function breakIfStale(root: string, lock: string): Promise<void> {
  let mtimeMs: number;
  let body: string;
  try {
    mtimeMs = (await fs.stat(lock)).mtimeMs;
    body = await fs.readFile(lock, 'utf8');
  } catch {
    return; // released meanwhile
  }
  if (Date.now() - mtimeMs < LOCK_STALE_MS && !claimerGone(parseHolder(body))) return;
  // Rename aside first, so of several processes breaking it at once only one succeeds.
  const aside = join(root, `.stale-${randomBytes(6).toString('hex')}`);
  try {
    await fs.rename(lock, aside);
  } catch {
    return; // Someone else broke it (or its holder released it) first.
  }
  // Another process may have taken the lock between the read and the rename: give it back.
  if ((await fs.readFile(aside, 'utf8').catch(() => body)) !== body) await fs.link(aside, lock).catch(() => undefined);
  await fs.rm(aside, { force: true });
}

function parseHolder(body: string): Partial<ClaimerIdentity> | undefined {
  try {
    return JSON.parse(body) as Partial<ClaimerIdentity>;
  } catch {
    return undefined;
  }
}
