/**
 * Driving the Docker Compose v2 CLI for one project: run a subcommand, read the resolved
 * configuration, and write the override file the testing kit layers on top of the app's compose
 * files (prebuilt images, ports published on 127.0.0.1 only, extra environment).
 */
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { SpoolkitError } from '../errors.js';
import type { ExecResult } from './exec.js';

/** Where and how to run `docker compose` for one project. */
export interface ComposeProject {
  /** Compose project name (`-p`). */
  name: string;
  /** Directory compose runs in (relative paths in the compose files resolve from here). */
  cwd: string;
  /** Compose files, in order (`-f` each). */
  files: string[];
  /** Extra environment for the compose CLI (variable interpolation). */
  env?: Record<string, string>;
}

/** Options for {@link compose}. */
export interface ComposeRunOptions {
  /** Give up after this long (default 300 000 ms). */
  timeoutMs?: number;
  /** Throw when the command exits non-zero (default true). */
  check?: boolean;
}

/** Runs `docker compose -p <name> -f ... <args>` and returns its output. */
export function compose(project: ComposeProject, args: string[], options: ComposeRunOptions = {}): Promise<ExecResult> {
  const argv = ['compose', '-p', project.name, ...project.files.flatMap((f) => ['-f', f]), ...args];
  return new Promise((resolve, reject) => {
    execFile(
      'docker',
      argv,
      { cwd: project.cwd, env: { ...process.env, ...project.env }, timeout: options.timeoutMs ?? 300_000, maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const e = err as (NodeJS.ErrnoException & { code?: number | string; killed?: boolean }) | null;
        if (e && e.code === 'ENOENT') {
          reject(new SpoolkitError('ERR_DOCKER', 'The docker CLI was not found on PATH. Install Docker with the Compose v2 plugin (docker compose version must answer).'));
          return;
        }
        const exitCode = e ? (typeof e.code === 'number' ? e.code : 1) : 0;
        const result = { exitCode, stdout: String(stdout), stderr: String(stderr) };
        if (exitCode !== 0 && options.check !== false) {
          const why = e?.killed ? `timed out after ${options.timeoutMs ?? 300_000} ms` : `exited ${exitCode}`;
          reject(new SpoolkitError('ERR_DOCKER', `docker ${argv.join(' ')} ${why}:\n${result.stderr.trim() || result.stdout.trim()}`, { details: { ...result } }));
          return;
        }
        resolve(result);
      },
    );
  });
}

/** The parts of a resolved compose service the kit uses. */
export interface ResolvedService {
  image?: string;
  build?: { context: string; dockerfile?: string; target?: string; args?: Record<string, string> };
  ports?: { target: number; published?: string; host_ip?: string; protocol?: string }[];
  environment?: Record<string, string | null>;
  healthcheck?: { test?: string[]; disable?: boolean };
  deploy?: { replicas?: number };
  command?: string[] | null;
  user?: string;
  volumes?: { type: string; source?: string; target: string }[];
  [key: string]: unknown;
}

/** The resolved configuration (`docker compose config --format json`). */
export interface ResolvedCompose {
  name?: string;
  services: Record<string, ResolvedService>;
  volumes?: Record<string, unknown>;
}

/** Reads the project's resolved configuration. */
export async function composeConfig(project: ComposeProject): Promise<ResolvedCompose> {
  const r = await compose(project, ['config', '--format', 'json'], { timeoutMs: 60_000 });
  return JSON.parse(r.stdout) as ResolvedCompose;
}

/** What the override file sets for one service. */
export interface ServiceOverride {
  image?: string;
  /** Container ports to publish on 127.0.0.1 with a host port the engine picks; replaces the app's `ports`. */
  publish?: number[];
  environment?: Record<string, string>;
  /** Replaces the service's healthcheck timing (keeps its test). */
  healthcheck?: { interval?: string; timeout?: string; start_period?: string; retries?: number };
}

/**
 * Writes a compose override file. Ports use the `!override` tag so the app's own published
 * ports (which could clash on a shared machine) are replaced, not merged.
 */
export async function writeOverride(file: string, services: Record<string, ServiceOverride>): Promise<void> {
  const lines = ['# Written by spoolkit/testing for one test stack.', 'services:'];
  for (const [name, o] of Object.entries(services)) {
    lines.push(`  ${JSON.stringify(name)}:`);
    if (o.image) lines.push(`    image: ${JSON.stringify(o.image)}`, '    pull_policy: never');
    if (o.publish) lines.push(`    ports: !override ${JSON.stringify(o.publish.map((p) => `127.0.0.1::${p}`))}`);
    if (o.environment && Object.keys(o.environment).length > 0) lines.push(`    environment: ${JSON.stringify(o.environment)}`);
    if (o.healthcheck) lines.push(`    healthcheck: ${JSON.stringify(o.healthcheck)}`);
  }
  await writeFile(file, `${lines.join('\n')}\n`);
}
