/**
 * A stop signal may reach a process twice: a terminal's Ctrl-C, or a platform's SIGTERM to
 * every process (Heroku, which also documents that a process may get several), arrives straight
 * and again as its parent (a supervisor, the entrypoint's `all` role) forwards it. The same signal
 * again within this many milliseconds of the first is taken for that copy; a different signal, or
 * the same one later, is a deliberate second signal and forces. Only a process whose parent
 * forwards signals waits for copies: alone, a second Ctrl-C forces at once.
 */
export const SIGNAL_ECHO_MS = 1000;

/**
 * Set (to 1) by the entrypoint's `all` role for the worker it starts: that parent forwards stop
 * signals and is linked to the worker by an IPC channel, whose end (the parent killed) makes the
 * worker drain. A worker forked by anything else keeps its channel to itself.
 */
export const PARENT_LINK_ENV = 'SPOOLKIT_PARENT_LINKED';
