// Several nodes, one chat: what the nodes share through Redis. Broadcasts and
// notices go through socket.io's Redis adapter; throttles through
// rate-limiter-flexible's Redis limiters; presence through a few atomic Lua
// scripts below. Accounts, sessions, history and the one seq order live in
// the shared PostgreSQL database (--database-url), not here.
import { randomBytes } from 'node:crypto';
import type { LimiterFactory } from '@enigma/auth-store';
import type { PresenceRegistry } from '@enigma/relay';
import { createAdapter } from '@socket.io/redis-adapter';
import { Redis } from 'ioredis';
import { RateLimiterRedis } from 'rate-limiter-flexible';
import type { Logger } from './logger.js';

const PREFIX = 'enigma:';
/** A node that has not renewed its heartbeat for this long is dead; its users are taken offline. */
const HEARTBEAT_TTL_MS = 10_000;
const HEARTBEAT_EVERY_MS = 3_000;

// KEYS[1] this node's set of users, KEYS[2] users -> number of nodes they are on.
const ARRIVE = `
if redis.call('SADD', KEYS[1], ARGV[1]) == 1 then
  if redis.call('HINCRBY', KEYS[2], ARGV[1], 1) == 1 then return 1 end
end
return 0`;
const DEPART = `
if redis.call('SREM', KEYS[1], ARGV[1]) == 1 then
  if redis.call('HINCRBY', KEYS[2], ARGV[1], -1) <= 0 then
    redis.call('HDEL', KEYS[2], ARGV[1])
    return 1
  end
end
return 0`;
// KEYS[1] the set of node ids, KEYS[2] the users hash; ARGV[1] the key prefix.
// Takes every node whose heartbeat expired out of the picture, atomically, so
// exactly one surviving node learns (and announces) who went offline with it.
const REAP = `
local gone = {}
for _, id in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  if redis.call('EXISTS', ARGV[1] .. 'alive:' .. id) == 0 then
    local members = ARGV[1] .. 'node:' .. id
    for _, user in ipairs(redis.call('SMEMBERS', members)) do
      if redis.call('HINCRBY', KEYS[2], user, -1) <= 0 then
        redis.call('HDEL', KEYS[2], user)
        table.insert(gone, user)
      end
    end
    redis.call('DEL', members)
    redis.call('SREM', KEYS[1], id)
  end
end
return gone`;

/** Presence shared by every node on one Redis. */
export class RedisPresence implements PresenceRegistry {
  readonly #listeners: Array<(usernames: string[]) => void> = [];
  readonly #timer: NodeJS.Timeout;
  readonly #members: string;

  public constructor(
    private readonly redis: Redis,
    public readonly nodeId: string,
    private readonly log: Logger,
  ) {
    this.#members = `${PREFIX}node:${nodeId}`;
    this.#timer = setInterval(() => void this.beat(), HEARTBEAT_EVERY_MS);
    this.#timer.unref();
  }

  /** Registers this node and takes dead nodes' users offline. */
  public async beat(): Promise<void> {
    try {
      await this.redis.multi().set(`${PREFIX}alive:${this.nodeId}`, '1', 'PX', HEARTBEAT_TTL_MS).sadd(`${PREFIX}nodes`, this.nodeId).exec();
      const gone = (await this.redis.eval(REAP, 2, `${PREFIX}nodes`, `${PREFIX}users`, PREFIX)) as string[];
      if (gone.length > 0) {
        this.log.info({ users: gone.length }, 'users of a dead node taken offline');
        for (const listener of this.#listeners) listener(gone);
      }
    } catch (error) {
      this.log.warn({ err: error }, 'presence heartbeat failed');
    }
  }

  public async arrive(username: string): Promise<boolean> {
    return (await this.redis.eval(ARRIVE, 2, this.#members, `${PREFIX}users`, username)) === 1;
  }

  public async depart(username: string): Promise<boolean> {
    return (await this.redis.eval(DEPART, 2, this.#members, `${PREFIX}users`, username)) === 1;
  }

  public async online(): Promise<string[]> {
    return (await this.redis.hkeys(`${PREFIX}users`)).sort();
  }

  public onVanished(listener: (usernames: string[]) => void): void {
    this.#listeners.push(listener);
  }

  /** How many nodes are alive right now. */
  public async nodes(): Promise<number> {
    const ids = await this.redis.smembers(`${PREFIX}nodes`);
    const alive = await Promise.all(ids.map((id) => this.redis.exists(`${PREFIX}alive:${id}`)));
    return alive.filter((exists) => exists === 1).length;
  }

  /** A clean exit: this node's users have departed already; forget the node now rather than at its TTL. */
  public async leave(): Promise<void> {
    clearInterval(this.#timer);
    await this.redis.del(`${PREFIX}alive:${this.nodeId}`);
    await this.redis.eval(REAP, 2, `${PREFIX}nodes`, `${PREFIX}users`, PREFIX);
  }
}

/**
 * ioredis with a handler on every command's promise. socket.io's Redis
 * adapter sends commands without waiting for them (PUBLISH on every
 * broadcast, UNSUBSCRIBE on close); while Redis is down they fail after
 * `maxRetriesPerRequest` reconnection attempts, and an unobserved rejection
 * ends the process (socketio/socket.io-redis-adapter#513, the same in its
 * emitter #139). Whoever waits for a command still gets its error; the
 * connection errors themselves are logged (`redis connection error`).
 */
class TolerantRedis extends Redis {
  public override sendCommand(...args: Parameters<Redis['sendCommand']>): unknown {
    const result = super.sendCommand(...args);
    if (result instanceof Promise) result.catch(() => undefined);
    return result;
  }
}

export interface Cluster {
  nodeId: string;
  adapter: ReturnType<typeof createAdapter>;
  limiters: LimiterFactory;
  presence: RedisPresence;
  /** Resolves when both connections are up and Redis answers PING; rejects at once while either is down (for /readyz). */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** Connects to Redis (failing fast with a clear error when it is not there). */
export async function joinCluster(redisUrl: string, log: Logger): Promise<Cluster> {
  const connect = async (): Promise<Redis> => {
    const client = new TolerantRedis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 3, enableOfflineQueue: true });
    let lastError: Error | undefined;
    client.on('error', (error: Error) => {
      lastError = error;
      log.warn({ err: error }, 'redis connection error');
    });
    try {
      await client.connect();
    } catch (error) {
      client.disconnect();
      // The socket's error (ECONNREFUSED...) says more than ioredis' "Connection is closed".
      throw new Error(`cannot reach Redis at ${new URL(redisUrl).host}: ${(lastError ?? (error as Error)).message}`, { cause: error });
    }
    return client;
  };
  const pub = await connect();
  const sub = await connect();
  const nodeId = randomBytes(6).toString('hex');
  const presence = new RedisPresence(pub, nodeId, log);
  await presence.beat();
  return {
    nodeId,
    adapter: createAdapter(pub, sub, { key: `${PREFIX}socket.io` }),
    limiters: (options) => new RateLimiterRedis({ storeClient: pub, ...options, keyPrefix: `${PREFIX}${options.keyPrefix}` }),
    presence,
    async ping() {
      // Not queued while disconnected: a probe wants "down" now, not a PING sent on reconnect.
      if (pub.status !== 'ready' || sub.status !== 'ready') throw new Error('not connected to Redis');
      await pub.ping();
    },
    async close() {
      await presence.leave().catch(() => undefined);
      pub.disconnect();
      sub.disconnect();
    },
  };
}
