/**
 * Building every image a compose project needs, once per distinct Dockerfile target, through the
 * engine API (see build.ts), and removing them again.
 */
import path from 'node:path';
import type Docker from 'dockerode';
import { connectDocker } from '../docker/client.js';
import { buildImage } from './build.js';
import { composeConfig, type ComposeProject } from './compose.js';

/** Options for {@link buildImages}. */
export interface BuildImagesOptions {
  /** The app directory: build context and home of the compose files (default: process.cwd()). */
  appDir?: string;
  /** Compose files relative to appDir (default `['compose.yaml']`). */
  composeFiles?: string[];
  /** Image name the tags start with (default `spoolkit-test/<appDir basename>`); tag = target or service. */
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
  /** Removes the tags built (layers shared with other images stay). */
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
  const byKey = new Map<string, string>();
  const services: Record<string, string> = {};
  for (const [service, def] of Object.entries(config.services)) {
    if (!def.build) continue;
    const context = path.resolve(appDir, def.build.context);
    const dockerfileRaw = def.build.dockerfile ?? 'Dockerfile';
    const dockerfile = path.isAbsolute(dockerfileRaw) ? path.relative(context, dockerfileRaw) : dockerfileRaw;
    const key = JSON.stringify([context, dockerfile, def.build.target ?? null, def.build.args ?? {}]);
    let tag = byKey.get(key);
    if (!tag) {
      tag = `${imageName}:${(def.build.target ?? service).toLowerCase()}`;
      await buildImage(docker, {
        context,
        dockerfile,
        target: def.build.target,
        tag,
        network: options.network ?? 'host',
        buildArgs: def.build.args,
        onOutput: options.onOutput,
      });
      byKey.set(key, tag);
    }
    services[service] = tag;
  }
  const tags = [...new Set(Object.values(services))];
  return {
    services,
    tags,
    seconds: (Date.now() - started) / 1000,
    remove: async () => {
      for (const tag of tags) await docker.getImage(tag).remove({ force: true }).catch(() => undefined);
    },
  };
}
