/**
 * The per-queue event log: append-only JSON lines in numbered segments under `<queue>/events/`.
 *
 * Writers buffer lines and append them with one `write` per batch on the next turn of the event
 * loop, through an `O_APPEND` descriptor, so lines from several processes never interleave. Code
 * that adds jobs in a loop of awaits never gives the event loop a turn (every step resolves in
 * microtasks), so a batch is also written as soon as it holds `MAX_PENDING_LINES` lines or
 * `MAX_PENDING_BYTES`, or its first line is `MAX_PENDING_MS` old: memory stays bounded and other
 * processes (workers waiting on the log, `QueueEvents`) hear of new jobs while the loop runs. A
 * segment past `SEGMENT_BYTES` is closed and the next number opened; the writer that rotates
 * deletes segments older than the last `KEEP_SEGMENTS`. An event's id is `<segment>-<byte offset>`,
 * which readers pass back to resume (BullMQ's `lastEventId`).
 *
 * Line format: `{"e":<event name>,"t":<ms>,"a":<BullMQ event args>}` plus optional spoolkit
 * fields (`k`: the finished job's retention setting, read by the retention pass; `l`: written
 * late, by the retention sweep, for a job whose own event died with its worker).
 */
import fs from 'node:fs';
import path from 'node:path';
import { applyFileMode, isErrno, mkdirp, tryReaddir, tryUnlink, writeAll, type FileModes } from './fs.js';

/** Segment size that triggers rotation. */
export const SEGMENT_BYTES = 16 * 1024 * 1024;
/** Segments kept after a rotation. */
export const KEEP_SEGMENTS = 4;
/** Queued lines that make `append` write the batch at once instead of on the next turn. */
export const MAX_PENDING_LINES = 1024;
/** Queued bytes (UTF-16 code units, close enough) that make `append` write the batch at once. */
export const MAX_PENDING_BYTES = 256 * 1024;
/** Age of the oldest queued line, ms, past which `append` writes the batch at once. */
export const MAX_PENDING_MS = 2;
/** How long a reader that moved on to a newer segment still reads lines appended late to the one it left. */
export const LATE_APPEND_GRACE_MS = 10_000;

/** One event as read back from the log. */
export interface LoggedEvent {
  /** `<segment>-<offset>` */
  id: string;
  /** Event name. */
  e: string;
  /** Time appended, ms. */
  t: number;
  /** BullMQ-shaped event arguments. */
  a: Record<string, unknown>;
  /** Retention setting of a finished job (completed/failed events only). */
  k?: unknown;
  /** 1 on an event written late on behalf of a process that died before writing it (retention has counted that job already). */
  l?: 1;
}

export function segName(n: number): string {
  return `${String(n).padStart(10, '0')}.jsonl`;
}

/** Segment numbers present in `dir`, ascending. */
export function listSegments(dir: string): number[] {
  return tryReaddir(dir)
    .filter((n) => /^\d{10}\.jsonl$/.test(n))
    .map((n) => Number(n.slice(0, 10)))
    .sort((a, b) => a - b);
}

/** How every line the writers produce begins. */
const LINE_START = Buffer.from('{"e":"');

/**
 * A writer that has written nothing for this long closes its segment, and opens the newest one
 * again at its next write: a process holds no descriptor for a queue it no longer uses (a queue
 * named per tenant or per import, closed or obliterated long ago).
 */
export const IDLE_CLOSE_MS = 30_000;

/** One line's event, or undefined for a torn or foreign line. */
function parseEvent(text: string): Omit<LoggedEvent, 'id'> | undefined {
  try {
    const parsed = JSON.parse(text) as Omit<LoggedEvent, 'id'>;
    if (typeof parsed.e === 'string') return parsed.l === 1 ? { e: parsed.e, t: parsed.t, a: parsed.a ?? {}, k: parsed.k, l: 1 } : { e: parsed.e, t: parsed.t, a: parsed.a ?? {}, k: parsed.k };
  } catch {
    // torn or foreign
  }
  return undefined;
}

