#!/usr/bin/env node
/**
 * The healthcheck as its own small program: `node <spoolkit>/dist/cli/health-bin.js [options]`
 * does what `spoolkit health` does without loading the rest of the CLI, for images whose
 * HEALTHCHECK runs every few seconds. Prints one JSON line; exits 0 (ok, backlogged) or 1.
 */
import { runHealth } from '../health/index.js';

try {
  const run = await runHealth(process.argv.slice(2), process.env);
  process.stdout.write(run.output);
  process.exitCode = run.exitCode;
} catch (err) {
  process.stdout.write(`${JSON.stringify({ status: 'unhealthy', reasons: [`The health check crashed: ${(err as Error).message}`] })}\n`);
  process.exitCode = 1;
}
