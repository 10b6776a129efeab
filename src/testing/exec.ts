/**
 * Running a command inside a container through the engine API (the `docker exec` equivalent),
 * with stdout and stderr kept apart and a time limit.
 */
import { PassThrough } from 'node:stream';
import type Docker from 'dockerode';
import { SpoolkitError } from '../errors.js';
import { dockerError } from '../docker/client.js';

/** What a command run in a container printed and how it exited. */
export interface ExecResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** Options for {@link execInContainer}. */
export interface ExecOptions {
  /** User to run as (`uid[:gid]` or a name); default: the image's user. */
  user?: string;
  /** Working directory; default: the image's. */
  workingDir?: string;
  /** Extra environment, `KEY=value` strings. */
  env?: string[];
  /** Give up after this long (default 60 000 ms); the command may still run in the container. */
  timeoutMs?: number;
}

/** Runs `argv` in a running container and waits for it to exit. */
export async function execInContainer(docker: Docker, containerId: string, argv: string[], options: ExecOptions = {}): Promise<ExecResult> {
  const container = docker.getContainer(containerId);
  let exec: Docker.Exec;
  try {
    exec = await container.exec({
      Cmd: argv,
      AttachStdout: true,
      AttachStderr: true,
      User: options.user,
      WorkingDir: options.workingDir,
      Env: options.env,
    });
  } catch (err) {
    throw dockerError(err, `run ${argv[0] ?? 'a command'} in container ${containerId.slice(0, 12)}`);
  }
  const stream = await exec.start({ hijack: true, stdin: false });
  const out = new PassThrough();
  const errOut = new PassThrough();
  const stdout: Buffer[] = [];
  const stderr: Buffer[] = [];
  out.on('data', (c: Buffer) => stdout.push(c));
  errOut.on('data', (c: Buffer) => stderr.push(c));
  docker.modem.demuxStream(stream, out, errOut);
  const timeoutMs = options.timeoutMs ?? 60_000;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      stream.destroy();
      reject(new SpoolkitError('ERR_DOCKER', `${argv.join(' ')} did not finish within ${timeoutMs} ms in container ${containerId.slice(0, 12)}; raise timeoutMs or check the container's logs.`));
    }, timeoutMs);
    const done = (): void => {
      clearTimeout(timer);
      resolve();
    };
    stream.on('end', done);
    stream.on('close', done);
    stream.on('error', (err) => {
      clearTimeout(timer);
      reject(dockerError(err, `read the output of ${argv[0] ?? 'a command'}`));
    });
  });
  // The exit code lands a moment after the stream ends; poll briefly (bounded).
  let exitCode: number | null = null;
  for (let i = 0; i < 50 && exitCode === null; i++) {
    const info = await exec.inspect();
    if (!info.Running && info.ExitCode !== null) exitCode = info.ExitCode;
    else await new Promise((r) => setTimeout(r, 20));
  }
  return { exitCode: exitCode ?? -1, stdout: Buffer.concat(stdout).toString('utf8'), stderr: Buffer.concat(stderr).toString('utf8') };
}
