/** `docker/Dockerfile`: one multi-stage image with thin role targets. */
import type { ProjectModel } from '../model.js';
import { execForm, hashHeader, wrap } from './header.js';

/** Renders the Dockerfile. */
export function renderDockerfile(m: ProjectModel): string {
  const pm = m.packageManager;
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

  const inputs = m.installInputs;
  const app = m.paths.appDir;
  // A cache mount belongs right after RUN, before the whole command line.
  const run = (commands: readonly string[], cached: boolean): string[] => {
    const mount = cached && m.options.cacheMounts ? `--mount=type=cache,target=${pm.cacheDir} ` : '';
    return commands.map((c, i) => (i === 0 ? `RUN ${mount}${c}` : ` && ${c}`) + (i < commands.length - 1 ? ' \\' : ''));
  };
  const removeRegistryConfigs = inputs.registryConfigs.length > 0 ? [`rm -f ${inputs.registryConfigs.join(' ')}`] : [];
  const wholeContext = m.installFromWholeContext;
  // With a build, production dependencies are pruned in a stage of their own, which depends on the
  // manifests only: a source change then leaves the node_modules layer of the image as it was.
  const splitBuild = m.build !== null && !wholeContext;

  out.push(`# Dependencies, installed exactly from ${pm.lockfile}; cached until ${wholeContext ? 'the sources' : 'the manifests'} change.`);
  // Registry settings that read a variable (${NPM_TOKEN}) get it as a build argument in the stages
  // that install; the runtime stage never declares it.
  const registryArgs = inputs.registryArgs.map((name) => `ARG ${name}`);
  out.push('FROM base AS deps');
  if (registryArgs.length > 0) {
    const names = inputs.registryArgs.join(', ');
    out.push(
      ...wrap(
        `${inputs.registryConfigs.join(', ')} read${inputs.registryConfigs.length === 1 ? 's' : ''} ${names}: pass ${inputs.registryArgs.length === 1 ? 'it' : 'them'} with ` +
          `${inputs.registryArgs.map((n) => `--build-arg ${n}="$${n}"`).join(' ')} (docker build, docker compose build). ` +
          "A build argument shows in the history of the stages that declare it, never in the runtime stage's; a BuildKit secret (docker build --secret, mounted by the RUN instead) is the alternative that leaves none.",
      ).map((l) => `# ${l}`),
      ...registryArgs,
    );
  }
  if (pm.setup !== null) out.push(`RUN ${pm.setup}`);
  if (wholeContext) {
    out.push('COPY . .');
  } else {
    out.push(`COPY ${pm.manifestFiles.filter((f) => f !== '.yarn/releases').join(' ')} ./`);
    const dirs = [...(pm.manifestFiles.includes('.yarn/releases') ? ['.yarn/releases'] : []), ...inputs.copy];
    if (inputs.copy.length > 0) out.push('# The install reads these too (local packages, patches, plugins).');
    for (const path of dirs) out.push(`COPY ${path} ./${path}`);
  }
  if (inputs.wholeContextReasons.length > 0) {
    out.push(...wrap(`The whole context is copied first: ${inputs.wholeContextReasons.join('; ')}.`).map((l) => `# ${l}`));
  }
  if (inputs.skippedScripts.length > 0) {
    out.push(
      ...wrap(`package.json's ${inputs.skippedScripts.join(', ')} script is a development or publish hook (such as husky, or an old-style prepublish build) that every install would run; the image deletes it first, and the build script builds what the image needs.`).map(
        (l) => `# ${l}`,
      ),
    );
  }
  const skipPrepare = inputs.skippedScripts.length > 0 ? [`npm pkg delete ${inputs.skippedScripts.map((n) => `scripts.${n}`).join(' ')}`] : [];
  const install = m.build ? pm.installAll : pm.installProd;
  // Registry settings (.npmrc may hold a token) stay out of what the runtime stage copies.
  const cleanDeps = wholeContext && !m.build ? removeRegistryConfigs : [];
  out.push(...run([...skipPrepare, install, ...cleanDeps], true), '');

  if (splitBuild) {
    out.push('# Production dependencies only, for the runtime image.');
    out.push('FROM deps AS prod-deps', ...registryArgs);
    out.push(...run([pm.prune], true), '');
    out.push(...wrap('The build step. node_modules is removed afterwards: the runtime copies the pruned one from prod-deps, so what the build writes inside node_modules does not ship.').map((l) => `# ${l}`));
    out.push('FROM deps AS build', 'COPY . .');
    out.push(...run([`${pm.runScript} ${m.build?.script ?? 'build'}`, 'rm -rf node_modules', ...removeRegistryConfigs], false), '');
  } else if (m.build) {
    out.push('# The build step, then dev dependencies are removed.');
    out.push('FROM deps AS build', ...registryArgs);
    out.push(...run([`${pm.runScript} ${m.build.script}`, pm.prune, ...removeRegistryConfigs], true), '');
  } else if (!wholeContext && removeRegistryConfigs.length > 0) {
    out.push(`# The app's files without the registry settings (${inputs.registryConfigs.join(', ')} may hold a token).`);
    out.push('FROM base AS source', 'COPY . .');
    out.push(...run(removeRegistryConfigs, false), '');
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
  if (splitBuild) {
    out.push('# node_modules first, in a layer of its own that changes only with the manifests.');
    out.push(`COPY --from=prod-deps ${app}/node_modules ${app}/node_modules`, `COPY --from=build ${app} ${app}`);
  } else if (m.build) {
    out.push(`COPY --from=build ${app} ${app}`);
  } else if (wholeContext) {
    out.push(`COPY --from=deps ${app} ${app}`);
  } else {
    out.push(`COPY --from=deps ${app}/node_modules ${app}/node_modules`, removeRegistryConfigs.length > 0 ? `COPY --from=source ${app} ${app}` : `COPY . ${app}`);
  }
  out.push(
    ...wrap(
      `SPOOLKIT_SHUTDOWN_TIMEOUT_MS is left to where the stop timeout is set (compose.yaml, platform manifests): a plain docker stop kills after 10 s, and the runtime default (8 s) fits in it. node_modules/.bin is on PATH, so a web or release command may name a package's program (next start, prisma migrate deploy); it is still exec'd directly.`,
    ).map((l) => `# ${l}`),
  );
  out.push(`ENV SPOOLKIT_SPOOL=${m.paths.spoolDir} \\`, `    PORT=${m.options.port} \\`, `    PATH=${app}/node_modules/.bin:$PATH`);
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
