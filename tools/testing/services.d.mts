export interface RunningService {
  url: string;
  port: number;
  stop(): Promise<void>;
}
export function missingService(name: 'redis' | 'postgres'): string | undefined;
export function serviceOrSkip(name: 'redis' | 'postgres'): boolean;
export interface RedisService extends RunningService {
  /** SIGKILL: Redis gone without a goodbye. */
  kill(): Promise<void>;
}
export function startRedis(): Promise<RedisService>;
export interface PostgresService extends RunningService {
  /** A fresh, empty database on this server; returns its URL. */
  createDatabase(): Promise<string>;
}
export function startPostgres(): Promise<PostgresService>;
