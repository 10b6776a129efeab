/**
 * Where a processor file is, checked when a Worker or sandbox is made: a wrong path fails at
 * start, as in BullMQ, instead of failing every job it is given.
 */
import { existsSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '../errors.js';

/**
 * The absolute path of a processor given as a path (relative to the working directory) or a
 * `file:` URL. (The processors module of `spoolkit worker` resolves its paths against its own
 * folder and checks them first, with a message saying so.)
 */
export function processorFilePath(file: string | URL): string {
  const isUrl = file instanceof URL || file.startsWith('file:');
  const path = isUrl ? fileURLToPath(file) : isAbsolute(file) ? file : resolve(file);
  if (!existsSync(path)) {
    const what = isUrl ? `URL ${String(file)} does not exist in the local file system` : `File ${path} does not exist`;
    throw new ConfigError(`${what}; pass the path of the processor module (absolute, or relative to the working directory ${process.cwd()}).`);
  }
  return path;
}
