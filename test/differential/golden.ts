/**
 * Recorded BullMQ results. When redis-server cannot be had, spoolkit is compared with these
 * instead of a live BullMQ; `node --import tsx test/differential/record.ts` re-records them.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RunResult } from './normalize.js';

const dir = join(import.meta.dirname, 'golden');

/** The file holding a scenario's recorded BullMQ result. */
export function goldenPath(id: string): string {
  return join(dir, `${id}.bullmq.json`);
}

/** Reads a recorded result, or undefined when none was recorded. */
export function readGolden(id: string): RunResult | undefined {
  const path = goldenPath(id);
  return existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as RunResult) : undefined;
}

/** Writes a recorded result. */
export function writeGolden(id: string, result: RunResult): void {
  writeFileSync(goldenPath(id), `${JSON.stringify(result, null, 2)}\n`);
}
