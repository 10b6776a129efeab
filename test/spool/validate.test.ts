import { describe, expect, it } from 'vitest';
import { toJsonStrict } from '../../src/spool/validate.js';

describe('toJsonStrict', () => {
  it('serialises primitives and refuses the ones JSON cannot carry', () => {
    expect(toJsonStrict(null, 'v')).toBe('null');
    expect(toJsonStrict('s', 'v')).toBe('"s"');
    expect(toJsonStrict(1.5, 'v')).toBe('1.5');
    expect(toJsonStrict(false, 'v')).toBe('false');
    expect(() => toJsonStrict(Number.NaN, 'v')).toThrow(/v is NaN/);
    expect(() => toJsonStrict(undefined, 'v')).toThrow(/v is undefined/);
    expect(() => toJsonStrict(1n, 'v')).toThrow(/BigInt/);
  });

  it('still finds cycles in objects after primitives were checked, and allows shared (non-cyclic) references', () => {
    expect(toJsonStrict(7, 'v')).toBe('7');
    const shared = { n: 1 };
    expect(toJsonStrict({ a: shared, b: shared }, 'v')).toBe('{"a":{"n":1},"b":{"n":1}}');
    const loop: Record<string, unknown> = { x: 1 };
    loop.self = loop;
    expect(() => toJsonStrict(loop, 'v')).toThrow(/v\.self refers back to itself/);
    expect(toJsonStrict(null, 'v')).toBe('null');
    expect(toJsonStrict([1, 'a'], 'v')).toBe('[1,"a"]');
  });
});
