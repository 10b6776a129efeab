/**
 * `spoolkit init` as a library call: read the app, build the model, render the files, compare
 * them with the disk, then write, preview or check. It returns what happened; it never prints.
 */
import { createModel, type InitRequest, type ProjectModel } from './model.js';
import { mergeSavedSettings } from './package-json.js';
import { readProject, type ProjectSnapshot } from './project.js';
import { renderFiles, type GeneratedFile } from './render.js';
import { unifiedDiff } from './diff.js';
import { applyPlan, changes, planFiles, type FileToWrite, type PlannedFile } from './write.js';

/** What to do with the generated files. */
export type InitMode = 'write' | 'dry-run' | 'check';

/** A full `spoolkit init` request. */
export interface RunInitOptions extends InitRequest {
  readonly mode?: InitMode;
  /** Keep files that exist with other content instead of reporting a conflict. */
  readonly skip?: boolean;
}

/** The outcome. `ok` is false when files conflict (write) or have drifted (check). */
export interface InitResult {
  readonly ok: boolean;
  readonly mode: InitMode;
  readonly model: ProjectModel;
  readonly files: readonly PlannedFile[];
  /** Files that were written (write mode only). */
  readonly written: readonly string[];
  /** Files that exist with other content and were left alone. */
  readonly conflicts: readonly string[];
  /** check mode: files that differ from what the saved options produce. */
  readonly drifted: readonly string[];
  /** dry-run mode: a unified diff of every change. */
  readonly diff: string;
}

/** Every file init manages for this snapshot and request, package.json included. */
export function generate(snapshot: ProjectSnapshot, request: InitRequest = {}): { model: ProjectModel; files: FileToWrite[] } {
  const model = createModel(snapshot, request);
  const files: FileToWrite[] = renderFiles(model).map((f: GeneratedFile) => ({ path: f.path, content: f.content }));
  files.push({ path: 'package.json', content: mergeSavedSettings(snapshot.packageJsonText, model.saved), merge: true });
  return { model, files };
}

/** Runs init against an app directory. */
export async function runInit(dir: string, options: RunInitOptions = {}): Promise<InitResult> {
  const mode = options.mode ?? 'write';
  const extra = options.processors === undefined ? [] : [options.processors];
  let snapshot = await readProject(dir, extra);
  // The processors module and web entry are read for scheduler detection once their paths are known.
  const first = createModel(snapshot, options);
  const wanted = [first.processors.path, first.web.entryFile].filter((p): p is string => p !== undefined && snapshot.texts[p] === undefined);
  if (wanted.length > 0) snapshot = await readProject(dir, [...extra, ...wanted]);
  const { model, files } = generate(snapshot, options);
  const plan = shadowing(
    model,
    await planFiles(dir, files, { force: options.force === true && mode === 'write', skip: options.skip === true }),
    options,
  );
  const conflicts = plan.filter((f) => f.status === 'conflict').map((f) => f.path);

  if (mode === 'check') {
    const drifted = plan.filter((f) => f.status !== 'identical').map((f) => f.path);
    return { ok: drifted.length === 0, mode, model, files: plan, written: [], conflicts, drifted, diff: diffOf(plan) };
  }
  if (mode === 'dry-run') {
    return { ok: conflicts.length === 0, mode, model, files: plan, written: [], conflicts, drifted: [], diff: diffOf(plan) };
  }
  if (conflicts.length > 0) {
    return { ok: false, mode, model, files: plan, written: [], conflicts, drifted: [], diff: '' };
  }
  await applyPlan(dir, plan);
  return { ok: true, mode, model, files: plan, written: changes(plan).map((f) => f.path), conflicts, drifted: [], diff: '' };
}

/**
 * A new compose.yaml next to an existing docker-compose.yml (or compose.yml) makes docker compose
 * ignore the old file, so creating it is a conflict unless forced or skipped.
 */
function shadowing(model: ProjectModel, plan: PlannedFile[], options: RunInitOptions): PlannedFile[] {
  if (model.composeShadows.length === 0) return plan;
  return plan.map((f) => {
    if (f.path !== 'compose.yaml' || f.status !== 'created' || options.force === true) return f;
    return { ...f, status: options.skip === true ? 'skipped' : 'conflict' };
  });
}

function diffOf(plan: readonly PlannedFile[]): string {
  return plan
    .filter((f) => f.status !== 'identical')
    .map((f) => unifiedDiff(f.path, f.previous, f.content))
    .join('');
}