const liveWriters = new Set<EventWriter>();
let exitHookInstalled = false;

/** Appends events for one queue. One instance per queue directory per process. */
export class EventWriter {
  private lines: string[] = [];
  /** Length of the queued lines, and when the first of them was queued (ms). */
  private pendingChars = 0;
  private pendingSince = 0;
  private scheduled = false;
  private fd: number | undefined;
  private seg = 0;
  /**
   * Where this process's last append ended, as `<segment>:<size>` computed from the size seen just
   * before the write. When the segment still has exactly that size, nobody else has appended since
   * (see `isOwnTail`). An append by another process between the size check and the write makes the
   * computed end too small, which reads as "someone else wrote": the safe direction.
   */
  private ownEnd: { seg: number; size: number } | undefined;
  /**
   * Set when an append of this process found the segment grown since its previous one: another
   * process wrote in between, and the file-change event of that write may be read only after
   * this append, when the size matches `ownEnd` again. `isOwnTail` then reports news once.
   */
  private foreignAppend = false;
  /** The segment size at which `isOwnTail` last reported news: an append found at that size was already told. */
  private newsToldAt: { seg: number; size: number } | undefined;

  /** When this writer last wrote a batch (ms), and the timer that closes its segment once idle. */
  private lastWriteAt = 0;
  private idleTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly dir: string,
    private readonly modes: FileModes,
    private readonly idleCloseMs = IDLE_CLOSE_MS,
  ) {}

  /** Queues an event; it is written on the next turn of the event loop (or by `flush`). */
  append(e: string, args: Record<string, unknown>, extra?: { k?: unknown; late?: boolean }): void {
    const t = Date.now();
    // The same text as JSON.stringify({ e, t, a: args, k }), without the object around it (two lines per job).
    const k = extra?.k !== undefined ? JSON.stringify(extra.k) : undefined;
    let line = `{"e":${JSON.stringify(e)},"t":${t},"a":${JSON.stringify(args)}${k === undefined ? '' : `,"k":${k}`}}`;
    if (extra?.late) line = `${line.slice(0, -1)},"l":1}`;
    if (this.lines.length === 0) this.pendingSince = t;
    this.lines.push(line);
    this.pendingChars += line.length;
    if (!liveWriters.has(this)) {
      liveWriters.add(this);
      if (!exitHookInstalled) {
        exitHookInstalled = true;
        process.on('exit', () => {
          for (const w of liveWriters) w.flushQuietly();
        });
      }
    }
    if (this.lines.length >= MAX_PENDING_LINES || this.pendingChars >= MAX_PENDING_BYTES || t - this.pendingSince >= MAX_PENDING_MS) {
      this.flushQuietly();
      return;
    }
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => {
        this.scheduled = false;
        this.flushQuietly();
      });
    }
  }

  /**
   * Queues an event and writes the batch now: for a move that has just made a job claimable, so
   * that its `waiting` is in the log before another process can start the job and log `active`.
   */
  appendNow(e: string, args: Record<string, unknown>): void {
    this.append(e, args);
    this.flushQuietly();
  }

  /** Writes every queued line now. */
  flush(): void {
    if (this.lines.length === 0) return;
    const text = this.lines.join('\n') + '\n';
    this.lines = [];
    this.pendingChars = 0;
    this.writeOut(text, true);
  }

  /**
   * True when `changedFile` (the name a file-change event on the log directory reported) is this
   * writer's segment and the segment ends exactly where this process's last append ended: the
   * event was then caused by this process alone, and readers in this process can ignore it.
   * False whenever that is not certain (lines still queued, no append yet, a rotation, an error).
   */
  isOwnTail(changedFile: string | null): boolean {
    const own = this.ownEnd;
    if (this.foreignAppend) {
      this.foreignAppend = false;
      return false;
    }
    if (!own || this.fd === undefined || own.seg !== this.seg || changedFile !== segName(this.seg)) return false;
    try {
      const size = fs.fstatSync(this.fd).size;
      if (size === own.size) return true;
      this.newsToldAt = { seg: own.seg, size };
      return false;
    } catch {
      return false;
    }
  }

  /** Closes the segment descriptor (queued lines are written first). */
  close(): void {
    this.flushQuietly();
    if (this.fd !== undefined) {
      try {
        fs.closeSync(this.fd);
      } catch {
        // already closed
      }
      this.fd = undefined;
    }
    clearInterval(this.idleTimer);
    this.idleTimer = undefined;
    liveWriters.delete(this);
  }

  /** Closes the segment once nothing was written for `idleCloseMs` (looked at that often; the timer keeps no process alive). */
  private closeWhenIdle(): void {
    if (this.idleTimer) return;
    this.idleTimer = setInterval(() => {
      if (this.lines.length === 0 && Date.now() - this.lastWriteAt >= this.idleCloseMs) this.close();
    }, this.idleCloseMs);
    this.idleTimer.unref();
  }

  /** Writes every queued line now; a failed write drops them (the log is advisory). */
  flushQuietly(): void {
    try {
      this.flush();
    } catch {
      // The event log is advisory; a failed append must not break the job transition that queued it.
    }
  }

  private open(): void {
    mkdirp(this.dir, this.modes);
    const segs = listSegments(this.dir);
    this.seg = segs.length ? segs[segs.length - 1]! : 1;
    // The segment may be another uid's (applyFileMode leaves its mode alone).
    this.fd = fs.openSync(path.join(this.dir, segName(this.seg)), 'a', this.modes.file);
    applyFileMode(this.fd, this.modes);
    this.closeWhenIdle();
  }

  /**
   * Leaves a full segment for the newest one, or a new one after it. A process that wrote little
   * may still hold a segment that others filled and left several segments ago: it must not
   * append there, where readers no longer look. Returns the size of the segment now open.
   */
  private rotate(): number {
    fs.closeSync(this.fd!);
    this.fd = undefined;
    let next = Math.max(this.seg + 1, listSegments(this.dir).at(-1) ?? 0);
    for (;;) {
      const fd = fs.openSync(path.join(this.dir, segName(next)), 'a', this.modes.file);
      let size: number;
      try {
        size = fs.fstatSync(fd).size;
        if (size < SEGMENT_BYTES) applyFileMode(fd, this.modes);
      } catch (err) {
        fs.closeSync(fd);
        throw err;
      }
      if (size < SEGMENT_BYTES) {
        this.fd = fd;
        this.seg = next;
        for (const old of listSegments(this.dir)) if (old <= next - KEEP_SEGMENTS) tryUnlink(path.join(this.dir, segName(old)));
        return size;
      }
      fs.closeSync(fd);
      next++;
    }
  }

  private writeOut(text: string, retry: boolean): void {
    if (this.fd === undefined) this.open();
    const fd = this.fd!;
    const st = fs.fstatSync(fd);
    if (st.nlink === 0) {
      // The queue was obliterated under us: start a fresh log.
      fs.closeSync(fd);
      this.fd = undefined;
      if (retry) this.writeOut(text, false);
      return;
    }
    let size = st.size;
    if (size >= SEGMENT_BYTES) size = this.rotate();
    else if (this.ownEnd && this.ownEnd.seg === this.seg && this.ownEnd.size !== size) {
      const told = this.newsToldAt;
      if (!told || told.seg !== this.seg || told.size !== size) this.foreignAppend = true;
    }
    try {
      // All of it: a write cut short by a full disk leaves a fragment the readers step over.
      const buf = Buffer.from(text);
      writeAll(this.fd!, buf);
      this.lastWriteAt = Date.now();
      this.ownEnd = { seg: this.seg, size: size + buf.length };
    } catch (err) {
      if (retry && (isErrno(err, 'EBADF') || isErrno(err, 'ENOENT'))) {
        this.fd = undefined;
        this.writeOut(text, false);
        return;
      }
      throw err;
    }
  }
}

