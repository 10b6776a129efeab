#!/usr/bin/env node
// @ts-check
// Makes sure the base images the project's Dockerfiles start FROM exist in the local engine.
//
// Where no registry can be reached, `docker build` cannot pull `node:<version>-bookworm-slim`. This
// script builds a faithful local stand-in under the same tag instead: a minimal Debian bookworm root
// (debootstrap --variant=minbase), this machine's `node`, `npm`, `npx` and `corepack` in
// /usr/local, this machine's CA bundle (NODE_EXTRA_CA_CERTS and npm's cafile point at it), its apt
// sources, and a `node` user with uid/gid 1000 as in the official image. Built once, cached by tag:
// the second run only asks the engine whether the tag exists.
//
// Images it looks for: every FROM in docker/Dockerfile and test/containers/fixtures/**/Dockerfile
// (ARG defaults resolved, stage names skipped), plus any tags given on the command line.
//
// Usage: node scripts/base-image.mjs [--force] [extra-tag ...]
import { $, fs, glob, os, path } from 'zx';
import { reporter } from './lib/report.mjs';

$.verbose = false;
const root = path.resolve(import.meta.dirname, '..');
const args = process.argv.slice(2);
const force = args.includes('--force');
const extraTags = args.filter((a) => !a.startsWith('--'));
const started = Date.now();
const STAND_IN_LABEL = 'dev.spoolkit.stand-in';

const { say, fail } = reporter('base-image');

