// Saving init's settings edits only the "spoolkit" key of package.json: the rest of the file keeps
// the user's formatting (one-line arrays, key order, indentation, line endings).
import { describe, expect, it } from 'vitest';
import { mergeSavedSettings } from '../../src/generate/package-json.js';

const saved = { web: 'node server.js', processors: 'processors.js', init: {} };
const savedKey = { processors: 'processors.js', web: 'node server.js' };

describe('mergeSavedSettings', () => {
  it('adds the spoolkit key without reformatting anything else', () => {
    const text = '{\n  "name": "shop",\n  "files": ["dist", "src"],\n  "scripts": { "start": "node server.js" },\n  "dependencies": { "spoolkit": "^0.1.0" }\n}\n';
    const out = mergeSavedSettings(text, saved);
    expect(out).toBe(
      '{\n  "name": "shop",\n  "files": ["dist", "src"],\n  "scripts": { "start": "node server.js" },\n  "dependencies": { "spoolkit": "^0.1.0" },\n' +
        '  "spoolkit": {\n    "processors": "processors.js",\n    "web": "node server.js"\n  }\n}\n',
    );
    expect(mergeSavedSettings(out, saved)).toBe(out);
  });

  it('replaces an existing spoolkit key in place, keeping tabs, CRLF and tricky strings around it', () => {
    const text = '{\r\n\t"name": "a}\\"{",\r\n\t"spoolkit": {"processors": "old.js", "extra": [1, {"x": "]"}]},\r\n\t"keywords": ["a", "b"]\r\n}';
    const out = mergeSavedSettings(text, saved);
    expect(out).toBe('{\r\n\t"name": "a}\\"{",\r\n\t"spoolkit": {\r\n\t\t"processors": "processors.js",\r\n\t\t"extra": [\r\n\t\t\t1,\r\n\t\t\t{\r\n\t\t\t\t"x": "]"\r\n\t\t\t}\r\n\t\t],\r\n\t\t"web": "node server.js"\r\n\t},\r\n\t"keywords": ["a", "b"]\r\n}');
    expect(JSON.parse(out)).toEqual({ name: 'a}"{', spoolkit: { ...savedKey, extra: [1, { x: ']' }] }, keywords: ['a', 'b'] });
  });

  it('fills an empty object', () => {
    expect(JSON.parse(mergeSavedSettings('{}\n', saved))).toEqual({ spoolkit: savedKey });
  });
});
