#!/usr/bin/env node
// @ts-check
// Makes a Docker engine and Compose v2 available for the container tests.
//
// 1. An engine that already answers (a developer's Docker Desktop, DOCKER_HOST, a running dockerd)
//    is reused as it is.
// 2. Otherwise, on Debian as root: install Debian's docker.io when dockerd is missing, start
//    `dockerd --iptables=false --ip6tables=false` in the background (log: /var/log/spoolkit-dockerd.log)
//    and wait for its socket.
// 3. Compose v2: when `docker compose version` fails, on Debian as root, fetch the docker-compose
//    package of Debian 13 with a throwaway apt configuration (nothing is added to the system's apt
//    sources) and install its binary as a CLI plugin.
// Otherwise it stops with a message saying what to install. Quick and idempotent the second time.
//
// Usage: node scripts/docker-engine.mjs [--check]   (--check: report only, install nothing)
import { $, fs, os, path, sleep } from 'zx';
import { reporter } from './lib/report.mjs';

$.verbose = false;
const checkOnly = process.argv.includes('--check');
const started = Date.now();
const DOCKERD_LOG = '/var/log/spoolkit-dockerd.log';
const PLUGIN_DIR = '/usr/local/lib/docker/cli-plugins';
const COMPOSE_SUITE = 'trixie';

const { say, fail } = reporter('docker-engine');

async function has(cmd) {
  return (await $`command -v ${cmd}`.nothrow().quiet()).exitCode === 0;
}

async function engineVersion() {
  const r = await $`docker version --format {{.Server.Version}}`.nothrow().quiet().timeout('20s');
  return r.exitCode === 0 ? r.stdout.trim() : null;
}

async function composeVersion() {
  const r = await $`docker compose version --short`.nothrow().quiet().timeout('20s');
  return r.exitCode === 0 ? r.stdout.trim() : null;
}

async function isDebianRoot() {
  const isRoot = process.getuid?.() === 0;
  const osRelease = (await fs.pathExists('/etc/os-release')) ? await fs.readFile('/etc/os-release', 'utf8') : '';
  return isRoot && /^ID=debian$/m.test(osRelease) && (await has('apt-get'));
}

let aptUpdated = false;
async function aptInstall(...pkgs) {
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  if (!aptUpdated) {
    await $({ env })`apt-get update -qq`.timeout('5m');
    aptUpdated = true;
  }
  await $({ env })`apt-get install -y -qq --no-install-recommends ${pkgs}`.timeout('10m');
}

async function startEngine() {
  if (!(await has('docker'))) {
    if (!(await isDebianRoot())) fail('no docker client found. Install Docker Engine (https://docs.docker.com/engine/install/) or Docker Desktop, then rerun.');
  }
  if (!(await has('dockerd'))) {
    if (!(await isDebianRoot())) fail('no Docker engine answers and this is not Debian as root, so nothing can be installed here. Install and start Docker Engine or Docker Desktop, or set DOCKER_HOST, then rerun.');
    say('installing Debian docker.io (Docker Engine)');
    await aptInstall('docker.io');
  }
  if (!(await has('docker'))) await aptInstall('docker-cli');
  if (process.getuid?.() !== 0) fail('dockerd is installed but not running, and starting it needs root. Start it (e.g. `sudo systemctl start docker`), then rerun.');
  // A stale pid file from a dockerd that died would stop a new one from starting.
  const pidFile = '/var/run/docker.pid';
  if (await fs.pathExists(pidFile)) {
    const pid = Number((await fs.readFile(pidFile, 'utf8')).trim());
    let alive = false;
    try {
      if (pid > 0) process.kill(pid, 0);
      alive = pid > 0;
    } catch {
      alive = false;
    }
    if (!alive) await fs.remove(pidFile);
  }
  say(`starting dockerd (log: ${DOCKERD_LOG})`);
  const out = fs.openSync(DOCKERD_LOG, 'a');
  const { spawn } = await import('node:child_process');
  const child = spawn('dockerd', ['--iptables=false', '--ip6tables=false'], { detached: true, stdio: ['ignore', out, out] });
  child.unref();
  const deadline = Date.now() + 90_000;
  while (Date.now() < deadline) {
    if (await engineVersion()) return;
    if (child.exitCode !== null) break;
    await sleep(500);
  }
  const tail = (await fs.readFile(DOCKERD_LOG, 'utf8')).split('\n').slice(-20).join('\n');
  fail(`dockerd did not answer within 90 s. Last log lines:\n${tail}`);
}

