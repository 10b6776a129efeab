/** `compose.yaml`: one service per process, a shared named volume for the spool. */
import type { ProcessModel, ProjectModel } from '../model.js';
import { execForm, hashHeader, quote, wrap } from './header.js';

/** Renders compose.yaml. */
export function renderCompose(m: ProjectModel): string {
  const lines: string[] = [];
  const header = [
    '',
    ...wrap(`Topology: ${m.topology.reason}`),
    '',
    'docker compose up --wait                     build, start, wait until every container is healthy',
    ...(m.topology.topology === 'split' ? ['docker compose up --wait --scale worker=4     more workers'] : []),
    'docker compose stop                          running jobs finish (stop_grace_period), the rest wait',
    '',
    ...wrap("Each service has init: true, so Docker's init is PID 1; it forwards signals to the image's tini, which runs node directly."),
  ];
  lines.push(hashHeader(header).trimEnd());
  lines.push('services:');
  if (m.release !== null) lines.push(...releaseService(m), '');
  m.processes.forEach((p, i) => {
    if (i > 0) lines.push('');
    lines.push(...service(m, p));
  });
  lines.push('', 'volumes:', '  # The spool: every container mounts it, so a job written by one is seen by all.', '  spool: {}');
  return `${lines.join('\n')}\n`;
}

function service(m: ProjectModel, p: ProcessModel): string[] {
  const out = [`  ${p.name}:`];
  out.push('    build:', '      context: .', '      dockerfile: docker/Dockerfile', `      target: ${p.target}`);
  out.push('    init: true');
  out.push('    environment:', `      SPOOLKIT_ROLE: ${p.role}`, `      SPOOLKIT_SPOOL: ${m.paths.spoolDir}`);
  if (p.http) out.push(`      PORT: ${quote(String(m.options.port))}`);
  if (p.runsJobs) out.push(`      SPOOLKIT_SHUTDOWN_TIMEOUT_MS: ${quote(String(m.options.shutdownTimeoutMs))}`);
  if (p.http) out.push('    ports:', `      - ${quote(`\${SPOOLKIT_WEB_PORT:-${m.options.port}}:${m.options.port}`)}`);
  out.push('    volumes:', `      - spool:${m.paths.spoolDir}`);
  out.push('    healthcheck:', `      test: ${execForm(['CMD', 'node', m.paths.binInImage, 'health'])}`);
  out.push('      interval: 5s', '      timeout: 10s', '      retries: 3', '      start_period: 30s');
  if (m.options.startInterval) out.push('      start_interval: 1s');
  const deps = dependencies(m, p);
  if (deps.length > 0 || m.release !== null) {
    out.push('    depends_on:');
    if (m.release !== null) out.push('      release:', '        condition: service_completed_successfully');
    for (const d of deps) out.push(`      ${d}:`, '        condition: service_healthy');
  }
  if (p.replicas !== 1) out.push('    deploy:', `      replicas: ${p.replicas}`);
  if (p.runsJobs) {
    out.push(`    # Longer than SPOOLKIT_SHUTDOWN_TIMEOUT_MS, so running jobs finish before Docker kills the container.`);
    out.push(`    stop_grace_period: ${m.stopGraceSeconds}s`);
  }
  out.push('    restart: unless-stopped');
  if (m.options.harden) {
    out.push('    read_only: true', '    tmpfs:', '      - /tmp', '    cap_drop:', '      - ALL', '    security_opt:', '      - no-new-privileges:true');
  }
  return out;
}

/** The one-shot release command (migrations): it runs to completion before any other service starts. */
function releaseService(m: ProjectModel): string[] {
  const out = ['  # Runs once, to completion, before the other services start (a non-zero exit stops the deploy).', '  release:'];
  out.push('    build:', '      context: .', '      dockerfile: docker/Dockerfile', '      target: worker');
  out.push('    init: true', `    command: ${execForm(m.release ?? [])}`);
  out.push('    environment:', `      SPOOLKIT_SPOOL: ${m.paths.spoolDir}`);
  out.push('    volumes:', `      - spool:${m.paths.spoolDir}`);
  out.push('    healthcheck:', '      disable: true', '    restart: "no"');
  if (m.options.harden) {
    out.push('    read_only: true', '    tmpfs:', '      - /tmp', '    cap_drop:', '      - ALL', '    security_opt:', '      - no-new-privileges:true');
  }
  return out;
}

/** Web and scheduler wait for a healthy worker: jobs enqueued at start-up then run at once. */
function dependencies(m: ProjectModel, p: ProcessModel): string[] {
  if (p.role !== 'web' && p.role !== 'scheduler') return [];
  return m.processes.some((q) => q.role === 'worker' && q.replicas > 0) ? ['worker'] : [];
}
