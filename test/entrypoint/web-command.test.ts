import { afterEach, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { splitCommandLine } from '../../src/entrypoint/command-line.js';
import { resolveWebCommand, withPackageBins } from '../../src/entrypoint/web-command.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function app(files: Record<string, string>): string {
  const d = mkdtempSync(join(tmpdir(), 'spoolkit-web-'));
  dirs.push(d);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(d, name), text);
  return d;
}

describe('splitCommandLine', () => {
  const env = { PORT: '4000', EMPTY: '', ARGS: '--a --b', NAME: 'worker ' };
  it.each([
    ['node example/web.js', ['node', 'example/web.js']],
    ['  node   server.js  --port $PORT ', ['node', 'server.js', '--port', '4000']],
    ['node server.js --port ${PORT:-3000} --host ${HOST:-0.0.0.0}', ['node', 'server.js', '--port', '4000', '--host', '0.0.0.0']],
    [`node -e 'console.log("a b")'`, ['node', '-e', 'console.log("a b")']],
    ['node "my app.js" "x\\"y" "$PORT"', ['node', 'my app.js', 'x"y', '4000']],
    ['node a\\ b.js', ['node', 'a b.js']],
    ['node --title=${EMPTY:-web}', ['node', '--title=web']],
    ['node a.js $UNSET --flag', ['node', 'a.js', '--flag']],
    ['node a.js "$UNSET" \'\'', ['node', 'a.js', '', '']],
    // Every ${VAR<op>word} form a POSIX shell has, with and without ':'.
    ['node a.js ${PORT-3000} ${UNSET-3000} ${EMPTY-x} ${EMPTY:-x}', ['node', 'a.js', '4000', '3000', 'x']],
    ['node a.js ${UNSET:=5} ${UNSET} ${EMPTY=6} ${EMPTY:=7} $EMPTY', ['node', 'a.js', '5', '5', '7', '7']],
    ['node a.js ${PORT:+--port=$PORT} ${EMPTY+set} ${EMPTY:+x} ${UNSET+x}', ['node', 'a.js', '--port=4000', 'set']],
    ['node a.js ${PORT?} "${PORT:?needs a port}" ${UNSET:-${PORT}0}', ['node', 'a.js', '4000', '4000', '40000']],
    // A word-initial '#' starts a comment; inside a word or quoted it is a letter.
    ['node server.js --port ${PORT-3000} # serves the API', ['node', 'server.js', '--port', '4000']],
    ['node a#b.js "#x" \\#y', ['node', 'a#b.js', '#x', '#y']],
    // Unquoted expansions are split at blanks, quoted ones are not; a lone '$' is itself.
    ['node a.js $ARGS "$ARGS" x${ARGS}y', ['node', 'a.js', '--a', '--b', '--a --b', 'x--a', '--by']],
    ['node a.js "$" $ b$/', ['node', 'a.js', '$', '$', 'b$/']],
    // Comments are found before expansion: a '#' after an expansion that ended in a blank is text.
    ['node a.js --tag $NAME#1 # comment', ['node', 'a.js', '--tag', 'worker', '#1']],
    // A backslash-newline continues the line, outside quotes and inside double quotes.
    ['node server.js \\\n  --port 3000 "a\\\nb"', ['node', 'server.js', '--port', '3000', 'ab']],
  ])('splits %s', (line, argv) => {
    expect(splitCommandLine(line, env, 'test')).toEqual(argv);
  });

  it.each([
    ['node a.js && node b.js', /"&", which needs a shell/],
    ['node a.js | tee log', /"\|"/],
    ['node a.js > out.log', /">"/],
    ['node $(cat file)', /command substitution/],
    ['PORT=1 node a.js', /leading variable assignment/],
    ['node *.js', /glob/],
    ["node 'unterminated", /unterminated single quote/],
    ['   ', /is empty/],
    ['node a.js $1', /the shell parameter "\$1"/],
    ['node a.js --pid $$', /the shell parameter "\$\$"/],
    ['node a.js "$@"', /the shell parameter "\$@"/],
    ['node a.js $# $? $! $* $- $0', /the shell parameter/],
    ['node a.js ${#PORT}', /the expansion "\$\{#PORT\}"/],
    ['node a.js ${PORT%0} ${PORT/4/5} ${PORT:0:2} ${1}', /the expansion "\$\{PORT%0\}"/],
    ['node a.js ${UNSET:-$(date)}', /an expansion or quote inside/],
    ["node a.js ${UNSET:-'x'}", /an expansion or quote inside/],
    ['node a.js ${PORT', /unterminated "\$\{"/],
    ["node a.js $'x'", /the quoting "\$'...'"/],
    ['node a.js ${UNSET?the API needs UNSET}', /needs UNSET \("\$\{UNSET\?the API needs UNSET\}"\): the API needs UNSET\. Set UNSET/],
    ['node a.js ${EMPTY:?}', /needs EMPTY .*EMPTY is not set or empty\. Set EMPTY/],
  ])('refuses %s', (line, message) => {
    expect(() => splitCommandLine(line, env, 'the web: line')).toThrow(message);
  });

  it('lets ${VAR?} pass unset when only the syntax is checked (spoolkit init, before the deployment sets it)', () => {
    expect(splitCommandLine('node s.js --port ${PORT:?PORT must be set}', {}, 'init', { requireSet: false })).toEqual(['node', 's.js', '--port']);
    expect(() => splitCommandLine('node s.js --port ${PORT:?PORT must be set}', {}, 'the web: line')).toThrow(/PORT must be set/);
  });
});

