import type { z } from 'zod';
import type { Services } from '../context';
import type { Env } from '../env';
import type { Logger } from '../lib/logger';

export type JobContext = {
  services: Services;
  env: Env;
  logger: Logger;
  tenantId: string;
  outboxId: string;
  /** 0 on the first delivery; QStash's `Upstash-Retried`. */
  retried: number;
  /** Hand work to the runtime after the response (Workers `waitUntil`). */
  waitUntil: (promise: Promise<unknown>) => void;
};

/**
 * - `done`: finished (or nothing to do: every handler is idempotent, QStash delivers at least once);
 * - `retry`: a transient failure, QStash retries with backoff (thrown errors mean the same);
 * - `dead`: a permanent failure, QStash must not retry (answered 489 + Upstash-NonRetryable-Error).
 */
export type JobOutcome = { status: 'done' | 'retry' | 'dead'; detail?: string };

export type JobHandler<S extends z.ZodType = z.ZodType> = {
  kind: string;
  payload: S;
  handle(ctx: JobContext, payload: z.infer<S>): Promise<JobOutcome>;
};

/** Declares a job kind; listed in functions/jobs/registry.ts to be routable. */
export function defineJob<S extends z.ZodType>(job: JobHandler<S>): JobHandler<S> {
  return job;
}
