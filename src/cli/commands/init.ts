/**
 * `spoolkit init`: writes the app's container and deployment files (docker/Dockerfile,
 * .dockerignore, compose.yaml, Procfile, platform manifests, systemd units) from what it detects
 * in package.json and the lockfile, and saves its options under "spoolkit" in package.json.
 *
 * Exit codes: 0 written (or nothing to do), 1 conflicting files (nothing written) or drift under
 * --check, 2 a usage or detection error.
 */
import { resolve } from 'node:path';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { UsageError } from '../../errors.js';
import type { InitOptions, InitResult, FileStatus, RunInitOptions } from '../../generate/index.js';
import { PLATFORMS } from '../../generate/options.js';
import type { SetExitCode } from './index.js';

interface InitFlags {
  dir: string;
  platform?: string;
  topology?: string;
  workers?: number;
  port?: number;
  shutdownTimeoutMs?: number;
  scheduler?: string;
  schedulers?: boolean;
  systemd?: boolean;
  healthPath?: string;
  release?: string;
  ci?: boolean;
  node?: number;
  harden?: boolean;
  cacheMounts?: boolean;
  startInterval?: boolean;
  web?: string;
  processors?: string;
  force?: boolean;
  skip?: boolean;
  dryRun?: boolean;
  check?: boolean;
  json?: boolean;
}

/** Registers `spoolkit init`. */
export function register(program: Command, setExitCode: SetExitCode): void {
  program
    .command('init')
    .alias('generate')
    .description('Write docker/Dockerfile, compose.yaml, Procfile, .dockerignore and platform manifests for this app')
    .option('--dir <path>', 'the app directory (where package.json is)', '.')
    .addOption(new Option('--platform <name>', 'where the app runs; picks the topology and the manifest').choices([...PLATFORMS]))
    .addOption(new Option('--topology <kind>', 'split (web and worker apart) or all (one process); default from the platform').choices(['split', 'all']))
    .option('--workers <n>', 'worker replicas', integer)
    .option('--port <n>', 'port the web process listens on', integer)
    .option('--shutdown-timeout-ms <ms>', 'how long a stopping worker lets running jobs finish', integer)
    .addOption(new Option('--scheduler <mode>', 'how schedulers run when the app has them').choices(['service', 'workers']))
    .option('--schedulers', 'the app declares job schedulers (when init cannot see them: they are only in gitignored build output)')
    .option('--no-schedulers', 'the app declares no job schedulers')
    .option('--systemd', 'also write systemd units (deploy/systemd/)')
    .option('--no-systemd', 'stop writing systemd units')
    .option('--health-path <path>', 'HTTP path the web process answers, for platform health checks')
    .option('--node <major>', 'Node.js major version of the base image (default: .nvmrc, engines.node)', integer)
    .option('--harden', 'read-only root filesystem, no capabilities, no-new-privileges in compose (the default)')
    .option('--no-harden', 'none of that')
    .option('--cache-mounts', 'BuildKit cache mounts for the package manager (needs BuildKit)')
    .option('--no-cache-mounts', 'no cache mounts (the default)')
    .option('--start-interval', 'compose start_interval for fast first health checks (Docker Engine 25+)')
    .option('--no-start-interval', 'no start_interval (the default)')
    .option('--ci', 'also write a GitHub Actions workflow that proves the stack (.github/workflows/spoolkit.yml)')
    .option('--no-ci', 'stop writing the workflow')
    .option('--release <command>', 'a command run once per deploy before the new processes start (migrations)')
    .option('--web <command>', 'the command that starts the web process, e.g. "node server.js"')
    .option('--processors <file>', 'the module that exports the queue processors')
    .option('--force', 'overwrite files that differ; allow a split topology on a platform without a shared disk')
    .option('--skip', 'keep files that differ instead of reporting a conflict')
    .option('--dry-run', 'print what would change as a diff; write nothing')
    .option('--check', 'exit 1 if the files on disk differ from what the saved options produce (for CI)')
    .option('--json', 'print the result as one JSON object')
    .action(async (flags: InitFlags, command: Command) => {
      if (flags.dryRun && flags.check) throw new UsageError('--dry-run and --check cannot be combined; pick one.');
      if (flags.force && flags.skip) throw new UsageError('--force and --skip cannot be combined; pick one.');
      const request: RunInitOptions = {
        mode: flags.check ? 'check' : flags.dryRun ? 'dry-run' : 'write',
        options: optionsFrom(flags, command),
        ...(flags.web !== undefined ? { web: flags.web } : {}),
        ...(flags.processors !== undefined ? { processors: flags.processors } : {}),
        force: flags.force === true,
        skip: flags.skip === true,
      };
      // The generator (yaml, templates) is loaded only when init runs.
      const { runInit } = await import('../../generate/index.js');
      const result = await runInit(resolve(flags.dir), request);
      process.stdout.write(flags.json ? `${JSON.stringify(jsonReport(result))}\n` : textReport(result));
      setExitCode(result.ok ? 0 : 1);
    });
}

