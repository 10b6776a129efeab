#!/usr/bin/env node
/**
 * The `spoolkit` command. With exit-code.ts, the only place in the package that prints errors and
 * sets exit codes: 0 ok, 1 failure or unhealthy, 2 usage or configuration error.
 */

export async function main(argv: readonly string[] = process.argv): Promise<number> {
  // The healthcheck runs every few seconds in every container: it skips loading the rest of the
  // CLI (commander, dockerode, the generator) and goes straight to the health module.
  if (argv[2] === 'health' && !argv.includes('--help') && !argv.includes('-h')) {
    const { runHealth } = await import('../health/index.js');
    const run = await runHealth(argv.slice(3), process.env);
    process.stdout.write(run.output);
    return run.exitCode;
  }
  const [{ Command }, { registerCommands }, { packageVersion }] = await Promise.all([
    import('commander'),
    import('./commands/index.js'),
    import('./version.js'),
  ]);
  const program = new Command('spoolkit')
    .description('Background jobs for Node.js on a shared spool directory, with a BullMQ-compatible API.')
    .version(packageVersion(), '-V, --version')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s), writeOut: (s) => process.stdout.write(s) })
    .showHelpAfterError('(run with --help for usage)');

  let exitCode = 0;
  registerCommands(program, (code) => {
    exitCode = code;
  });

  try {
    await program.parseAsync([...argv]);
    return exitCode;
  } catch (err) {
    const { exitCodeFor } = await import('./exit-code.js');
    return exitCodeFor(err);
  }
}

const isMain = process.argv[1] !== undefined && import.meta.url === (await import('node:url')).pathToFileURL((await import('node:fs')).realpathSync(process.argv[1])).href;
if (isMain) {
  process.exitCode = await main();
}