describe('resolveWebCommand', () => {
  it('reads spoolkit.web from package.json first', () => {
    const dir = app({ 'package.json': JSON.stringify({ spoolkit: { web: 'node web.js' } }), Procfile: 'web: node other.js\n' });
    expect(resolveWebCommand(dir, {}).argv).toEqual(['node', 'web.js']);
  });

  it('accepts an argv array in package.json', () => {
    const dir = app({ 'package.json': JSON.stringify({ spoolkit: { web: ['node', 'my web.js'] } }) });
    expect(resolveWebCommand(dir, {}).argv).toEqual(['node', 'my web.js']);
  });

  it('falls back to the Procfile web: line', () => {
    const dir = app({ 'package.json': '{}', Procfile: 'release: node migrate.js\nweb: node server.js --port $PORT\nworker: spoolkit worker\n' });
    expect(resolveWebCommand(dir, { PORT: '5000' }).argv).toEqual(['node', 'server.js', '--port', '5000']);
  });

  it('refuses npm and other wrappers that swallow SIGTERM', () => {
    const dir = app({ 'package.json': JSON.stringify({ spoolkit: { web: 'npm run start' } }) });
    expect(() => resolveWebCommand(dir, {})).toThrow(/starts with npm, which does not pass SIGTERM on/);
  });

  it('refuses a web command that would start the entrypoint again', () => {
    const dir = app({ Procfile: 'web: npx-free spoolkit entrypoint web\n' });
    expect(() => resolveWebCommand(dir, {})).toThrow(/starts the spoolkit entrypoint again/);
  });

  it('names both places to fix when there is no web command', () => {
    const dir = app({ 'package.json': '{}' });
    expect(() => resolveWebCommand(dir, {})).toThrow(/add "spoolkit": \{ "web": "node server.js" \} to package.json .* or a "web: node server.js" line to the Procfile/);
  });
});

describe('withPackageBins', () => {
  it('puts the app\'s node_modules/.bin first, keeping the search path after it, also when PATH is unset', () => {
    const dir = app({});
    expect(withPackageBins({ PATH: '/usr/bin' }, dir)).toEqual({ PATH: '/usr/bin' });
    mkdirSync(join(dir, 'node_modules', '.bin'), { recursive: true });
    const bins = join(dir, 'node_modules', '.bin');
    expect(withPackageBins({ PATH: '/usr/local/bin:/usr/bin', X: '1' }, dir)).toEqual({ PATH: `${bins}:/usr/local/bin:/usr/bin`, X: '1' });
    // Unset or empty: the C library's default search path stays behind it, so `node` is still found.
    expect(withPackageBins({}, dir)).toEqual({ PATH: `${bins}:/usr/bin:/bin` });
    expect(withPackageBins({ PATH: '' }, dir)).toEqual({ PATH: `${bins}:/usr/bin:/bin` });
    // Already there: unchanged.
    expect(withPackageBins({ PATH: `${bins}:/bin` }, dir)).toEqual({ PATH: `${bins}:/bin` });
  });
});
