/** A private redis-server started on 127.0.0.1 for benchmarks and differential tests. */
export interface RedisServer {
  port: number;
  host: string;
  version: string;
  /** Its temporary working directory, removed by `stop()`. */
  dir: string;
  pid: number;
  /** Stops the server (SIGTERM, then SIGKILL after 5 s) and removes its directory. */
  stop(): Promise<void>;
}
/** Resolves a TCP port that was free a moment ago on 127.0.0.1. */
export function freePort(): Promise<number>;
/** Reads the version from `redis-server --version`. */
export function redisVersion(binary?: string): Promise<string>;
/** Starts redis-server on a free loopback port; rejects with the reason when it cannot. */
export function startRedis(opts?: { binary?: string; appendonly?: 'no' | 'everysec' | 'always'; timeoutMs?: number }): Promise<RedisServer>;