function integer(value: string): number {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError('expected a whole number.');
  return Number(value);
}

/** Only options the user actually typed are passed on (and so saved). */
function optionsFrom(flags: InitFlags, command: Command): InitOptions {
  const given = (name: string): boolean => command.getOptionValueSource(name) === 'cli';
  const out: Record<string, unknown> = {};
  if (flags.platform !== undefined) out.platform = flags.platform;
  if (flags.topology !== undefined) out.topology = flags.topology;
  if (flags.workers !== undefined) out.workers = flags.workers;
  if (flags.port !== undefined) out.port = flags.port;
  if (flags.shutdownTimeoutMs !== undefined) out.shutdownTimeoutMs = flags.shutdownTimeoutMs;
  if (flags.scheduler !== undefined) out.scheduler = flags.scheduler;
  if (given('schedulers')) out.schedulers = flags.schedulers;
  if (given('systemd')) out.systemd = flags.systemd;
  if (flags.healthPath !== undefined) out.healthPath = flags.healthPath;
  if (flags.release !== undefined) out.release = flags.release;
  if (flags.node !== undefined) out.nodeVersion = flags.node;
  if (given('harden')) out.harden = flags.harden;
  if (given('cacheMounts')) out.cacheMounts = flags.cacheMounts;
  if (given('startInterval')) out.startInterval = flags.startInterval;
  if (given('ci')) out.ci = flags.ci;
  return out as InitOptions;
}

const VERB: Record<FileStatus, string> = {
  created: 'create',
  identical: 'identical',
  updated: 'update',
  overwritten: 'overwrite',
  skipped: 'skip',
  conflict: 'conflict',
};

function textReport(r: InitResult): string {
  const lines: string[] = [];
  lines.push(`topology: ${r.model.topology.reason}`);
  for (const note of r.model.notes) lines.push(note);
  lines.push('');
  const width = Math.max(...Object.values(VERB).map((v) => v.length));
  for (const f of r.files) {
    let status = VERB[f.status];
    if (r.mode === 'check' && f.status !== 'identical') status = f.status === 'created' ? 'missing' : 'drifted';
    lines.push(`${status.padEnd(width)}  ${f.path}`);
  }
  if (r.mode === 'dry-run') {
    lines.push('', r.diff === '' ? 'Nothing would change.' : r.diff.trimEnd(), '', 'Dry run: nothing was written.');
  } else if (r.mode === 'check') {
    lines.push('', r.ok ? 'Generated files match the saved options.' : `${r.drifted.length} file(s) differ from what spoolkit init would write; run spoolkit init --dry-run to see how, then spoolkit init --force to regenerate.`);
  } else if (!r.ok) {
    const hidden = r.model.composeShadows.length > 0 && r.conflicts.includes('compose.yaml');
    const existing = r.conflicts.filter((p) => !(hidden && p === 'compose.yaml'));
    if (existing.length > 0) {
      lines.push('', `Nothing was written: ${existing.join(', ')} already exist${existing.length === 1 ? 's' : ''} with other content. See the difference with --dry-run; overwrite with --force, or keep them with --skip.`);
    }
    if (hidden) {
      lines.push('', `${existing.length > 0 ? 'Also' : 'Nothing was written'}: compose.yaml would hide ${r.model.composeShadows.join(', ')} from docker compose. Merge the services into one file first (see the compose: note above); --force writes compose.yaml anyway, --skip leaves it out.`);
    }
  } else {
    lines.push('', r.written.length === 0 ? 'Everything was up to date.' : `Wrote ${r.written.length} file(s).`);
  }
  return `${lines.join('\n')}\n`;
}

function jsonReport(r: InitResult): Record<string, unknown> {
  return {
    ok: r.ok,
    mode: r.mode,
    topology: r.model.topology.topology,
    reason: r.model.topology.reason,
    platform: r.model.platform.name,
    notes: r.model.notes,
    files: r.files.map((f) => ({ path: f.path, status: f.status })),
    written: r.written,
    conflicts: r.conflicts,
    drifted: r.drifted,
    ...(r.mode === 'dry-run' ? { diff: r.diff } : {}),
  };
}
