/**
 * Errors flattened for a process or thread boundary. Values cross such boundaries by structured
 * clone, so errors travel as plain objects and are rebuilt on the other side with their `name`,
 * which is how UnrecoverableError, DelayedError and WaitingError keep their meaning across the
 * boundary.
 */
import { coerceError, DelayedError, UnrecoverableError, WaitingError } from './errors.js';

/** An error flattened for a process or thread boundary. */
export interface SerializedError {
  name: string;
  message: string;
  stack?: string;
  code?: unknown;
  /** The error's other own properties that survive a structured clone (`extra`, `details` ...). */
  props?: Record<string, unknown>;
}

/**
 * Flattens anything thrown into a {@link SerializedError}. A value that is not an Error gets the
 * message an in-process run would give it (coerceError), so a sandbox fails a job with the same
 * reason as the same processor run in-process.
 */
export function serializeError(thrown: unknown): SerializedError {
  const err = coerceError(thrown);
  const out: SerializedError = { name: err.name, message: err.message };
  if (thrown instanceof Error && err.stack !== undefined) out.stack = err.stack;
  const code = (err as { code?: unknown }).code;
  if (code !== undefined && isCloneablePrimitive(code)) out.code = code;
  if (thrown instanceof Error) {
    const props = cloneableProps(thrown);
    if (props) out.props = props;
  }
  return out;
}

/** Own enumerable properties of an error besides name, message, stack and code that can be cloned. */
function cloneableProps(err: Error): Record<string, unknown> | undefined {
  let props: Record<string, unknown> | undefined;
  for (const key of Object.keys(err)) {
    if (key === 'name' || key === 'message' || key === 'stack' || key === 'code') continue;
    const value = (err as unknown as Record<string, unknown>)[key];
    try {
      structuredClone(value);
    } catch {
      continue;
    }
    (props ??= {})[key] = value;
  }
  return props;
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
  if (data.props) Object.assign(err, data.props);
  return err;
}

function isCloneablePrimitive(value: unknown): boolean {
  return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean';
}
