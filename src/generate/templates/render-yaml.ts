/** `render.yaml` (a Render Blueprint). */
import type { ProjectModel } from '../model.js';
import { hashHeader, quote, wrap } from './header.js';

/** Renders render.yaml. */
export function renderRenderYaml(m: ProjectModel): string {
  const out = [hashHeader(wrap(`Topology: ${m.topology.reason}`)).trimEnd(), 'services:'];
  for (const p of m.processes) {
    out.push(`  - type: ${p.http ? 'web' : 'worker'}`, `    name: ${quote(p.http ? m.appName : `${m.appName}-${p.name}`)}`);
    out.push('    runtime: docker', '    dockerfilePath: ./docker/Dockerfile', '    dockerContext: .');
    if (p.role !== 'all') out.push(`    dockerCommand: ${quote(p.role)}`);
    if (p.http && m.release !== null) out.push(`    preDeployCommand: ${quote(m.release.join(' '))}`);
    if (p.http && m.options.healthPath !== undefined) out.push(`    healthCheckPath: ${quote(m.options.healthPath)}`);
    if (p.runsJobs) out.push('    # Longer than SPOOLKIT_SHUTDOWN_TIMEOUT_MS, so running jobs finish before Render kills the instance.', `    maxShutdownDelaySeconds: ${m.stopGraceSeconds}`);
    out.push('    envVars:', '      - key: SPOOLKIT_ROLE', `        value: ${quote(p.role)}`);
    out.push('      - key: SPOOLKIT_SHUTDOWN_TIMEOUT_MS', `        value: ${quote(String(m.options.shutdownTimeoutMs))}`);
    out.push('    disk:', '      name: spool', `      mountPath: ${quote(m.paths.spoolDir)}`, '      sizeGB: 1');
  }
  return `${out.join('\n')}\n`;
}
