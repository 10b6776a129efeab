/** `fly.toml` for Fly.io. */
import type { ProjectModel } from '../model.js';
import { imageTargets } from './dockerfile.js';
import { hashHeader, quote, wrap } from './header.js';

/** Renders fly.toml. */
export function renderFlyToml(m: ProjectModel): string {
  const out = [hashHeader(wrap(`Topology: ${m.topology.reason}`)).trimEnd()];
  const groups = m.processes.map((p) => p.name === 'web' ? { ...p, name: 'app' } : p);
  const httpGroup = groups.find((p) => p.http)?.name ?? 'app';
  out.push(`app = ${quote(m.appName)}`, 'kill_signal = "SIGTERM"', '# Longer than SPOOLKIT_SHUTDOWN_TIMEOUT_MS, so running jobs finish before Fly kills the Machine.', `kill_timeout = ${m.stopGraceSeconds}`);
  out.push('', '[build]', '  dockerfile = "docker/Dockerfile"', `  build-target = ${quote(imageTargets(m).at(-1) ?? 'web')}`);
  if (m.release !== null) out.push('', '[deploy]', `  release_command = ${quote(m.release.join(' '))}`);
  out.push('', '[env]', `  SPOOLKIT_SHUTDOWN_TIMEOUT_MS = ${quote(String(m.options.shutdownTimeoutMs))}`);
  out.push('', '[processes]');
  for (const g of groups) out.push(`  ${g.name} = ${quote(g.role)}`);
  out.push('', '[mounts]', '  source = "spool"', `  destination = ${quote(m.paths.spoolDir)}`, `  processes = [${groups.map((g) => quote(g.name)).join(', ')}]`);
  out.push('', '[http_service]', `  internal_port = ${m.options.port}`, '  force_https = true');
  out.push('  # A stopped Machine runs no jobs, so Machines stay up.', '  auto_stop_machines = "off"', '  auto_start_machines = true', '  min_machines_running = 1');
  out.push(`  processes = [${quote(httpGroup)}]`);
  if (m.options.healthPath !== undefined) {
    out.push('', '[[http_service.checks]]', '  grace_period = "30s"', '  interval = "15s"', '  method = "GET"', `  path = ${quote(m.options.healthPath)}`, '  timeout = "5s"');
  }
  return `${out.join('\n')}\n`;
}
