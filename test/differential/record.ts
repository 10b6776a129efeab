/**
 * Runs every scenario (or those named on the command line) against real BullMQ on a private
 * redis-server and writes the results to golden/. Usage:
 *   node --import tsx test/differential/record.ts [scenario-id...] [--print] [--spoolkit]
 * `--print` prints instead of writing; `--spoolkit` prints spoolkit's result for comparison.
 */
import { startRedis } from '../../bench/lib/redis-server.mjs';
import { bullmqBackend, spoolkitBackend } from './backends.js';
import { writeGolden } from './golden.js';
import { runScenario } from './runner.js';
import { scenarios } from './scenarios/index.js';

const args = process.argv.slice(2);
const print = args.includes('--print');
const withSpoolkit = args.includes('--spoolkit');
const only = args.filter((a) => !a.startsWith('--'));
const chosen = scenarios.filter((s) => only.length === 0 || only.includes(s.id));

const redis = await startRedis({ appendonly: 'no' });
try {
  for (const sc of chosen) {
    const backend = await bullmqBackend(redis.port);
    try {
      const result = await runScenario(sc, backend);
      if (print) console.log(sc.id, 'bullmq', JSON.stringify(result, null, 1));
      else writeGolden(sc.id, result);
      console.error(`recorded ${sc.id}`);
    } finally {
      await backend.dispose();
    }
    if (withSpoolkit) {
      const sk = await spoolkitBackend();
      try {
        console.log(sc.id, 'spoolkit', JSON.stringify(await runScenario(sc, sk), null, 1));
      } finally {
        await sk.dispose();
      }
    }
  }
} finally {
  await redis.stop();
}
