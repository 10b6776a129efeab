#!/usr/bin/env node
// @ts-check
// The npm registry reachable from this project's build machines does not serve every platform
// build of optional native packages (e.g. @msgpackr-extract/*-darwin-arm64 answers 404), so
// `npm install` leaves them out of package-lock.json and `npm ci` then refuses the lockfile as out
// of sync. This adds the missing optional platform entries (no tarball is needed: npm skips a
// package whose os/cpu do not match the machine). Run it after changing dependencies.
import { fs, path } from 'zx';

const lockPath = path.resolve(import.meta.dirname, '..', 'package-lock.json');
const lock = await fs.readJson(lockPath);
let added = 0;
for (const [key, entry] of Object.entries(lock.packages)) {
  for (const [dep, version] of Object.entries(entry.optionalDependencies ?? {})) {
    const depKey = `node_modules/${dep}`;
    if (lock.packages[depKey]) continue;
    const match = /-(darwin|linux|win32|freebsd|android)-(arm64|x64|arm|ia32)(?:-\w+)?$/.exec(dep);
    if (!match) continue;
    lock.packages[depKey] = { version, cpu: [match[2]], dev: entry.dev ?? undefined, license: entry.license, optional: true, os: [match[1]] };
    added++;
    void key;
  }
}
if (added) await fs.writeFile(lockPath, `${JSON.stringify(lock, null, 2)}\n`);
console.log(`package-lock.json: ${added} optional platform entr${added === 1 ? 'y' : 'ies'} added`);
