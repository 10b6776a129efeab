/** `.github/workflows/spoolkit.yml`: proves the container stack on every push. */
import type { ProjectModel } from '../model.js';
import { hashHeader, quote, wrap } from './header.js';

/** Renders the workflow. */
export function renderGithubWorkflow(m: ProjectModel): string {
  const out = [
    hashHeader(
      wrap(
        'Proves the container stack on every push: the generated files match the saved options, the compose file is valid, and ' +
          (m.ci.test !== null ? 'the tests pass (spoolkit/testing brings the stack up against real containers).' : 'the stack comes up healthy.'),
      ),
    ).trimEnd(),
    'name: spoolkit stack',
    'on:',
    '  push:',
    '  pull_request:',
    'jobs:',
    '  stack:',
    '    runs-on: ubuntu-latest',
    '    timeout-minutes: 30',
    '    steps:',
    '      - uses: actions/checkout@v4',
    '      - uses: actions/setup-node@v4',
    '        with:',
    `          node-version: ${quote(String(m.node.major))}`,
  ];
  for (const cmd of m.ci.setup) out.push(`      - run: ${quote(cmd)}`);
  out.push(`      - run: ${quote(m.ci.install)}`);
  out.push('      - name: Generated files match the saved options', `        run: ${quote(`node ${m.spoolkitBin} init --check`)}`);
  out.push('      - name: The compose file is valid', '        run: docker compose config --quiet');
  if (m.ci.test !== null) {
    out.push('      - name: Tests', `        run: ${quote(m.ci.test)}`);
  } else {
    out.push('      - name: The stack comes up healthy', '        run: docker compose up --wait --wait-timeout 180');
    out.push('      - name: Container logs', '        if: failure()', '        run: docker compose logs --no-color');
    out.push('      - name: Tear down', '        if: always()', '        run: docker compose down --volumes --rmi local');
  }
  return `${out.join('\n')}\n`;
}
