import { describe, expect, it } from 'vitest';
import { DelayedError, UnrecoverableError } from '../../src/errors.js';
import { deserializeError, serializeError } from '../../src/serialized-error.js';

/** Through a structured clone, as across a thread or process boundary. */
function roundTrip(err: unknown): Error {
  return deserializeError(structuredClone(serializeError(err)));
}

describe('errors across a boundary', () => {
  it('UnrecoverableError and DelayedError come back as spoolkit instances', () => {
    const u = roundTrip(new UnrecoverableError('no retry'));
    expect(u).toBeInstanceOf(UnrecoverableError);
    expect(u.message).toBe('no retry');
    expect(roundTrip(new DelayedError())).toBeInstanceOf(DelayedError);
  });

  it('keeps name, message, stack and a primitive code', () => {
    const original = Object.assign(new TypeError('bad'), { code: 'EISDIR' });
    const back = roundTrip(original) as Error & { code?: unknown };
    expect(back.name).toBe('TypeError');
    expect(back.message).toBe('bad');
    expect(back.stack).toBe(original.stack);
    expect(back.code).toBe('EISDIR');
  });

  it('drops a code that cannot be cloned, and turns thrown non-errors into errors', () => {
    const withObjectCode = Object.assign(new Error('x'), { code: { nested: true } });
    expect(serializeError(withObjectCode)).not.toHaveProperty('code');
    expect(roundTrip('plain string').message).toBe('plain string');
    expect(roundTrip(42).message).toBe('Non-error thrown: 42');
    expect(roundTrip({ name: 'Custom', message: 'shaped like one' }).name).toBe('Custom');
  });
});
