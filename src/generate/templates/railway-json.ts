/** `railway.json` (Railway config as code). JSON allows no comments, so nothing explains itself here. */
import type { ProjectModel } from '../model.js';

/** Renders railway.json. */
export function renderRailwayJson(m: ProjectModel): string {
  const deploy: Record<string, unknown> = {};
  const role = m.processes[0]?.role ?? 'all';
  // Railway runs the last image target (all); a start command would replace the entrypoint.
  if (m.topology.topology !== 'all') deploy.startCommand = `/usr/bin/tini -s -- node ${m.paths.binInImage} entrypoint ${role}`;
  if (m.options.healthPath !== undefined) deploy.healthcheckPath = m.options.healthPath;
  deploy.numReplicas = 1;
  deploy.drainingSeconds = m.stopGraceSeconds;
  deploy.restartPolicyType = 'ON_FAILURE';
  deploy.restartPolicyMaxRetries = 10;
  const doc = {
    $schema: 'https://railway.com/railway.schema.json',
    build: { builder: 'DOCKERFILE', dockerfilePath: 'docker/Dockerfile' },
    deploy,
  };
  return `${JSON.stringify(doc, null, 2)}\n`;
}
