/**
 * Building every image a compose project needs, once per distinct Dockerfile target, through the
 * engine API (see build.ts), and removing them again.
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import type Docker from 'dockerode';
import { connectDocker } from '../docker/client.js';
import { buildImage, removeBuiltImages, type BuiltImage } from './build.js';
import { composeConfig, type ComposeProject } from './compose.js';

/** Options for {@link buildImages}. */
export interface BuildImagesOptions {
  /** The app directory: build context and home of the compose files (default: process.cwd()). */
  appDir?: string;
  /** Compose files relative to appDir (default `['compose.yaml']`). */
  composeFiles?: string[];
  /**
   * Image name the tags start with; tag = target (or service). Default `spoolkit-test/<appDir
   * basename>` with a tag of `<target>-<random>`, so two builds of one app (test files running in
   * parallel) never share a tag; with a name given, the tag is the target alone.
   */
  imageName?: string;
  /** Network for RUN steps (default `host`). */
  network?: string;
  /** Receives each build output line. */
  onOutput?: (line: string) => void;
  docker?: Docker;
}

/** Images built for a compose project. */
export interface StackImages {
  /** Service name to image tag, for every service that has a `build` section. */
  services: Record<string, string>;
  /** Every tag built. */
  tags: string[];
  /** Seconds spent building. */
  seconds: number;
  /**
   * Removes the tags built and the untagged stage images their builds made (layers shared with
   * other images, and cached steps from earlier builds, stay).
   */
  remove(): Promise<void>;
}

/** Builds the images of every service with a `build` section, one build per distinct target. */
export async function buildImages(options: BuildImagesOptions = {}): Promise<StackImages> {
  const started = Date.now();
  const docker = options.docker ?? connectDocker();
  const appDir = path.resolve(options.appDir ?? process.cwd());
  const project: ComposeProject = { name: 'spoolkit-build', cwd: appDir, files: options.composeFiles ?? ['compose.yaml'] };
  const config = await composeConfig(project);
  const imageName = (options.imageName ?? `spoolkit-test/${path.basename(appDir)}`).toLowerCase().replace(/[^a-z0-9/._-]/g, '-');
  const tagSuffix = options.imageName === undefined ? `-${randomBytes(4).toString('hex')}` : '';
  const byKey = new Map<string, string>();
  const built: BuiltImage[] = [];
  const services: Record<string, string> = {};
  for (const [service, def] of Object.entries(config.services)) {
    if (!def.build) continue;
    const context = path.resolve(appDir, def.build.context);
    const dockerfileRaw = def.build.dockerfile ?? 'Dockerfile';
    const dockerfile = path.isAbsolute(dockerfileRaw) ? path.relative(context, dockerfileRaw) : dockerfileRaw;
    const key = JSON.stringify([context, dockerfile, def.build.target ?? null, def.build.args ?? {}]);
    let tag = byKey.get(key);
    if (!tag) {
      tag = `${imageName}:${(def.build.target ?? service).toLowerCase()}${tagSuffix}`;
      try {
        built.push(
          await buildImage(docker, {
            context,
            dockerfile,
            target: def.build.target,
            tag,
            network: options.network ?? 'host',
            buildArgs: def.build.args,
            onOutput: options.onOutput,
          }),
        );
      } catch (err) {
        // The caller gets no handle to remove the targets already built: remove them here.
        await removeBuiltImages(docker, built);
        throw err;
      }
      byKey.set(key, tag);
    }
    services[service] = tag;
  }
  const tags = [...new Set(Object.values(services))];
  return {
    services,
    tags,
    seconds: (Date.now() - started) / 1000,
    remove: () => removeBuiltImages(docker, built),
  };
}
