// The classic builder's output read for the images a build made (see test/containers/images.test.ts
// for the removal itself, against a real engine).
import { describe, expect, it } from 'vitest';
import { CreatedImages, StepOutput } from '../../src/testing/build.js';
import { withoutTerminalCodes } from '../../src/testing/terminal.js';

describe('CreatedImages', () => {
  it('notes the images of steps that ran, not cached steps or FROM', () => {
    const c = new CreatedImages();
    for (const line of [
      'Step 1/5 : FROM node:20-bookworm-slim AS base',
      ' ---> afc27ea1ba3b',
      'Step 2/5 : RUN apt-get update',
      ' ---> Using cache',
      ' ---> 1111111111aa',
      'Step 3/5 : COPY app.mjs ./',
      ' ---> 2222222222bb',
      'Step 4/5 : RUN echo hi',
      ' ---> Running in 3333333333cc',
      'hi',
      'Removing intermediate container 3333333333cc',
      ' ---> 4444444444dd',
      'Step 5/5 : FROM base AS web',
      ' ---> 4444444444dd',
      'Successfully built 4444444444dd',
    ]) c.line(line);
    expect(c.ids).toEqual(['2222222222bb', '4444444444dd']);
  });
});

describe('StepOutput', () => {
  const npmFailure = (): string[] => [
    'Step 7/20 : RUN npm ci',
    ' ---> Running in 0123456789ab',
    ...Array.from({ length: 19 }, (_, i) => `npm notice line ${i}`),
    '\x1b[91mnpm error `npm ci` can only install packages when your package.json and package-lock.json are in sync.\x1b[0m',
    ...Array.from({ length: 100 }, (_, i) => `npm error   --flag-${i} usage text`.replace('error', 'help')),
  ];

  it('keeps the failed step only, and its cause when the step printed more than fits', () => {
    const s = new StepOutput();
    for (const l of ['Step 6/20 : COPY . .', ' ---> 2222222222bb', 'earlier output', ...npmFailure()]) s.line(l);
    const text = s.excerpt();
    expect(text.split('\n')[0]).toBe('Step 7/20 : RUN npm ci');
    expect(text).toContain('npm error `npm ci` can only install packages when your package.json and package-lock.json are in sync.');
    expect(text).not.toContain('earlier output');
    expect(text).not.toContain('\x1b');
    expect(text).toContain('--flag-99');
    expect(text.split('\n').length).toBeLessThanOrEqual(60);
  });

  it('keeps a short step whole', () => {
    const s = new StepOutput();
    for (const l of ['Step 3/5 : RUN exit 3', ' ---> Running in 3333333333cc', 'the broken step']) s.line(l);
    expect(s.excerpt()).toBe('Step 3/5 : RUN exit 3\n ---> Running in 3333333333cc\nthe broken step');
  });
});

describe('withoutTerminalCodes', () => {
  it('drops colours and line erasers', () => {
    expect(withoutTerminalCodes('\x1b[2Kweb-1  | up\n\x1b[91merr\x1b[0m')).toBe('web-1  | up\nerr');
  });
});
