import { describe, expect, it } from 'vitest';
import { countRunsBetween, firstRun, latestRunAtOrBefore, nextRunAfter } from '../../src/scheduler/schedule.js';

const T0 = Date.UTC(2025, 0, 15, 10, 0, 0, 250); // 2025-01-15T10:00:00.250Z

describe('every', () => {
  it('starts at once and repeats on the grid of the first run', () => {
    const f = firstRun({ every: 1000 }, T0);
    expect(f.firstTickMs).toBe(T0);
    expect(f.anchorMs).toBe(250);
    expect(nextRunAfter({ every: 1000 }, T0)).toBe(T0 + 1000);
  });

  it('with offset, starts at the next slot shifted by offset', () => {
    const f = firstRun({ every: 60_000, offset: 5000 }, T0);
    // T0 is 10:00:00.250; the slot 10:00:05.000 is still ahead.
    expect(f.firstTickMs).toBe(Date.UTC(2025, 0, 15, 10, 0, 5));
    expect(f.anchorMs).toBe(5000);
    const g = firstRun({ every: 60_000, offset: 100 }, T0);
    expect(g.firstTickMs).toBe(Date.UTC(2025, 0, 15, 10, 1, 0, 100));
  });

  it('with startDate in the future, starts exactly then', () => {
    const start = T0 + 12_345;
    const f = firstRun({ every: 1000, startDate: start }, T0);
    expect(f.firstTickMs).toBe(start);
    expect(f.anchorMs).toBe(start % 1000);
  });

  it('with startDate and offset, starts exactly at startDate and ignores the offset, as BullMQ', () => {
    const start = T0 + 12_345;
    const f = firstRun({ every: 1000, offset: 300, startDate: start }, T0);
    expect(f.firstTickMs).toBe(start);
    expect(f.anchorMs).toBe(start % 1000);
    expect(firstRun({ every: 1000, offset: 300, startDate: T0 - 10_000 }, T0).firstTickMs).toBe(T0);
  });

  it('with startDate in the past, starts now', () => {
    expect(firstRun({ every: 1000, startDate: T0 - 10_000 }, T0).firstTickMs).toBe(T0);
  });

  it('never runs past endDate', () => {
    expect(firstRun({ every: 1000, startDate: T0 + 5000, endDate: T0 + 4000 }, T0).firstTickMs).toBeNull();
    expect(nextRunAfter({ every: 1000, endDate: T0 + 1500 }, T0)).toBe(T0 + 1000);
    expect(nextRunAfter({ every: 1000, endDate: T0 + 1500 }, T0 + 1000)).toBeNull();
  });

  it('collapses missed runs to the latest one and counts the rest', () => {
    const spec = { every: 1000 };
    const from = T0 + 1000;
    const now = T0 + 5600;
    const latest = latestRunAtOrBefore(spec, from, now);
    expect(latest).toBe(T0 + 5000);
    expect(countRunsBetween(spec, from, latest)).toBe(4); // T0+1000..T0+4000
    expect(latestRunAtOrBefore(spec, from, from)).toBe(from);
    expect(latestRunAtOrBefore({ every: 1000, endDate: T0 + 3500 }, from, now)).toBe(T0 + 3000);
  });
});

