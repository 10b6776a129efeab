// The classic builder's output read for the images a build made (see test/containers/images.test.ts
// for the removal itself, against a real engine).
import { describe, expect, it } from 'vitest';
import { CreatedImages } from '../../src/testing/build.js';

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
