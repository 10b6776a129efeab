/** Lays the model out as files: pure, deterministic, no I/O. */
import type { ProjectModel } from './model.js';
import { renderAppJson } from './templates/app-json.js';
import { renderCompose } from './templates/compose.js';
import { renderDockerfile } from './templates/dockerfile.js';
import { renderDockerignore } from './templates/dockerignore.js';
import { renderFlyToml } from './templates/fly.js';
import { renderGithubWorkflow } from './templates/github-workflow.js';
import { renderProcfile } from './templates/procfile.js';
import { renderRailwayJson } from './templates/railway-json.js';
import { renderRenderYaml } from './templates/render-yaml.js';
import { renderSystemdUnits } from './templates/systemd.js';

/** A file the generator writes, relative to the app root. */
export interface GeneratedFile {
  readonly path: string;
  readonly content: string;
}

/** Every file for this model, in a stable order. */
export function renderFiles(m: ProjectModel): GeneratedFile[] {
  const files: GeneratedFile[] = [
    { path: 'docker/Dockerfile', content: renderDockerfile(m) },
    { path: '.dockerignore', content: renderDockerignore(m) },
    { path: 'compose.yaml', content: renderCompose(m) },
    { path: 'Procfile', content: renderProcfile(m) },
  ];
  switch (m.platform.name) {
    case 'compose':
    case 'vps':
      break;
    case 'dokku':
    case 'heroku':
      files.push({ path: 'app.json', content: renderAppJson(m) });
      break;
    case 'fly':
      files.push({ path: 'fly.toml', content: renderFlyToml(m) });
      break;
    case 'render':
      files.push({ path: 'render.yaml', content: renderRenderYaml(m) });
      break;
    case 'railway':
      files.push({ path: 'railway.json', content: renderRailwayJson(m) });
      break;
    default: {
      const never: never = m.platform.name;
      throw new Error(`no manifest for ${String(never)}`);
    }
  }
  if (m.options.systemd) files.push(...renderSystemdUnits(m));
  if (m.options.ci) files.push({ path: '.github/workflows/spoolkit.yml', content: renderGithubWorkflow(m) });
  return files;
}