/** Reads a queue's event log from a position onwards. */
export class EventTail {
  private seg: number;
  private off: number;
  private fd: number | undefined;
  private skipFirst = false;
  private filter: ((line: string) => boolean) | undefined;
  /**
   * The segment this reader moved on from, and where it stopped there. A writer that checked the
   * segment's size just before another process rotated still appends its batch there, a moment
   * after readers left: for `LATE_APPEND_GRACE_MS` each read also picks up such lines.
   */
  private left: { seg: number; off: number; until: number } | undefined;

  /**
   * `from`: `$` (only new events), `0` (every kept event), an event id `<seg>-<off>` to resume
   * after, or a cursor `<seg>:<off>` from `position()` to resume exactly at.
   */
  constructor(
    readonly dir: string,
    from: string = '$',
  ) {
    const segs = listSegments(dir);
    const m = /^(\d+)([-:])(\d+)$/.exec(from);
    if (m && from !== '0-0') {
      this.seg = Number(m[1]);
      this.off = Number(m[3]);
      this.skipFirst = m[2] === '-';
    } else if (from === '0' || from === '0-0') {
      this.seg = segs[0] ?? 1;
      this.off = 0;
    } else {
      this.seg = segs[segs.length - 1] ?? 1;
      this.off = 0;
      try {
        this.off = fs.statSync(path.join(dir, segName(this.seg))).size;
      } catch {
        this.off = 0;
      }
    }
  }

