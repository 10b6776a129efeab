/** `app.json`: Heroku's app manifest, which Dokku also reads for its process formation. */
import type { ProjectModel } from '../model.js';

/** Renders app.json. */
export function renderAppJson(m: ProjectModel): string {
  const formation: Record<string, { quantity: number }> = {};
  for (const p of m.processes) formation[p.name] = { quantity: p.replicas };
  const doc: Record<string, unknown> = { name: m.appName };
  if (m.description !== undefined) doc.description = m.description;
  doc.formation = formation;
  doc.env = {
    SPOOLKIT_SHUTDOWN_TIMEOUT_MS: {
      description: 'How long a stopping worker lets running jobs finish, in milliseconds; below the platform stop timeout.',
      value: String(m.options.shutdownTimeoutMs),
    },
  };
  if (m.platform.name === 'heroku') doc.buildpacks = [{ url: 'heroku/nodejs' }];
  return `${JSON.stringify(doc, null, 2)}\n`;
}
