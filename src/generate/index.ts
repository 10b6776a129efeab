/**
 * The generator behind `spoolkit init`: detects how an app is built and run, then writes its
 * Dockerfile, compose.yaml, Procfile, .dockerignore and platform manifests.
 */
export { runInit, generate } from './init.js';
export type { InitMode, InitResult, RunInitOptions } from './init.js';
export { createModel, appNameOf } from './model.js';
export type { InitRequest, ProcessModel, ProjectModel, Role } from './model.js';
export { readProject, snapshotFromFiles } from './project.js';
export type { ProjectSnapshot } from './project.js';
export { renderFiles } from './render.js';
export type { GeneratedFile } from './render.js';
export { planFiles, applyPlan } from './write.js';
export type { FileStatus, FileToWrite, PlannedFile } from './write.js';
export { unifiedDiff } from './diff.js';
export { PLATFORMS, parseInitOptions, resolveInitOptions } from './options.js';
export type { InitOptions, Platform, ResolvedInitOptions, SchedulerMode, Topology } from './options.js';
export { PLATFORM_INFO, chooseTopology } from './platforms.js';
export type { PlatformInfo, TopologyChoice } from './platforms.js';
