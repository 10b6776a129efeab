#!/usr/bin/env node
// @ts-check
// Provisions Debian's `redis-server` for the differential test and the benchmark, which compare
// spoolkit with real BullMQ. Idempotent: when a working redis-server is already on PATH it only
// proves that it starts (well under a second). When it is missing it installs the Debian package
// with apt, without letting the package start a system-wide service.
//
// It never fails the test run: when redis-server cannot be had (no apt, no root, apt unreachable)
// it prints why, records the reason in .tmp/redis-status.json and exits 0, and the differential
// test skips its BullMQ half with that reason in its log.
import { $, fs, path, which } from 'zx';
import { startRedis } from '../bench/lib/redis-server.mjs';

$.verbose = false;
$.quiet = true;
const root = path.resolve(import.meta.dirname, '..');
const statusFile = path.join(root, '.tmp', 'redis-status.json');
const APT_TIMEOUT = '400s';

/** @param {{ available: boolean; reason?: string; version?: string; binary?: string }} status */
async function finish(status) {
  await fs.mkdirp(path.dirname(statusFile));
  await fs.writeJson(statusFile, { ...status, checkedAt: new Date().toISOString() }, { spaces: 2 });
  if (status.available) console.log(`redis-server ready: ${status.version} (${status.binary})`);
  else console.log(`redis-server unavailable, the BullMQ comparisons will be skipped: ${status.reason}`);
}

/** Starts the binary once on a free loopback port, pings it, and stops it. */
async function probe() {
  const binary = await which('redis-server', { nothrow: true });
  if (!binary) return { ok: false, reason: 'redis-server is not on PATH' };
  try {
    const server = await startRedis({ binary, timeoutMs: 10_000 });
    const version = server.version;
    await server.stop();
    return { ok: true, binary, version };
  } catch (err) {
    return { ok: false, reason: `redis-server is installed at ${binary} but did not start: ${err instanceof Error ? err.message : String(err)}` };
  }
}

/** Installs redis-server with apt; returns a reason string on failure, undefined on success. */
async function aptInstall() {
  if (process.platform !== 'linux') return `automatic install needs Debian's apt; on ${process.platform} install redis-server yourself`;
  if (!(await which('apt-get', { nothrow: true }))) return 'apt-get is not available; install redis-server with your package manager';
  if (process.getuid?.() !== 0) return 'installing redis-server needs root; run `sudo apt-get install redis-server` once';
  // Keep the package's maintainer scripts from starting a system-wide redis on port 6379.
  const policy = '/usr/sbin/policy-rc.d';
  const ownPolicy = !(await fs.pathExists(policy));
  if (ownPolicy) await fs.writeFile(policy, '#!/bin/sh\nexit 101\n', { mode: 0o755 });
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const install = () =>
    $({ env, nothrow: true })`timeout ${APT_TIMEOUT} apt-get -o DPkg::Lock::Timeout=240 install -y -q --no-install-recommends redis-server`;
  try {
    let run = await install();
    if (run.exitCode !== 0) {
      // A fresh machine may have no package lists yet.
      const update = await $({ env, nothrow: true })`timeout ${APT_TIMEOUT} apt-get -o DPkg::Lock::Timeout=240 update -q`;
      if (update.exitCode !== 0) return `apt-get update failed (exit ${update.exitCode}): ${lastLine(update.stderr)}`;
      run = await install();
    }
    if (run.exitCode !== 0) return `apt-get install redis-server failed (exit ${run.exitCode}): ${lastLine(run.stderr)}`;
    return undefined;
  } finally {
    if (ownPolicy) await fs.remove(policy);
  }
}

/** @param {string} text */
function lastLine(text) {
  const lines = text.trim().split('\n').filter(Boolean);
  return lines[lines.length - 1] ?? '(no output)';
}

const first = await probe();
if (first.ok) {
  await finish({ available: true, version: first.version, binary: first.binary });
} else {
  console.log(`${first.reason}; installing the Debian package`);
  const failure = await aptInstall();
  if (failure) {
    await finish({ available: false, reason: failure });
  } else {
    const second = await probe();
    if (second.ok) await finish({ available: true, version: second.version, binary: second.binary });
    else await finish({ available: false, reason: second.reason });
  }
}