async function installCompose() {
  if (!(await isDebianRoot())) fail('Docker Compose v2 is missing. Install the docker-compose-plugin package (or Docker Desktop), then rerun.');
  say(`installing Compose v2 from Debian ${COMPOSE_SUITE}'s docker-compose package (throwaway apt configuration)`);
  const work = await fs.mkdtemp(path.join(os.tmpdir(), 'spoolkit-compose-'));
  try {
    const lists = path.join(work, 'lists');
    const archives = path.join(work, 'archives');
    await fs.mkdirp(path.join(lists, 'partial'));
    await fs.mkdirp(path.join(archives, 'partial'));
    const sources = path.join(work, 'sources.list');
    const mirror = await debianMirror();
    await fs.writeFile(sources, `deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] ${mirror} ${COMPOSE_SUITE} main\n`);
    const opts = [
      '-o', `Dir::Etc::SourceList=${sources}`,
      '-o', 'Dir::Etc::SourceParts=/nonexistent',
      '-o', `Dir::State::Lists=${lists}`,
      '-o', `Dir::Cache::Archives=${archives}`,
      '-o', 'Dir::Cache::pkgcache=', '-o', 'Dir::Cache::srcpkgcache=',
      '-o', 'APT::Default-Release=',
      '-o', 'APT::Sandbox::User=root',
    ];
    await $`apt-get ${opts} update -qq`.timeout('5m');
    await $({ cwd: work })`apt-get ${opts} download docker-compose`.timeout('5m');
    const deb = (await fs.readdir(work)).find((f) => f.startsWith('docker-compose_') && f.endsWith('.deb'));
    if (!deb) fail('apt-get download docker-compose produced no .deb');
    const unpacked = path.join(work, 'root');
    await $`dpkg-deb -x ${path.join(work, deb)} ${unpacked}`;
    const candidates = [
      path.join(unpacked, 'usr/libexec/docker/cli-plugins/docker-compose'),
      path.join(unpacked, 'usr/lib/docker/cli-plugins/docker-compose'),
      path.join(unpacked, 'usr/bin/docker-compose'),
    ];
    let binary = null;
    for (const c of candidates) {
      if (await fs.pathExists(c)) {
        binary = await fs.realpath(c);
        break;
      }
    }
    if (!binary) fail(`no docker-compose binary inside ${deb}`);
    await fs.mkdirp(PLUGIN_DIR);
    // Replace whatever is there (possibly a dangling link) rather than writing through it.
    await fs.remove(path.join(PLUGIN_DIR, 'docker-compose'));
    await fs.copyFile(binary, path.join(PLUGIN_DIR, 'docker-compose'));
    await fs.chmod(path.join(PLUGIN_DIR, 'docker-compose'), 0o755);
  } finally {
    await fs.remove(work);
  }
}

/** The Debian mirror this machine's apt already uses (deb822 or one-line format). */
async function debianMirror() {
  const files = ['/etc/apt/sources.list'];
  if (await fs.pathExists('/etc/apt/sources.list.d')) {
    for (const f of await fs.readdir('/etc/apt/sources.list.d')) files.push(path.join('/etc/apt/sources.list.d', f));
  }
  for (const f of files) {
    if (!/\.(list|sources)$/.test(f) || !(await fs.pathExists(f))) continue;
    const text = await fs.readFile(f, 'utf8');
    const deb822 = /^URIs:\s*(\S+\/debian)\/?\s*$/m.exec(text);
    if (deb822?.[1]) return deb822[1];
    const oneLine = /^deb\s+(?:\[[^\]]*\]\s+)?(\S+\/debian)\/?\s+bookworm\b/m.exec(text);
    if (oneLine?.[1]) return oneLine[1];
  }
  return 'http://deb.debian.org/debian';
}

let engine = await engineVersion();
if (!engine) {
  if (checkOnly) fail('no Docker engine answers (run without --check to install or start one).');
  await startEngine();
  engine = await engineVersion();
}
let compose = await composeVersion();
if (!compose) {
  if (checkOnly) fail('Docker Compose v2 is missing (run without --check to install it).');
  await installCompose();
  compose = await composeVersion();
  if (!compose) fail(`Compose was installed in ${PLUGIN_DIR} but \`docker compose version\` still fails.`);
}
say(`engine ${engine}, compose ${compose} ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
