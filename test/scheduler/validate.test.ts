import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.js';
import { normalizeRepeatOptions, normalizeTemplate, validateSchedulerId } from '../../src/scheduler/validate.js';

const NOW = Date.UTC(2025, 0, 1);

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).code).toBe('ERR_CONFIG');
    return err as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('repeat options', () => {
  it('refuses both every and pattern, and neither', () => {
    expect(configError(() => normalizeRepeatOptions({ every: 1000, pattern: '* * * * *' }, NOW)).message).toMatch(/keep exactly one/);
    expect(configError(() => normalizeRepeatOptions({}, NOW)).message).toMatch(/Either \.pattern or \.every/);
    expect(configError(() => normalizeRepeatOptions(undefined, NOW)).message).toMatch(/needs repeat options/);
  });

  it('reads null start and end dates as none, as BullMQ does (with immediately too)', () => {
    const loose = { every: 1000, startDate: null, endDate: null } as unknown as Parameters<typeof normalizeRepeatOptions>[0];
    expect(normalizeRepeatOptions(loose, NOW)).toEqual({ every: 1000 });
    const immediate = { pattern: '0 * * * * *', immediately: true, startDate: null } as unknown as Parameters<typeof normalizeRepeatOptions>[0];
    expect(normalizeRepeatOptions(immediate, NOW)).toMatchObject({ immediately: true });
  });

  it('refuses every below 1 ms or not whole', () => {
    for (const every of [0, -5, 0.5, 1.5, Number.NaN, Infinity]) {
      expect(configError(() => normalizeRepeatOptions({ every }, NOW)).message).toMatch(/whole number of milliseconds, at least 1/);
    }
    expect(normalizeRepeatOptions({ every: 1 }, NOW)).toEqual({ every: 1 });
  });

  it('refuses bad cron patterns with the accepted forms in the message', () => {
    for (const pattern of ['bad', '* * *', '* * * * * * * *', '61 * * * *', '', '*/0 * * * * *']) {
      expect(configError(() => normalizeRepeatOptions({ pattern }, NOW)).message).toMatch(/5 fields .* or 6 with seconds first/);
    }
    expect(normalizeRepeatOptions({ pattern: ' */5 * * * * * ' }, NOW)).toEqual({ pattern: '*/5 * * * * *' });
    expect(normalizeRepeatOptions({ pattern: '@daily' }, NOW)).toEqual({ pattern: '@daily' });
  });

  it('refuses unknown time zones', () => {
    expect(configError(() => normalizeRepeatOptions({ pattern: '* * * * *', tz: 'Mars/Olympus' }, NOW)).message).toMatch(/not a known time zone/);
    expect(normalizeRepeatOptions({ pattern: '* * * * *', tz: 'Asia/Tokyo' }, NOW).tz).toBe('Asia/Tokyo');
  });

  it('refuses immediately with startDate, and a key', () => {
    expect(configError(() => normalizeRepeatOptions({ pattern: '* * * * *', immediately: true, startDate: NOW }, NOW)).message).toMatch(/immediately and \.startDate/);
    expect(configError(() => normalizeRepeatOptions({ every: 5, key: 'x' }, NOW)).message).toMatch(/repeat\.key/);
  });

  it('checks limit, dates and offset', () => {
    expect(configError(() => normalizeRepeatOptions({ every: 5, limit: 0 }, NOW)).message).toMatch(/limit must be a whole number, at least 1/);
    expect(configError(() => normalizeRepeatOptions({ every: 5, startDate: 'not a date' }, NOW)).message).toMatch(/startDate must be a Date/);
    expect(configError(() => normalizeRepeatOptions({ every: 5, endDate: NOW - 1 }, NOW)).message).toMatch(/endDate .* is in the past/);
    expect(configError(() => normalizeRepeatOptions({ every: 5, startDate: NOW + 10, endDate: NOW + 5 }, NOW)).message).toMatch(/before repeat\.startDate/);
    expect(configError(() => normalizeRepeatOptions({ every: 5, offset: -1 }, NOW)).message).toMatch(/offset/);
    expect(normalizeRepeatOptions({ every: 1000, offset: 2500, limit: 3, startDate: new Date(NOW + 1), endDate: '2030-01-01T00:00:00Z' }, NOW)).toEqual({
      every: 1000,
      offset: 500,
      limit: 3,
      startDate: NOW + 1,
      endDate: Date.UTC(2030, 0, 1),
    });
  });

  it('refuses dates past 2286-11-20 (13-digit ms), which made a RangeError or a run id too long, and names Infinity as Infinity', () => {
    expect(configError(() => normalizeRepeatOptions({ every: 1000, endDate: -1e20 }, NOW)).message).toMatch(/^repeat\.endDate is before the earliest date JavaScript has; got -100000000000000000000 \(number\)/);
    for (const [field, value] of [['startDate', 1e20], ['endDate', 1e20], ['startDate', 8.64e15], ['endDate', 10_000_000_000_000]] as const) {
      const err = configError(() => normalizeRepeatOptions({ every: 1000, [field]: value }, NOW));
      expect(err.message).toMatch(new RegExp(`^repeat\\.${field} must be a date no later than 2286-11-20T17:46:39\\.999Z \\(ms since the epoch, 13 digits at most\\)`));
    }
    expect(configError(() => normalizeRepeatOptions({ every: 1000, startDate: 2e20, endDate: 1e20 }, NOW)).message).toMatch(/startDate must be a date no later than/);
    expect(normalizeRepeatOptions({ every: 1000, startDate: 9_999_999_999_999 }, NOW).startDate).toBe(9_999_999_999_999);
    expect(configError(() => normalizeRepeatOptions({ every: 1e15 }, NOW)).message).toMatch(/^repeat\.every of 1000000000000000 ms puts the next run after 2286-11-20T17:46:39\.999Z, past the 13-digit ms that run ids carry; use a shorter interval\.$/);
    expect(configError(() => normalizeRepeatOptions({ every: Infinity }, NOW)).message).toBe('repeat.every must be a whole number of milliseconds, at least 1; got Infinity (number).');
  });

  it('keeps immediately only for patterns', () => {
    expect(normalizeRepeatOptions({ pattern: '* * * * *', immediately: true }, NOW).immediately).toBe(true);
    expect(normalizeRepeatOptions({ every: 100, immediately: true }, NOW).immediately).toBeUndefined();
  });
});

