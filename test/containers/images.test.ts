// buildImages and its remove(): the engine's classic builder keeps every stage of a multi-stage
// build as an untagged image (about 500 MB for a generated app's build stage); the kit removes
// them with its tags, and after a failed build too, and never the base image.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { connectDocker } from '../../src/docker/index.js';
import { buildImages } from '../../src/testing/index.js';

const docker = connectDocker();
const BASE = 'node:20-bookworm-slim';
const dirs: string[] = [];

afterAll(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

/** An app whose every step is new (its run id is in a label and a file), with `extra` appended to its Dockerfile. */
function app(runId: string, extra = ''): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'spoolkit-images-'));
  dirs.push(dir);
  const dockerfile = [
    `FROM ${BASE} AS base`,
    'ARG RUN_ID',
    'LABEL dev.spoolkit.test.run=$RUN_ID',
    'RUN echo "$RUN_ID" > /id.txt',
    'FROM base AS build',
    'RUN cp /id.txt /built.txt',
    `FROM ${BASE} AS web`,
    'ARG RUN_ID',
    'LABEL dev.spoolkit.test.run=$RUN_ID',
    'COPY --from=build /built.txt /built.txt',
    'CMD ["node", "-e", "setInterval(() => {}, 1000)"]',
    'FROM web AS worker',
    'ENV ROLE=worker',
    extra,
  ].join('\n');
  fs.writeFileSync(path.join(dir, 'Dockerfile'), `${dockerfile}\n`);
  const build = (target: string): string => `{ context: ., dockerfile: Dockerfile, target: ${target}, args: { RUN_ID: "${runId}" } }`;
  fs.writeFileSync(path.join(dir, 'compose.yaml'), `services:\n  web:\n    build: ${build('web')}\n  worker:\n    build: ${build('worker')}\n`);
  return dir;
}

async function imagesOfRun(runId: string): Promise<string[]> {
  const list = await docker.listImages({ all: true, filters: { label: [`dev.spoolkit.test.run=${runId}`] } });
  return list.map((i) => i.Id);
}

describe('buildImages', () => {
  it('remove() deletes the tags and the untagged stage images the builds made, not the base image', async () => {
    const runId = randomUUID();
    const images = await buildImages({ appDir: app(runId), imageName: `spoolkit-test/images-${runId.slice(0, 8)}` });
    try {
      expect(Object.keys(images.services).sort()).toEqual(['web', 'worker']);
      // The tagged targets plus the stages `base` and `build`, which only the builder's cache names.
      const made = await imagesOfRun(runId);
      expect(made.length).toBeGreaterThan(2);
    } finally {
      await images.remove();
    }
    expect(await imagesOfRun(runId)).toEqual([]);
    for (const tag of images.tags) await expect(docker.getImage(tag).inspect()).rejects.toThrow();
    await expect(docker.getImage(BASE).inspect()).resolves.toBeTruthy();
  });

  it('two builds of one app (test files in parallel) have tags of their own: removing one leaves the other', async () => {
    const runId = randomUUID();
    const dir = app(runId);
    const a = await buildImages({ appDir: dir });
    const b = await buildImages({ appDir: dir });
    try {
      expect(a.tags.filter((t) => b.tags.includes(t))).toEqual([]);
      for (const t of [...a.tags, ...b.tags]) expect(t).toMatch(/^spoolkit-test\/spoolkit-images-[a-z0-9]+:(web|worker)-[0-9a-f]{8}$/);
      await a.remove();
      for (const t of b.tags) await expect(docker.getImage(t).inspect()).resolves.toBeTruthy();
    } finally {
      await a.remove();
      await b.remove();
    }
    expect(await imagesOfRun(runId)).toEqual([]);
  });

  it('a failed build leaves none of its images behind, nor the targets built before it', async () => {
    const runId = randomUUID();
    const dir = app(runId, 'RUN echo "the broken step" && exit 3');
    await expect(buildImages({ appDir: dir, imageName: `spoolkit-test/images-${runId.slice(0, 8)}` })).rejects.toMatchObject({
      code: 'ERR_DOCKER',
      message: expect.stringMatching(/target worker\) failed/),
    });
    expect(await imagesOfRun(runId)).toEqual([]);
    await expect(docker.getImage(BASE).inspect()).resolves.toBeTruthy();
  });
});
