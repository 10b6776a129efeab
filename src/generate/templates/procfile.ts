/** `Procfile`: one line per process type, each through the spoolkit entrypoint. */
import type { ProjectModel } from '../model.js';
import { hashHeader, wrap } from './header.js';

/**
 * Creates the spool the entrypoint will use: SPOOLKIT_SPOOL, else ./.spool (its default). A `file:`
 * URL (file:///srv/spool, file://localhost/srv/spool) loses its scheme first, so mkdir makes the
 * path the entrypoint reads rather than a ./file: tree; percent-escapes are not decoded here.
 */
export const CREATE_SPOOL = 'spool="${SPOOLKIT_SPOOL:-.spool}" && spool="${spool#file://localhost}" && mkdir -p "${spool#file://}"';

/** Renders the Procfile. */
export function renderProcfile(m: ProjectModel): string {
  const spoolNote = m.procfileCreatesSpool
    ? wrap(
        'Each line first creates the spool (SPOOLKIT_SPOOL, a path or a file:/// URL, else ./.spool), which no checkout holds, ' +
          'then execs node, so node itself receives SIGTERM.',
      )
    : [];
  const header = hashHeader([...wrap(`Topology: ${m.topology.reason}`), ...spoolNote]);
  // Procfile runners start each line with a shell; `exec` leaves node as the process that gets SIGTERM.
  const createSpool = m.procfileCreatesSpool ? `${CREATE_SPOOL} && exec ` : '';
  const lines = m.processes.map((p) => `${p.name}: ${createSpool}node ${m.spoolkitBin} entrypoint ${p.role}`);
  // The release phase runs once per deploy, before the new processes start.
  if (m.release !== null) lines.push(`release: ${m.release.join(' ')}`);
  return `${header}${lines.join('\n')}\n`;
}
