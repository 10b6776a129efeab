/**
 * Errors flattened for a process or thread boundary. Values cross such boundaries by structured
 * clone, so errors travel as plain objects and are rebuilt on the other side with their `name`,
 * which is how UnrecoverableError, DelayedError and WaitingError keep their meaning across the
 * boundary.
 */
import { DelayedError, UnrecoverableError, WaitingError } from './errors.js';

/** An error flattened for a process or thread boundary. */
export interface SerializedError {
  name: string;
  message: string;
  stack?: string;
  code?: unknown;
}

/** Flattens anything thrown into a {@link SerializedError}. */
export function serializeError(err: unknown): SerializedError {
  if (err instanceof Error) {
    const out: SerializedError = { name: err.name, message: err.message };
    if (err.stack !== undefined) out.stack = err.stack;
    const code = (err as { code?: unknown }).code;
    if (code !== undefined && isCloneablePrimitive(code)) out.code = code;
    return out;
  }
  if (typeof err === 'object' && err !== null && typeof (err as { message?: unknown }).message === 'string') {
    const e = err as { name?: unknown; message: string };
    return { name: typeof e.name === 'string' ? e.name : 'Error', message: e.message };
  }
  return { name: 'Error', message: typeof err === 'string' ? err : `Non-error thrown: ${String(err)}` };
}

/**
 * Rebuilds an error from its serialized form. UnrecoverableError, DelayedError and WaitingError
 * come back as instances of spoolkit's own classes, so both `instanceof` and name checks classify
 * them.
 */
export function deserializeError(data: SerializedError): Error {
  let err: Error;
  if (data.name === 'UnrecoverableError') err = new UnrecoverableError(data.message);
  else if (data.name === 'DelayedError') err = new DelayedError(data.message);
  else if (data.name === 'WaitingError') err = new WaitingError(data.message);
  else {
    err = new Error(data.message);
    if (data.name !== 'Error') Object.defineProperty(err, 'name', { value: data.name, enumerable: false, configurable: true, writable: true });
  }
  if (data.stack !== undefined) err.stack = data.stack;
  if (data.code !== undefined) (err as { code?: unknown }).code = data.code;
  return err;
}

function isCloneablePrimitive(value: unknown): boolean {
  return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean';
}