/** The images a Dockerfile's FROM lines name, with ARG defaults substituted and stages skipped. */
function baseImagesOf(text) {
  const args = new Map();
  const stages = new Set();
  const images = [];
  const subst = (s) =>
    s.replace(/\$\{(\w+)(?::?-([^}]*))?\}|\$(\w+)/g, (_m, a, def, b) => args.get(a ?? b) ?? def ?? '');
  // Join continuation lines, drop comments.
  const lines = text.replace(/\\\r?\n/g, ' ').split(/\r?\n/).map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  for (const line of lines) {
    const arg = /^ARG\s+(\w+)(?:=(\S*))?/i.exec(line);
    if (arg?.[1] && arg[2] !== undefined && !args.has(arg[1])) args.set(arg[1], arg[2].replace(/^["']|["']$/g, ''));
    const from = /^FROM\s+(?:--\S+\s+)*(\S+)(?:\s+AS\s+(\S+))?/i.exec(line);
    if (from?.[1]) {
      const image = subst(from[1]);
      if (image !== 'scratch' && !stages.has(image.toLowerCase())) images.push(image);
      if (from[2]) stages.add(from[2].toLowerCase());
    }
  }
  return images;
}

async function imageExists(tag) {
  return (await $`docker image inspect ${tag}`.nothrow().quiet()).exitCode === 0;
}

async function has(cmd) {
  return (await $`command -v ${cmd}`.nothrow().quiet()).exitCode === 0;
}

/** The Debian mirror this machine's apt already uses. */
async function debianMirror() {
  for (const f of await aptSourceFiles()) {
    const text = await fs.readFile(f, 'utf8');
    const deb822 = /^URIs:\s*(\S+\/debian)\/?\s*$/m.exec(text);
    if (deb822?.[1]) return deb822[1];
    const oneLine = /^deb\s+(?:\[[^\]]*\]\s+)?(\S+\/debian)\/?\s+bookworm\b/m.exec(text);
    if (oneLine?.[1]) return oneLine[1];
  }
  return 'http://deb.debian.org/debian';
}

async function aptSourceFiles() {
  const files = [];
  if (await fs.pathExists('/etc/apt/sources.list')) files.push('/etc/apt/sources.list');
  if (await fs.pathExists('/etc/apt/sources.list.d')) {
    for (const f of (await fs.readdir('/etc/apt/sources.list.d')).sort()) {
      if (/\.(list|sources)$/.test(f)) files.push(path.join('/etc/apt/sources.list.d', f));
    }
  }
  const out = [];
  for (const f of files) if (/\/debian(-security)?\/?(\s|$)/m.test(await fs.readFile(f, 'utf8'))) out.push(f);
  return out;
}

/** Finds this machine's node installation: the binary and the prefix holding lib/node_modules/npm. */
async function hostNode() {
  const binary = await fs.realpath(process.execPath);
  for (const prefix of [path.dirname(path.dirname(binary)), '/usr/local', '/usr']) {
    const npmDir = path.join(prefix, 'lib/node_modules/npm');
    if (await fs.pathExists(path.join(npmDir, 'bin/npm-cli.js'))) {
      return { binary, modules: path.join(prefix, 'lib/node_modules'), version: process.versions.node };
    }
  }
  fail(`cannot find npm next to ${binary}; install npm for this node, then rerun.`);
  throw new Error('unreachable');
}

async function caBundle() {
  for (const f of [process.env.NODE_EXTRA_CA_CERTS, '/etc/ssl/certs/ca-certificates.crt'].filter(Boolean)) {
    if (await fs.pathExists(/** @type {string} */ (f))) return /** @type {string} */ (f);
  }
  return null;
}

async function buildStandIn(tag) {
  const wanted = /^node:(\d+)/.exec(tag)?.[1];
  const node = await hostNode();
  if (wanted && wanted !== node.version.split('.')[0]) {
    say(`warning: ${tag} asks for Node ${wanted}; the stand-in carries this machine's Node ${node.version}`);
  }
  if (!/^(node|debian):/.test(tag) || /alpine/.test(tag)) {
    fail(`${tag} cannot be pulled and no stand-in is known for it (only Debian bookworm based node and debian images are). Make it available locally (docker load / docker build), then rerun.`);
  }
  if (process.getuid?.() !== 0) fail(`building a stand-in for ${tag} needs root (debootstrap). Run as root, or pull the image where a registry is reachable.`);
  if (!(await has('debootstrap'))) {
    if (!(await has('apt-get'))) fail('debootstrap is missing and apt-get is not available. Install debootstrap, then rerun.');
    say('installing debootstrap');
    await $({ env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } })`apt-get install -y -qq --no-install-recommends debootstrap`.nothrow();
    if (!(await has('debootstrap'))) {
      await $({ env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } })`apt-get update -qq`.timeout('5m');
      await $({ env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } })`apt-get install -y -qq --no-install-recommends debootstrap`.timeout('5m');
    }
  }
  const work = await fs.mkdtemp(path.join(os.tmpdir(), 'spoolkit-base-'));
  const rootfs = path.join(work, 'rootfs');
  try {
    const mirror = await debianMirror();
    say(`debootstrap --variant=minbase bookworm from ${mirror}`);
    const t0 = Date.now();
    await $`debootstrap --variant=minbase bookworm ${rootfs} ${mirror}`.timeout('10m');
    say(`debootstrap took ${((Date.now() - t0) / 1000).toFixed(1)} s`);

    // Node, npm, npx and corepack from this machine, laid out as the official image has them.
    await fs.mkdirp(path.join(rootfs, 'usr/local/bin'));
    await fs.mkdirp(path.join(rootfs, 'usr/local/lib/node_modules'));
    await fs.copyFile(node.binary, path.join(rootfs, 'usr/local/bin/node'));
    await fs.chmod(path.join(rootfs, 'usr/local/bin/node'), 0o755);
    await $`cp -a ${path.join(node.modules, 'npm')} ${path.join(rootfs, 'usr/local/lib/node_modules/')}`;
    await fs.symlink('../lib/node_modules/npm/bin/npm-cli.js', path.join(rootfs, 'usr/local/bin/npm'));
    await fs.symlink('../lib/node_modules/npm/bin/npx-cli.js', path.join(rootfs, 'usr/local/bin/npx'));
    if (await fs.pathExists(path.join(node.modules, 'corepack'))) {
      await $`cp -a ${path.join(node.modules, 'corepack')} ${path.join(rootfs, 'usr/local/lib/node_modules/')}`;
      await fs.symlink('../lib/node_modules/corepack/dist/corepack.js', path.join(rootfs, 'usr/local/bin/corepack'));
    }

    // This machine's CA bundle, for npm and node inside builds.
    const ca = await caBundle();
    const env = [`PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`, `NODE_VERSION=${node.version}`];
    if (ca) {
      await fs.mkdirp(path.join(rootfs, 'etc/ssl/certs'));
      await fs.copyFile(ca, path.join(rootfs, 'etc/ssl/certs/ca-certificates.crt'));
      await fs.mkdirp(path.join(rootfs, 'usr/local/etc'));
      await fs.writeFile(path.join(rootfs, 'usr/local/etc/npmrc'), 'cafile=/etc/ssl/certs/ca-certificates.crt\nupdate-notifier=false\nfund=false\n');
      env.push('NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt');
    }

    // This machine's apt sources and apt settings, so `apt-get install` in a build behaves as here.
    const sources = await aptSourceFiles();
    if (sources.length > 0) {
      await fs.remove(path.join(rootfs, 'etc/apt/sources.list'));
      await fs.mkdirp(path.join(rootfs, 'etc/apt/sources.list.d'));
      for (const f of sources) {
        const dest = f === '/etc/apt/sources.list' ? 'etc/apt/sources.list' : path.join('etc/apt/sources.list.d', path.basename(f));
        await fs.copyFile(f, path.join(rootfs, dest));
      }
    }
    for (const f of (await fs.pathExists('/etc/apt/apt.conf.d')) ? await fs.readdir('/etc/apt/apt.conf.d') : []) {
      if (/^99/.test(f)) await fs.copyFile(path.join('/etc/apt/apt.conf.d', f), path.join(rootfs, 'etc/apt/apt.conf.d', f));
    }

    // The `node` user (uid/gid 1000, home /home/node), as in the official image.
    await fs.appendFile(path.join(rootfs, 'etc/group'), 'node:x:1000:\n');
    await fs.appendFile(path.join(rootfs, 'etc/passwd'), 'node:x:1000:1000::/home/node:/bin/bash\n');
    await fs.appendFile(path.join(rootfs, 'etc/shadow'), 'node:*:19000:0:99999:7:::\n');
    await fs.mkdirp(path.join(rootfs, 'home/node'));
    await fs.chown(path.join(rootfs, 'home/node'), 1000, 1000);

    // Smaller image: no package downloads or index files left behind.
    await $`sh -c ${`rm -rf ${rootfs}/var/cache/apt/archives/*.deb ${rootfs}/var/lib/apt/lists/* ${rootfs}/tmp/* ${rootfs}/usr/share/doc/* ${rootfs}/usr/share/man/*`}`;

    const changes = [
      ...env.map((e) => ['--change', `ENV ${e}`]).flat(),
      '--change', `LABEL ${STAND_IN_LABEL}=true`,
      '--change', `LABEL ${STAND_IN_LABEL}.node=${node.version}`,
      '--change', 'CMD ["node"]',
    ];
    say(`importing ${tag}`);
    await $`tar -C ${rootfs} --numeric-owner -cf - .`.pipe($`docker import ${changes} - ${tag}`);
  } finally {
    await $`rm -rf ${work}`.nothrow();
  }
}

if ((await $`docker version --format {{.Server.Version}}`.nothrow().quiet()).exitCode !== 0) {
  fail('no Docker engine answers; run `node scripts/docker-engine.mjs` first.');
}

const dockerfiles = [path.join(root, 'docker/Dockerfile'), ...(await glob('test/containers/fixtures/**/Dockerfile', { cwd: root, absolute: true }))];
const tags = new Set(extraTags);
for (const f of dockerfiles) {
  if (await fs.pathExists(f)) for (const image of baseImagesOf(await fs.readFile(f, 'utf8'))) tags.add(image);
}
if (tags.size === 0) tags.add('node:20-bookworm-slim');

for (const tag of tags) {
  if (!force && (await imageExists(tag))) {
    say(`${tag} present`);
    continue;
  }
  // A registry may be reachable (a developer's machine): a real pull beats any stand-in.
  if (!force && (await $`docker pull ${tag}`.nothrow().quiet().timeout('120s')).exitCode === 0) {
    say(`${tag} pulled`);
    continue;
  }
  await buildStandIn(tag);
  say(`${tag} built as a local stand-in`);
}
say(`ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
