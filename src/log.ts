/**
 * Structured logging. Logs are JSON lines on stderr (stdout carries command output only).
 * LOG_LEVEL picks the threshold (debug, info, warn, error; default info); LOG_FORMAT=pretty gives
 * one readable line per event for a terminal. Library code takes a Logger; it never prints itself.
 * Event names follow `noun:verb-past` (job:claimed, job:completed, lease:reclaimed, worker:draining).
 */

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(event: string, fields?: LogFields): void;
  info(event: string, fields?: LogFields): void;
  warn(event: string, fields?: LogFields): void;
  error(event: string, fields?: LogFields): void;
  /** A logger that adds `fields` to every line. */
  child(fields: LogFields): Logger;
}

const LEVELS: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface LoggerOptions {
  level?: LogLevel;
  format?: 'json' | 'pretty';
  /** Where lines go; defaults to process.stderr. */
  write?: (line: string) => void;
  fields?: LogFields;
}

/**
 * Parses LOG_LEVEL / LOG_FORMAT, refusing unknown values with the list of allowed ones. Empty is
 * unset, as for every other variable (`LOG_LEVEL=${LOG_LEVEL}` in a compose file, with nothing to
 * fill it, stopped the worker with exit 2).
 */
export function loggerOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): LoggerOptions {
  const level = (env.LOG_LEVEL || 'info').toLowerCase();
  if (!(level in LEVELS)) {
    throw new Error(`LOG_LEVEL must be one of debug, info, warn, error; got "${env.LOG_LEVEL}"`);
  }
  const format = (env.LOG_FORMAT || 'json').toLowerCase();
  if (format !== 'json' && format !== 'pretty') {
    throw new Error(`LOG_FORMAT must be json or pretty; got "${env.LOG_FORMAT}"`);
  }
  return { level: level as LogLevel, format };
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const threshold = LEVELS[options.level ?? 'info'];
  const format = options.format ?? 'json';
  const write = options.write ?? ((line: string) => process.stderr.write(line));
  const base = options.fields ?? {};

  const emit = (level: LogLevel, event: string, fields: LogFields | undefined): void => {
    if (LEVELS[level] < threshold) return;
    const record: LogFields = { time: new Date().toISOString(), level, event, ...base, ...fields };
    if (record.err !== undefined) record.err = serializeError(record.err);
    write(format === 'json' ? `${safeJson(record)}\n` : `${prettyLine(record)}\n`);
  };

  return {
    debug: (event, fields) => emit('debug', event, fields),
    info: (event, fields) => emit('info', event, fields),
    warn: (event, fields) => emit('warn', event, fields),
    error: (event, fields) => emit('error', event, fields),
    child: (fields) => createLogger({ ...options, fields: { ...base, ...fields } }),
  };
}

/** A logger that drops everything; the default for library classes. */
export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  child() {
    return silentLogger;
  },
};

export function serializeError(err: unknown): LogFields {
  if (err instanceof Error) {
    const out: LogFields = { name: err.name, message: err.message };
    const code = (err as { code?: unknown }).code;
    if (code !== undefined) out.code = code;
    if (err.stack) out.stack = err.stack;
    return out;
  }
  return { message: String(err) };
}

function safeJson(record: LogFields): string {
  try {
    return JSON.stringify(record);
  } catch {
    return JSON.stringify({ time: record.time, level: record.level, event: record.event, msg: 'unserializable log fields' });
  }
}

function prettyLine(record: LogFields): string {
  const { time, level, event, ...rest } = record;
  const extras = Object.entries(rest)
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : safeJson(v as LogFields)}`)
    .join(' ');
  return `${String(time)} ${String(level).toUpperCase().padEnd(5)} ${String(event)}${extras ? ` ${extras}` : ''}`;
}
