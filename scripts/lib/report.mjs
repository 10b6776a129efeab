// Output for the provisioning scripts: every line names the script it comes from, and a failure
// says what to do and ends the process with exit code 1.

/** `say` prints a progress line; `fail` prints the reason to stderr and exits 1. */
export function reporter(name) {
  return {
    say(line) {
      console.log(`${name}: ${line}`);
    },
    fail(message) {
      console.error(`${name}: ${message}`);
      process.exit(1);
    },
  };
}
