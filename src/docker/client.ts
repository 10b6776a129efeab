/**
 * Connecting to the Docker engine. Every engine failure becomes a spoolkit `ERR_DOCKER` error
 * whose message says what to start or set, so the CLI can print one clear line.
 */
import Docker from 'dockerode';
import { SpoolkitError } from '../errors.js';

/** Options for {@link connectDocker}. */
export interface ConnectDockerOptions {
  /** Path of the engine's Unix socket; default: `DOCKER_HOST` when set, else /var/run/docker.sock. */
  socketPath?: string;
}

/** A dockerode client for the local engine (`DOCKER_HOST` is honoured by dockerode itself). */
export function connectDocker(options: ConnectDockerOptions = {}): Docker {
  if (options.socketPath) return new Docker({ socketPath: options.socketPath });
  return new Docker();
}

/** Checks that the engine answers; throws `ERR_DOCKER` naming the fix when it does not. */
export async function assertEngine(docker: Docker): Promise<void> {
  try {
    await docker.ping();
  } catch (err) {
    throw dockerError(err, 'reach the Docker engine');
  }
}

/** Wraps an engine error as a spoolkit error that names the action that failed and the fix. */
export function dockerError(err: unknown, action: string): SpoolkitError {
  if (err instanceof SpoolkitError) return err;
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  const where = process.env.DOCKER_HOST ?? '/var/run/docker.sock';
  if (code === 'ENOENT' || code === 'ECONNREFUSED') {
    return new SpoolkitError('ERR_DOCKER', `Could not ${action}: no Docker engine answers at ${where}. Start Docker, or set DOCKER_HOST to the engine's socket.`, { cause: err });
  }
  if (code === 'EACCES') {
    return new SpoolkitError('ERR_DOCKER', `Could not ${action}: permission denied on ${where}. Add this user to the docker group or run as root.`, { cause: err });
  }
  const message = err instanceof Error ? err.message : String(err);
  return new SpoolkitError('ERR_DOCKER', `Could not ${action}: ${message.trim()}`, { cause: err });
}
