/**
 * A stop signal often reaches a process twice: a terminal's Ctrl-C, or a platform's SIGTERM to
 * every process (Heroku, which also documents that a process may get several), arrives straight
 * and again as its parent (a supervisor, the entrypoint's `all` role) forwards it. The same signal
 * again within this many milliseconds of the first is taken for that copy; a different signal, or
 * the same one later, is a deliberate second signal and forces.
 */
export const SIGNAL_ECHO_MS = 1000;