describe('pattern', () => {
  it('supports six fields with seconds', () => {
    const spec = { pattern: '*/10 * * * * *' };
    const f = firstRun(spec, T0);
    expect(f.firstTickMs).toBe(Date.UTC(2025, 0, 15, 10, 0, 10));
    expect(f.anchorMs).toBeUndefined();
    expect(nextRunAfter(spec, f.firstTickMs as number)).toBe(Date.UTC(2025, 0, 15, 10, 0, 20));
  });

  it('supports five fields (minute resolution)', () => {
    expect(firstRun({ pattern: '30 10 * * *' }, T0).firstTickMs).toBe(Date.UTC(2025, 0, 15, 10, 30));
    expect(firstRun({ pattern: '@hourly' }, T0).firstTickMs).toBe(Date.UTC(2025, 0, 15, 11));
  });

  it('is strictly after now when now is exactly on the pattern', () => {
    const at = Date.UTC(2025, 0, 15, 10, 0, 10);
    expect(firstRun({ pattern: '*/10 * * * * *' }, at).firstTickMs).toBe(at + 10_000);
  });

  it('follows tz, including a daylight-saving change', () => {
    // 09:00 in Berlin is 08:00Z in winter.
    expect(firstRun({ pattern: '0 0 9 * * *', tz: 'Europe/Berlin' }, T0).firstTickMs).toBe(Date.UTC(2025, 0, 16, 8));
    expect(firstRun({ pattern: '0 0 9 * * *', tz: 'America/New_York' }, T0).firstTickMs).toBe(Date.UTC(2025, 0, 15, 14));
    // Berlin moves to summer time on 2025-03-30: 09:00 is then 07:00Z.
    const beforeDst = Date.UTC(2025, 2, 29, 12);
    const sat = nextRunAfter({ pattern: '0 0 9 * * *', tz: 'Europe/Berlin' }, beforeDst);
    expect(sat).toBe(Date.UTC(2025, 2, 30, 7));
    expect(firstRun({ pattern: '0 0 9 * * *' }, T0).firstTickMs).toBe(Date.UTC(2025, 0, 16, 9));
  });

  it('immediately runs now, then follows the pattern', () => {
    const f = firstRun({ pattern: '0 0 * * * *', immediately: true }, T0);
    expect(f.firstTickMs).toBe(T0);
    expect(nextRunAfter({ pattern: '0 0 * * * *' }, T0)).toBe(Date.UTC(2025, 0, 15, 11));
  });

  it('startDate: first run at or after it', () => {
    const start = Date.UTC(2025, 0, 15, 12, 0, 0);
    expect(firstRun({ pattern: '0 0 * * * *', startDate: start }, T0).firstTickMs).toBe(start);
    expect(firstRun({ pattern: '0 0 * * * *', startDate: start + 1 }, T0).firstTickMs).toBe(start + 3_600_000);
  });

  it('endDate: no run after it', () => {
    const spec = { pattern: '0 0 * * * *', endDate: Date.UTC(2025, 0, 15, 11, 30) };
    expect(nextRunAfter(spec, Date.UTC(2025, 0, 15, 10))).toBe(Date.UTC(2025, 0, 15, 11));
    expect(nextRunAfter(spec, Date.UTC(2025, 0, 15, 11))).toBeNull();
    expect(firstRun({ pattern: '0 0 * * * *', endDate: T0 + 60_000 }, T0).firstTickMs).toBeNull();
  });

  it('collapses missed runs to the latest one and counts the rest', () => {
    const spec = { pattern: '*/5 * * * * *' };
    const from = Date.UTC(2025, 0, 15, 10, 0, 5);
    const now = Date.UTC(2025, 0, 15, 10, 0, 27, 400);
    const latest = latestRunAtOrBefore(spec, from, now);
    expect(latest).toBe(Date.UTC(2025, 0, 15, 10, 0, 25));
    expect(countRunsBetween(spec, from, latest)).toBe(4); // :05 :10 :15 :20
    expect(latestRunAtOrBefore(spec, from, from + 999)).toBe(from);
    // A run exactly at now counts as due.
    expect(latestRunAtOrBefore(spec, from, Date.UTC(2025, 0, 15, 10, 0, 25))).toBe(Date.UTC(2025, 0, 15, 10, 0, 25));
  });

  it('caps the count of missed runs', () => {
    const spec = { pattern: '* * * * * *' };
    expect(countRunsBetween(spec, T0 - 250, T0 - 250 + 10 * 86_400_000, 1000)).toBe(1000);
  });

  it('collapsing an immediate first run keeps it when no pattern instant passed', () => {
    const spec = { pattern: '0 0 * * * *' };
    expect(latestRunAtOrBefore(spec, T0, T0 + 5000)).toBe(T0);
  });
});
