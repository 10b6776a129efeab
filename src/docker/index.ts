/**
 * Docker helpers used by `spoolkit ps` and the testing kit: engine connection, container rows with
 * health and backlog, and the labels spoolkit images carry.
 */
export { connectDocker, assertEngine, dockerError } from './client.js';
export type { ConnectDockerOptions } from './client.js';
export { listContainerRows, rowOf, roleOf, isSpoolkitContainer } from './containers.js';
export type { ContainerRow, ListContainerRowsOptions } from './containers.js';
export { parseHealthOutput, backlogFromHealthLog } from './health-report.js';
export type { HealthBacklog, HealthLogEntry } from './health-report.js';
export { formatRows, formatAge } from './format.js';
export * from './labels.js';
