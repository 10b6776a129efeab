/** `.dockerignore` at the build context root (the classic builder reads only that one). */
import type { ProjectModel } from '../model.js';
import { hashHeader } from './header.js';

/** Renders .dockerignore. */
export function renderDockerignore(m: ProjectModel): string {
  const out = [hashHeader(['', 'Secrets, dependencies (installed inside the image) and VCS data stay out of the build context.']).trimEnd()];
  out.push(...m.dockerignore.defaults);
  if (m.dockerignore.fromGitignore.length > 0) {
    out.push('', '# From .gitignore');
    out.push(...m.dockerignore.fromGitignore);
  }
  if (m.dockerignore.reinclude.length > 0) {
    out.push('', '# Read by the install, which copies them by name (registry settings never reach the runtime image)');
    out.push(...m.dockerignore.reinclude.map((p) => `!${p}`));
  }
  return `${out.join('\n')}\n`;
}
