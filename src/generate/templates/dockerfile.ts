/** `docker/Dockerfile`: one multi-stage image with thin role targets. */
import type { ProjectModel } from '../model.js';
import { execForm, hashHeader, wrap } from './header.js';

/** Renders the Dockerfile. */
export function renderDockerfile(m: ProjectModel): string {
  const pm = m.packageManager;
  const cache = (cmd: string): string => (m.options.cacheMounts ? `--mount=type=cache,target=${pm.cacheDir} ${cmd}` : cmd);
  const targets = imageTargets(m);
  const out: string[] = [];
  out.push(
    hashHeader([
      '',
      'One image with thin targets that share every layer (the last one is the default):',
      ...targets.map((t) => `  docker build -f docker/Dockerfile --target ${t} .`),
      m.options.cacheMounts
        ? 'Cache mounts are on (cacheMounts option), so this file needs BuildKit (docker buildx build, docker compose build).'
        : 'Builds with the classic builder and with BuildKit alike: no syntax line and no RUN --mount.',
    ]),
  );
  out.push(`ARG BASE_IMAGE=${m.baseImage}`, '');

  out.push('FROM ${BASE_IMAGE} AS base', `WORKDIR ${m.paths.appDir}`);
  out.push('# tini is the init process: it forwards signals to node and reaps zombies.');
  out.push('RUN apt-get update \\', ' && apt-get install -y --no-install-recommends tini \\', ' && rm -rf /var/lib/apt/lists/*', '');

  out.push(`# Dependencies, installed exactly from ${pm.lockfile}; cached until ${m.installFromWholeContext ? 'the sources' : 'the manifests'} change.`);
  out.push('FROM base AS deps');
  if (pm.setup !== null) out.push(`RUN ${pm.setup}`);
  const manifests = pm.manifestFiles.filter((f) => f !== '.yarn/releases');
  out.push(m.installFromWholeContext ? 'COPY . .' : `COPY ${manifests.join(' ')} ./`);
  if (!m.installFromWholeContext && pm.manifestFiles.includes('.yarn/releases')) out.push('COPY .yarn/releases ./.yarn/releases');
  out.push(`RUN ${cache(m.build ? pm.installAll : pm.installProd)}`, '');

  if (m.build) {
    out.push('# The build step, then dev dependencies are removed.');
    out.push('FROM deps AS build');
    if (!m.installFromWholeContext) out.push('COPY . .');
    out.push(`RUN ${pm.runScript} ${m.build.script} \\`, ` && ${cache(pm.prune)}`, '');
  }

  out.push('FROM base AS runtime', `LABEL dev.spoolkit.app=${JSON.stringify(m.packageName)}`, 'ENV NODE_ENV=production');
  out.push(...wrap('The app runs as a non-root user (APP_UID/APP_GID, numeric so it works on any base image). The spool directory is created and handed to that user before USER, so a fresh named volume mounted over it starts out writable.').map((l) => `# ${l}`));
  out.push(`ARG APP_UID=${m.appUid}`, `ARG APP_GID=${m.appUid}`);
  out.push(
    'RUN { getent group "$APP_GID" >/dev/null || groupadd --gid "$APP_GID" app; } \\',
    ' && { getent passwd "$APP_UID" >/dev/null || useradd --uid "$APP_UID" --gid "$APP_GID" --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin app; } \\',
    ` && mkdir -p ${m.paths.spoolDir} \\`,
    ` && chown "$APP_UID:$APP_GID" ${m.paths.spoolDir}`,
  );
  out.push('# The app itself stays owned by root: the process can read it but not change it.');
  if (m.build) {
    out.push(`COPY --from=build ${m.paths.appDir} ${m.paths.appDir}`);
  } else if (m.installFromWholeContext) {
    out.push(`COPY --from=deps ${m.paths.appDir} ${m.paths.appDir}`);
  } else {
    out.push(`COPY --from=deps ${m.paths.appDir}/node_modules ${m.paths.appDir}/node_modules`, `COPY . ${m.paths.appDir}`);
  }
  out.push(
    `ENV SPOOLKIT_SPOOL=${m.paths.spoolDir} \\`,
    `    SPOOLKIT_SHUTDOWN_TIMEOUT_MS=${m.options.shutdownTimeoutMs} \\`,
    `    PORT=${m.options.port}`,
  );
  out.push('USER ${APP_UID}:${APP_GID}', 'STOPSIGNAL SIGTERM');
  out.push(...wrap(`node runs directly under tini (no npm, no shell), so SIGTERM reaches spoolkit. -s keeps tini reaping zombies when it is not PID 1, as under compose "init: true", where Docker's init (also tini) is PID 1 and forwards signals to it.`).map((l) => `# ${l}`));
  out.push(`ENTRYPOINT ${execForm(['/usr/bin/tini', '-s', '--', 'node', m.paths.binInImage, 'entrypoint'])}`);
  out.push('# One health check for every role; spoolkit health reads the spool and this container\'s heartbeat.');
  const startInterval = m.options.startInterval ? ' --start-interval=1s' : '';
  out.push(`HEALTHCHECK --interval=5s --timeout=10s --start-period=30s${startInterval} --retries=3 CMD ${execForm(['node', m.paths.binInImage, 'health'])}`);

  out.push('', '# The role comes from SPOOLKIT_ROLE; a command given to docker run is run as it is.');
  for (const target of targets) {
    out.push('', `FROM runtime AS ${target}`, `LABEL dev.spoolkit.role=${target}`, `ENV SPOOLKIT_ROLE=${target}`);
    if (target !== 'worker') out.push(`EXPOSE ${m.options.port}`);
  }
  return `${out.join('\n')}\n`;
}

/** The image targets, default last: `all` is the default where the topology is all. */
export function imageTargets(m: ProjectModel): readonly ('web' | 'worker' | 'all')[] {
  return m.topology.topology === 'all' ? ['worker', 'web', 'all'] : ['worker', 'web'];
}