  /** A cursor (`<seg>:<off>`) a new reader can pass to resume exactly here. */
  position(): string {
    return `${this.seg}:${this.off}`;
  }

  /** True when the last `read` stopped at its byte limit with more lines available. */
  truncated = false;

  /** Reads every complete line available now (up to about `maxBytes`); `filter` skips lines before parsing. */
  read(maxBytes = 4 * 1024 * 1024, filter?: (line: string) => boolean): LoggedEvent[] {
    const out: LoggedEvent[] = [];
    this.filter = filter;
    this.truncated = false;
    if (this.left) this.readLeft(out, maxBytes);
    for (let hops = 0; hops < 16; hops++) {
      const got = this.readSegment(out, maxBytes);
      if (got === 'more') {
        this.truncated = true;
        return out;
      }
      // At the end of this segment: move on only when a later one exists.
      const segs = listSegments(this.dir);
      const later = segs.find((s) => s > this.seg);
      if (later === undefined) {
        if (got === 'missing' && segs.includes(this.seg)) continue; // made again since: read it from its start
        if (got === 'missing' && segs.length > 0 && segs[segs.length - 1]! < this.seg) {
          // The log was reset (queue obliterated): start over at its beginning.
          this.moveTo(segs[0]!);
          continue;
        }
        return out;
      }
      if (got === 'eof') {
        this.readSegment(out, maxBytes); // late appends to the old segment
        this.left = { seg: this.seg, off: this.off, until: Date.now() + LATE_APPEND_GRACE_MS };
      }
      this.moveTo(later);
    }
    return out;
  }

  /** Releases the open descriptor. */
  close(): void {
    if (this.fd !== undefined) {
      try {
        fs.closeSync(this.fd);
      } catch {
        // already closed
      }
      this.fd = undefined;
    }
  }

  /** Reads lines appended to the segment this reader left, while its grace lasts. */
  private readLeft(out: LoggedEvent[], maxBytes: number): void {
    const left = this.left!;
    let size: number;
    try {
      size = Date.now() > left.until ? -1 : fs.statSync(path.join(this.dir, segName(left.seg))).size;
    } catch {
      size = -1;
    }
    if (size < 0) {
      this.left = undefined;
      return;
    }
    if (size <= left.off) return;
    const here = { seg: this.seg, off: this.off, fd: this.fd, skipFirst: this.skipFirst };
    this.seg = left.seg;
    this.off = left.off;
    this.fd = undefined;
    this.skipFirst = false;
    try {
      this.readSegment(out, maxBytes);
      left.off = this.off;
    } finally {
      this.close();
      ({ seg: this.seg, off: this.off, fd: this.fd, skipFirst: this.skipFirst } = here);
    }
  }

