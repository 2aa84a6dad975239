import type { Client as QStashClient } from '@upstash/qstash';
import type { Redis } from '@upstash/redis/cloudflare';
import type { Database } from '../db/client';
import type { Env } from './env';
import type { Logger } from './lib/logger';

export interface Clock {
  now(): Date;
}
export const systemClock: Clock = { now: () => new Date() };

/** Per-request services, built once by the init middleware and read from `c.var.services`. */
export interface Services {
  db: Database;
  redis: Redis;
  qstash: QStashClient;
  logger: Logger;
  clock: Clock;
}

/** A signed-in operator, resolved by the operator-auth middleware. */
export interface Operator {
  userId: string;
  email: string | undefined;
  claims: { sub: string; role: 'authenticated' } & Record<string, unknown>;
  /** The tenant this request acts on (X-Tenant-Id, or the operator's first membership). */
  tenantId: string;
  role: 'owner' | 'admin' | 'agent';
  memberships: Array<{ tenantId: string; tenantName: string; role: 'owner' | 'admin' | 'agent' }>;
}

export type HonoEnv = {
  Bindings: Record<string, unknown>;
  Variables: {
    requestId: string;
    env: Env;
    services: Services;
    logger: Logger;
    operator: Operator;
  };
};
