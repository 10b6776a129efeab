/**
 * Building an app's images through the engine API (dockerode; the engine's classic builder),
 * one image per Dockerfile target, with the build context filtered by `.dockerignore`.
 */
import path from 'node:path';
import type Docker from 'dockerode';
import { SpoolkitError } from '../errors.js';
import { dockerError } from '../docker/client.js';
import { contextFiles } from './dockerignore.js';
import { withoutTerminalCodes } from './terminal.js';

/** Options for {@link buildImage}. */
export interface BuildImageOptions {
  /** Build context directory. */
  context: string;
  /** Dockerfile path relative to the context (default `docker/Dockerfile`). */
  dockerfile?: string;
  /** Target stage (e.g. `web`, `worker`); default: the last stage. */
  target?: string;
  /** Tag for the result. */
  tag: string;
  /** Network for RUN steps (default `host`, so `npm ci` and `apt-get` reach their registries). */
  network?: string;
  /** Build arguments. */
  buildArgs?: Record<string, string>;
  /** Labels to add to the image. */
  labels?: Record<string, string>;
  /** Receives each line of build output. */
  onOutput?: (line: string) => void;
  /** Give up after this long (default 900 000 ms). */
  timeoutMs?: number;
}

/** A built image. */
export interface BuiltImage {
  tag: string;
  id: string;
  /** Seconds the build took. */
  seconds: number;
  /**
   * Ids of the images this build made, cached steps and base images left out: the classic builder
   * keeps each stage of a multi-stage build as an untagged image, which
   * {@link removeBuiltImages} deletes with the tag.
   */
  createdIds: string[];
}

/** Lines of the failing step's output that name a cause (npm, apt, node, the shell). */
const CAUSE = /\b(error|err!|fatal|failed|cannot|can only|not found|no such|denied|unable)\b/i;

/**
 * Keeps the output of the build's current step, so a failure can show why it failed: the cause
 * is often far from the end (`npm ci` prints its usage after the error that matters).
 */
export class StepOutput {
  private lines: string[] = [];

  line(text: string): void {
    if (/^Step \d+\/\d+ : /.test(text)) this.lines = [];
    if (this.lines.length < 20_000) this.lines.push(withoutTerminalCodes(text));
  }

  /** The step's output when short; else its lines naming a cause and its last lines. */
  excerpt(maxLines = 60): string {
    const all = this.lines;
    if (all.length <= maxLines) return all.join('\n');
    const tail = 15;
    const causes = all.slice(0, -tail).filter((l) => CAUSE.test(l)).slice(0, maxLines - tail - 3);
    return [all[0] ?? '', '[lines naming a cause]', ...causes, `[last ${tail} of ${all.length} lines]`, ...all.slice(-tail)].join('\n');
  }
}

/**
 * Follows the classic builder's output and notes the image each step made, except steps answered
 * from the cache and `FROM` steps (their image is the base, not this build's).
 */
export class CreatedImages {
  readonly ids: string[] = [];
  private cached = false;
  private from = false;

  line(text: string): void {
    const step = /^Step \d+\/\d+ : (\S+)/.exec(text);
    if (step) {
      this.cached = false;
      this.from = step[1]!.toUpperCase() === 'FROM';
      return;
    }
    if (/^\s*---> Using cache\s*$/.test(text)) {
      this.cached = true;
      return;
    }
    const made = /^\s*---> ([0-9a-f]{12,64})\s*$/.exec(text);
    if (made && !this.cached && !this.from) this.ids.push(made[1]!);
  }
}

/**
 * Removes the tags of `built` that still name the image built (a later build may have moved a
 * tag), then every image those builds made that no tag names any more (an image another tag or a
 * container still uses stays). Errors are ignored: this is cleanup.
 */
export async function removeBuiltImages(docker: Docker, built: readonly BuiltImage[]): Promise<void> {
  for (const b of built) {
    const now = await docker.getImage(b.tag).inspect().catch(() => undefined);
    if (now && now.Id === b.id) await docker.getImage(b.tag).remove({ force: true }).catch(() => undefined);
  }
  await removeUntagged(docker, built.flatMap((b) => b.createdIds));
}