  private moveTo(seg: number): void {
    this.close();
    this.seg = seg;
    this.off = 0;
    this.skipFirst = false;
  }

  private readSegment(out: LoggedEvent[], maxBytes: number): 'eof' | 'more' | 'missing' {
    if (this.fd === undefined) {
      try {
        this.fd = fs.openSync(path.join(this.dir, segName(this.seg)), 'r');
      } catch (err) {
        if (isErrno(err, 'ENOENT')) return 'missing';
        throw err;
      }
    }
    const st = fs.fstatSync(this.fd);
    const size = st.size;
    // Shorter than the position: a new log's segment of the same name (the queue obliterated):
    // read from its start, and its first line is not the one this reader resumed after.
    if (size < this.off) {
      this.off = 0;
      this.skipFirst = false;
    }
    if (size === this.off) {
      if (st.nlink > 0) return 'eof';
      // Read to its end and removed: trimmed behind this reader, or the queue was obliterated. A
      // segment of the same name made later belongs to a new log and is read from its start.
      this.close();
      this.off = 0;
      this.skipFirst = false;
      return 'missing';
    }
    const avail = size - this.off;
    let len = Math.min(avail, maxBytes);
    let buf = Buffer.allocUnsafe(len);
    let n = fs.readSync(this.fd, buf, 0, len, this.off);
    // A line longer than the window (a big return value): widen it until the line fits, or
    // nothing would ever move this reader past that line.
    while (n === len && len < avail && buf.indexOf(10) < 0) {
      len = Math.min(avail, len * 2);
      buf = Buffer.allocUnsafe(len);
      n = fs.readSync(this.fd, buf, 0, len, this.off);
    }
    let start = 0;
    for (;;) {
      const nl = buf.indexOf(10, start);
      if (nl < 0 || nl >= n) break;
      const lineOff = this.off + start;
      const lineStart = start;
      start = nl + 1;
      if (this.skipFirst) {
        this.skipFirst = false;
        continue;
      }
      this.parseLine(buf, lineStart, nl, lineOff, out);
    }
    this.off += start;
    return size - this.off > 0 && start > 0 ? 'more' : 'eof';
  }

  private parseLine(buf: Buffer, from: number, to: number, lineOff: number, out: LoggedEvent[]): void {
    const text = buf.toString('utf8', from, to);
    if (!this.filter || this.filter(text)) {
      const ev = parseEvent(text);
      if (ev) {
        out.push({ id: `${this.seg}-${lineOff}`, ...ev });
        return;
      }
    }
    // A batch cut short (its writer killed inside write(2), or a full disk) leaves a fragment
    // without its newline, and the next batch's first line is appended straight after it. Find
    // where that complete line starts: the one suffix that parses whole (a suffix starting inside
    // the fragment would carry the fragment's rest in front of a complete line). Most lines hold
    // no second line start, so this costs one byte search.
    for (let k = buf.indexOf(LINE_START, from + 1); k >= 0 && k < to; k = buf.indexOf(LINE_START, k + 1)) {
      const rest = buf.toString('utf8', k, to);
      const ev = parseEvent(rest);
      if (!ev) continue;
      // The batch may have been cut right before its last newline: its last line is then whole.
      const head = buf.toString('utf8', from, k);
      const first = parseEvent(head);
      if (first && (!this.filter || this.filter(head))) out.push({ id: `${this.seg}-${lineOff}`, ...first });
      if (!this.filter || this.filter(rest)) out.push({ id: `${this.seg}-${lineOff + (k - from)}`, ...ev });
      return;
    }
  }
}
