/**
 * A file-change watch on a directory that follows the directory's name, not its inode: an
 * obliterated queue's directory is renamed away and deleted, and a new one made under the same
 * name; a watch on the old inode would never fire again. `check()` (called on each poll, and
 * after a name in the directory came or went) re-arms the watch when the directory at the name is
 * another one, or the watch ended.
 */
import fs from 'node:fs';

export class DirWatch {
  private watcher: fs.FSWatcher | undefined;
  private ino: number | undefined;
  private closed = false;

  /** `onChange` gets the changed file's name when the platform reports it. */
  constructor(
    private readonly dir: string,
    private readonly onChange: (file: string | null) => void,
  ) {}

  /** Arms the watch, or re-arms it if the directory was replaced or the watch ended. No watch is not an error: polling alone keeps callers going. */
  check(): void {
    if (this.closed) return;
    let ino: number;
    try {
      ino = fs.statSync(this.dir).ino;
    } catch {
      this.unwatch();
      return;
    }
    if (this.watcher && ino === this.ino) return;
    this.unwatch();
    try {
      const w = fs.watch(this.dir, { persistent: false }, (event, file) => {
        // A name came or went: perhaps the directory itself (an obliterate renames it away and
        // deletes it once a new one is made): looked at again at once, not on the next poll.
        if (event === 'rename') setImmediate(() => this.check());
        this.onChange(typeof file === 'string' ? file : null);
      });
      w.on('error', () => {
        if (this.watcher === w) this.unwatch();
      });
      this.watcher = w;
      this.ino = ino;
    } catch {
      // No file-change events here (e.g. inotify limits).
    }
  }

  /** True while a watch is armed. */
  get armed(): boolean {
    return this.watcher !== undefined;
  }

  /** Ends the watch for good: a check already scheduled does nothing. */
  close(): void {
    this.closed = true;
    this.unwatch();
  }

  private unwatch(): void {
    this.watcher?.close();
    this.watcher = undefined;
    this.ino = undefined;
  }
}