describe('template', () => {
  it('defaults the name to the scheduler id and data to {}', () => {
    expect(normalizeTemplate('sched', undefined)).toEqual({ name: 'sched', data: {}, opts: {} });
    expect(normalizeTemplate('sched', { name: 'job', data: { a: 1 }, opts: { attempts: 3 } })).toEqual({ name: 'job', data: { a: 1 }, opts: { attempts: 3 } });
  });

  it('refuses options the scheduler owns', () => {
    for (const key of ['jobId', 'delay', 'deduplication', 'repeat', 'debounce', 'parent']) {
      const err = configError(() => normalizeTemplate('s', { opts: { [key]: key === 'delay' ? 5 : { id: 'x' } } as never }));
      expect(err.message).toContain(`template.opts.${key} is not allowed`);
    }
  });

  it('takes a null option as not set, as add does, and stores nothing for it', () => {
    expect(normalizeTemplate('s', { opts: { attempts: 2, priority: null, backoff: null, removeOnComplete: null } as never }).opts).toEqual({ attempts: 2 });
  });

  it('refuses data that is not JSON, or would not come back the same, as add does', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(configError(() => normalizeTemplate('s', { data: cyclic })).message).toMatch(/template\.data\.self .*cycle|cycle/i);
    expect(configError(() => normalizeTemplate('s', { data: () => 1 })).message).toMatch(/template\.data is a function/);
    // Each of these used to be stored changed (a string, null, {}, a plain object), run after run.
    expect(configError(() => normalizeTemplate('s', { data: { d: new Date(0) } })).message).toMatch(/template\.data\.d is a Date/);
    expect(configError(() => normalizeTemplate('s', { data: { n: Number.NaN } })).message).toMatch(/template\.data\.n is NaN/);
    expect(configError(() => normalizeTemplate('s', { data: { m: new Map([[1, 2]]) } })).message).toMatch(/template\.data\.m/);
    expect(configError(() => normalizeTemplate('s', { data: { a: [1, undefined] } })).message).toMatch(/template\.data\.a\[1\]/);
    expect(normalizeTemplate('s', { data: { ok: [1, 'two', null, { three: true }] } }).data).toEqual({ ok: [1, 'two', null, { three: true }] });
  });
});

describe('scheduler id', () => {
  it('refuses empty, path-like and overlong ids', () => {
    for (const id of ['', '.', '..', 'a..b', 'a/b', 'a\\b', 'a\nb', 'x'.repeat(180), 'é'.repeat(90), 42]) {
      configError(() => validateSchedulerId(id));
    }
    expect(validateSchedulerId('report:daily.v2')).toBe('report:daily.v2');
    expect(validateSchedulerId('x'.repeat(179))).toHaveLength(179);
  });
});
