/**
 * Labels spoolkit reads on images and containers. The generated Dockerfile puts
 * {@link SPOOLKIT_APP_LABEL} on the image (containers inherit it), so `spoolkit ps` can find
 * every container started from a spoolkit image; compose services may add {@link SPOOLKIT_ROLE_LABEL}.
 */

/** Image label naming the app (its package name); marks an image as built for spoolkit. */
export const SPOOLKIT_APP_LABEL = 'dev.spoolkit.app';

/** Container label naming the role a container runs (web, worker, all, scheduler). */
export const SPOOLKIT_ROLE_LABEL = 'dev.spoolkit.role';

/** The compose project a container belongs to (set by Docker Compose). */
export const COMPOSE_PROJECT_LABEL = 'com.docker.compose.project';

/** The compose service a container belongs to (set by Docker Compose). */
export const COMPOSE_SERVICE_LABEL = 'com.docker.compose.service';

/** The replica number of a compose service's container (set by Docker Compose). */
export const COMPOSE_NUMBER_LABEL = 'com.docker.compose.container-number';

/** Roles the spoolkit entrypoint knows; anything else is a pass-through command. */
export const KNOWN_ROLES: readonly string[] = ['web', 'worker', 'all', 'scheduler', 'health'];
