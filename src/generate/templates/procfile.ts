/** `Procfile`: one line per process type, each through the spoolkit entrypoint. */
import type { ProjectModel } from '../model.js';
import { hashHeader, wrap } from './header.js';

/** Renders the Procfile. */
export function renderProcfile(m: ProjectModel): string {
  const header = hashHeader(wrap(`Topology: ${m.topology.reason}`));
  const lines = m.processes.map((p) => `${p.name}: node ${m.spoolkitBin} entrypoint ${p.role}`);
  // The release phase runs once per deploy, before the new processes start.
  if (m.release !== null) lines.push(`release: ${m.release.join(' ')}`);
  return `${header}${lines.join('\n')}\n`;
}
