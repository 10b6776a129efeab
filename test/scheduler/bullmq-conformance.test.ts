/**
 * spoolkit's cron arithmetic against BullMQ's own (the installed bullmq package's exported
 * `defaultRepeatStrategy` and `getNextMillis`; pure functions, no Redis needed).
 */
import { defaultRepeatStrategy, getNextMillis } from 'bullmq';
import { describe, expect, it } from 'vitest';
import { firstRun, nextRunAfter } from '../../src/scheduler/schedule.js';

const NOWS = [Date.UTC(2025, 0, 15, 10, 0, 0, 250), Date.UTC(2025, 2, 29, 23, 59, 59, 999), Date.UTC(2024, 1, 29, 12, 0, 0, 0), Date.UTC(2025, 9, 26, 0, 30, 0, 1)];
const PATTERNS = ['*/10 * * * * *', '0 */15 * * * *', '30 10 * * *', '0 0 9 * * 1-5', '@hourly', '0 0 2 * * *', '15 3 1 * *', '0 30 1 * * 0'];
const ZONES = [undefined, 'UTC', 'Europe/Berlin', 'America/New_York', 'Asia/Kolkata'];

describe('cron arithmetic matches BullMQ', () => {
  for (const pattern of PATTERNS) {
    for (const tz of ZONES) {
      it(`${pattern} in ${tz ?? 'default zone'}`, () => {
        for (const now of NOWS) {
          const opts = tz === undefined ? { pattern, tz: 'UTC' } : { pattern, tz };
          const bull = defaultRepeatStrategy(now, opts as never) as number;
          expect(firstRun({ pattern, ...(tz ? { tz } : {}) }, now).firstTickMs).toBe(bull);
          expect(nextRunAfter({ pattern, ...(tz ? { tz } : {}) }, bull)).toBe(getNextMillis(bull, opts as never));
        }
      });
    }
  }

  it('startDate in the future: BullMQ runs strictly after it, spoolkit also at it when it is an instant of the pattern', () => {
    const now = NOWS[0] as number;
    const start = Date.UTC(2025, 0, 15, 12, 0, 0);
    const bull = defaultRepeatStrategy(now, { pattern: '0 0 * * * *', startDate: start, tz: 'UTC' } as never) as number;
    expect(bull).toBe(start + 3_600_000);
    expect(firstRun({ pattern: '0 0 * * * *', startDate: start }, now).firstTickMs).toBe(start);
    // Off the pattern, both agree.
    const bull2 = defaultRepeatStrategy(now, { pattern: '0 0 * * * *', startDate: start + 1, tz: 'UTC' } as never) as number;
    expect(firstRun({ pattern: '0 0 * * * *', startDate: start + 1 }, now).firstTickMs).toBe(bull2);
  });
});
