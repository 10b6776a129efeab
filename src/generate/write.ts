/**
 * Compares generated files with what is on disk and writes them. A file that exists with other
 * content is a conflict: it is never overwritten unless the caller forces it, and when any file
 * conflicts nothing at all is written, so the app never ends up with half a new set of files.
 */
import { mkdir, open, readFile, rename, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';

/** What happens (or would happen) to one file. */
export type FileStatus = 'created' | 'identical' | 'updated' | 'overwritten' | 'skipped' | 'conflict';

/** A file to write, relative to the app root. `merge` files (package.json) are updated in place, never conflicts. */
export interface FileToWrite {
  readonly path: string;
  readonly content: string;
  readonly merge?: boolean;
}

/** One file of the plan. */
export interface PlannedFile extends FileToWrite {
  readonly status: FileStatus;
  /** The content on disk before, or null when the file does not exist. */
  readonly previous: string | null;
}

/** How to treat files that exist with other content. */
export interface PlanOptions {
  /** Overwrite them. */
  readonly force?: boolean;
  /** Keep them as they are. */
  readonly skip?: boolean;
}

/** Works out each file's status without writing anything. */
export async function planFiles(dir: string, files: readonly FileToWrite[], options: PlanOptions = {}): Promise<PlannedFile[]> {
  return Promise.all(
    files.map(async (file) => {
      const previous = await readIfExists(join(dir, file.path));
      return { ...file, previous, status: statusOf(file, previous, options) };
    }),
  );
}

function statusOf(file: FileToWrite, previous: string | null, options: PlanOptions): FileStatus {
  if (previous === null) return 'created';
  // A checkout with CRLF line endings holds the same file.
  if (previous === file.content || previous.replace(/\r\n/g, '\n') === file.content) return 'identical';
  if (file.merge) return 'updated';
  if (options.force) return 'overwritten';
  if (options.skip) return 'skipped';
  return 'conflict';
}

/** True when the plan would change something on disk. */
export function changes(plan: readonly PlannedFile[]): PlannedFile[] {
  return plan.filter((f) => f.status === 'created' || f.status === 'updated' || f.status === 'overwritten');
}

/** Writes every created, updated or overwritten file (temp file, fsync, rename). Refuses a plan with conflicts. */
export async function applyPlan(dir: string, plan: readonly PlannedFile[]): Promise<void> {
  const conflicts = plan.filter((f) => f.status === 'conflict');
  if (conflicts.length > 0) throw new Error(`refusing to write a plan with conflicts: ${conflicts.map((f) => f.path).join(', ')}`);
  for (const file of changes(plan)) await writeAtomic(join(dir, file.path), file.content);
}

async function readIfExists(path: string): Promise<string | null> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return null;
    throw err;
  }
}

async function writeAtomic(path: string, content: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  const handle = await open(tmp, 'w', 0o644);
  try {
    await handle.writeFile(content, 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
}
