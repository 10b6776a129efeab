// Checks that generated files are valid in their own formats, beyond matching golden files
// (golden files can enshrine a mistake). Shared by the validation tests.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Ajv, type ValidateFunction } from 'ajv';
import { validate as validateDockerfile } from 'dockerfile-utils';
import { parse as parseToml } from 'smol-toml';
import { parseDocument } from 'yaml';

const require = createRequire(import.meta.url);

/** Parses YAML strictly; returns the problems (duplicate keys, syntax, YAML 1.1-isms). */
export function yamlProblems(text: string): string[] {
  const doc = parseDocument(text, { uniqueKeys: true, strict: true, prettyErrors: false });
  return [...doc.errors, ...doc.warnings].map((e) => e.message);
}

let composeValidator: ValidateFunction | undefined;

/** Validates a compose file against the compose-spec JSON schema (as shipped in dclint). */
export function composeSchemaProblems(text: string): string[] {
  if (!composeValidator) {
    const schema = JSON.parse(readFileSync(join(dirname(require.resolve('dclint/package.json')), 'schemas/compose.schema.json'), 'utf8')) as Record<string, unknown>;
    delete schema.$schema;
    composeValidator = new Ajv({ allErrors: true, strict: false }).compile(schema);
  }
  const doc = parseDocument(text).toJS() as unknown;
  if (composeValidator(doc)) return [];
  return (composeValidator.errors ?? []).map((e) => `${e.instancePath} ${e.message ?? ''} ${JSON.stringify(e.params)}`);
}

/** Lints a Dockerfile with dockerfile-utils; returns every diagnostic, warnings included. */
export function dockerfileProblems(text: string): string[] {
  return validateDockerfile(text).map((d) => `line ${d.range.start.line + 1}: ${d.message}`);
}

/** The shell commands of a Dockerfile's shell-form RUN instructions, continuation lines joined. */
export function runCommands(text: string): string[] {
  const out: string[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string;
    if (!/^RUN\s/.test(line)) continue;
    let command = line.replace(/^RUN\s+/, '');
    while (command.endsWith('\\') && i + 1 < lines.length) {
      command = `${command.slice(0, -1).trimEnd()} ${(lines[++i] as string).trim()}`;
    }
    command = command.replace(/^(--mount=\S+\s+)+/, '');
    if (!command.startsWith('[')) out.push(command);
  }
  return out;
}

/** True when the shellcheck binary runs. */
export function haveShellcheck(): boolean {
  return spawnSync('shellcheck', ['--version'], { stdio: 'ignore' }).status === 0;
}

/** Tries to install shellcheck from Debian (root only, bounded in time); returns why it could not. */
export function installShellcheck(): string | undefined {
  if (haveShellcheck()) return undefined;
  if (process.getuid?.() !== 0) return 'shellcheck is not installed and this is not root (apt-get install shellcheck)';
  if (spawnSync('apt-get', ['--version'], { stdio: 'ignore' }).status !== 0) return 'shellcheck is not installed and apt-get is missing';
  const install = spawnSync('apt-get', ['install', '-y', '--no-install-recommends', 'shellcheck'], { stdio: 'ignore', timeout: 120_000 });
  if (install.status !== 0) {
    spawnSync('apt-get', ['update'], { stdio: 'ignore', timeout: 120_000 });
    spawnSync('apt-get', ['install', '-y', '--no-install-recommends', 'shellcheck'], { stdio: 'ignore', timeout: 120_000 });
  }
  return haveShellcheck() ? undefined : 'shellcheck could not be installed from apt (no network to the Debian mirror?)';
}

/** Runs shellcheck (POSIX sh, as /bin/sh -c runs RUN lines) on each command; returns its findings. */
export function shellcheckProblems(commands: readonly string[]): string[] {
  const script = `#!/bin/sh\n${commands.join('\n')}\n`;
  const run = spawnSync('shellcheck', ['--shell=sh', '--severity=style', '-'], { input: script, encoding: 'utf8', timeout: 30_000 });
  return run.status === 0 ? [] : [run.stdout || run.stderr || `shellcheck exited ${String(run.status)}`];
}

/** Parses TOML; returns the parse error, if any. */
export function tomlProblems(text: string): string[] {
  try {
    parseToml(text);
    return [];
  } catch (err) {
    return [(err as Error).message];
  }
}

/** Procfile lines must be `<type>: <command>`, each type once. */
export function procfileProblems(text: string): string[] {
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([A-Za-z0-9_]+): (\S.*)$/.exec(line);
    if (!m) problems.push(`not a Procfile line: ${line}`);
    else if (seen.has(m[1] as string)) problems.push(`duplicate process type ${m[1]}`);
    else seen.add(m[1] as string);
  }
  return problems;
}

/** systemd unit lines must be sections, comments or Key=Value with known sections. */
export function unitProblems(text: string): string[] {
  const problems: string[] = [];
  let section = '';
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const header = /^\[(Unit|Service|Install)\]$/.exec(line);
    if (header) section = header[1] as string;
    else if (!/^[A-Z][A-Za-z]+=\S/.test(line)) problems.push(`not Key=Value: ${line}`);
    else if (section === '') problems.push(`setting outside a section: ${line}`);
  }
  return problems;
}

/** True when `docker compose` (v2) runs here. */
export function haveDockerCompose(): boolean {
  return spawnSync('docker', ['compose', 'version'], { stdio: 'ignore', timeout: 20_000 }).status === 0;
}
