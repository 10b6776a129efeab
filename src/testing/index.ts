/**
 * `spoolkit/testing`: prove a spoolkit app's container stack in CI. Build the images through the
 * Docker engine, bring the compose stack up, wait until every container is healthy, talk to the
 * web URL and the spool, collect logs on failure, and tear everything down. See docs/testing.md.
 */
export { startStack, withStack, sweepStacks, removeProjectResources } from './stack.js';
export type { Stack, StartStackOptions } from './stack.js';
export { buildImages } from './images.js';
export type { BuildImagesOptions, StackImages } from './images.js';
export { buildImage, removeBuiltImages } from './build.js';
export type { BuildImageOptions, BuiltImage } from './build.js';
export { compose, composeConfig, writeOverride } from './compose.js';
export type { ComposeProject, ComposeRunOptions, ResolvedCompose, ResolvedService, ServiceOverride } from './compose.js';
export { execInContainer } from './exec.js';
export type { ExecOptions, ExecResult } from './exec.js';
export { createSpoolClient } from './spool-client.js';
export type { SpoolClient, SpoolJobView, ContainerPicker } from './spool-client.js';
export { waitFor } from './wait.js';
export type { WaitForOptions } from './wait.js';
export { contextFiles, dockerignoreFilter } from './dockerignore.js';
export { listContainerRows, parseHealthOutput } from '../docker/index.js';
export type { ContainerRow, HealthBacklog } from '../docker/index.js';
