import type { Client as QStashClient } from '@upstash/qstash';
import type { Redis } from '@upstash/redis/cloudflare';
import type { Database, Membership } from '../db/client';
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
  /**
   * The business this request acts on (X-Tenant-Id, or the operator's first membership). With the
   * header, membership is checked when the operator is bound for the route's work, or by
   * `currentMembership` when a route needs the role first.
   */
  tenantId: string;
}

/** Someone who runs Switchboard itself, resolved by the platform-auth middleware (`/platform/*`). */
export interface PlatformOperator {
  userId: string;
  claims: Operator['claims'];
}

export type HonoEnv = {
  Bindings: Record<string, unknown>;
  Variables: {
    requestId: string;
    env: Env;
    services: Services;
    logger: Logger;
    operator: Operator;
    platformOperator: PlatformOperator;
    /** The operator's memberships, once read on this request (operator-auth). */
    memberships?: Membership[];
  };
};