/** Removes, newest first, the images of `ids` that no tag names (an image still in use stays). */
async function removeUntagged(docker: Docker, ids: readonly string[]): Promise<void> {
  for (const id of [...new Set(ids)].reverse()) {
    const info = await docker.getImage(id).inspect().catch(() => undefined);
    if (!info || (info.RepoTags ?? []).some((t) => t !== '<none>:<none>')) continue;
    await docker.getImage(id).remove().catch(() => undefined);
  }
}

/** Builds one image; throws `ERR_DOCKER` with the tail of the build output when a step fails. */
export async function buildImage(docker: Docker, options: BuildImageOptions): Promise<BuiltImage> {
  const started = Date.now();
  const dockerfile = (options.dockerfile ?? 'docker/Dockerfile').split(path.sep).join('/');
  const src = await contextFiles(options.context, dockerfile);
  if (!src.includes(dockerfile)) {
    throw new SpoolkitError('ERR_CONFIG', `No Dockerfile at ${path.join(options.context, dockerfile)}; run \`npx spoolkit init\` to generate one or pass dockerfile.`);
  }
  const step = new StepOutput();
  const created = new CreatedImages();
  const emit = (line: string): void => {
    created.line(line);
    step.line(line);
    options.onOutput?.(line);
  };
  let stream: NodeJS.ReadableStream;
  try {
    stream = await docker.buildImage(
      { context: options.context, src },
      {
        t: options.tag,
        dockerfile,
        target: options.target,
        networkmode: options.network ?? 'host',
        buildargs: options.buildArgs,
        labels: options.labels,
        rm: true,
        forcerm: true,
      },
    );
  } catch (err) {
    throw dockerError(err, `build ${options.tag}`);
  }
  const timeoutMs = options.timeoutMs ?? 900_000;
  const result = await new Promise<{ id: string | null; error: string | null }>((resolve, reject) => {
    const timer = setTimeout(() => {
      (stream as unknown as { destroy?: () => void }).destroy?.();
      reject(new SpoolkitError('ERR_DOCKER', `Building ${options.tag} took longer than ${timeoutMs} ms; raise timeoutMs.`));
    }, timeoutMs);
    let id: string | null = null;
    let error: string | null = null;
    docker.modem.followProgress(
      stream,
      (err: Error | null) => {
        clearTimeout(timer);
        if (err) reject(dockerError(err, `build ${options.tag}`));
        else resolve({ id, error });
      },
      (event: { stream?: string; error?: string; errorDetail?: { message?: string }; aux?: { ID?: string } }) => {
        if (event.stream) for (const line of event.stream.split('\n')) if (line.trim()) emit(line);
        if (event.aux?.ID) id = event.aux.ID;
        if (event.error) {
          error = event.errorDetail?.message ?? event.error;
          emit(`ERROR: ${error}`);
        }
      },
    );
  });
  if (result.error) {
    // The stages finished before the failing step stay behind as untagged images otherwise.
    await removeUntagged(docker, created.ids);
    const hint = /--mount|unknown flag: mount/i.test(result.error)
      ? ' The engine\'s classic builder has no RUN --mount; drop it from the Dockerfile or build with BuildKit (docker compose build).'
      : '';
    throw new SpoolkitError('ERR_DOCKER', `Building ${options.tag} (target ${options.target ?? 'last stage'}) failed: ${withoutTerminalCodes(result.error)}.${hint}\n--- output of the failed step ---\n${step.excerpt()}`);
  }
  const info = await docker.getImage(options.tag).inspect().catch((err: unknown) => {
    throw dockerError(err, `inspect the image ${options.tag} just built`);
  });
  return { tag: options.tag, id: result.id ?? info.Id, seconds: (Date.now() - started) / 1000, createdIds: created.ids };
}
