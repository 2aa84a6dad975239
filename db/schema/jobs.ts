import { sql } from 'drizzle-orm';
import { index, integer, jsonb, pgEnum, pgTable, text, unique, uuid } from 'drizzle-orm/pg-core';
import { at, createdAt } from './columns';
import { tenantPolicies } from './roles';
import { tenantRef } from './tenants';

export const outboxStatus = pgEnum('outbox_status', ['pending', 'published']);

/**
 * Transactional outbox for QStash jobs. A job is written in the same transaction as the change
 * that needs it (a stored message needs its agent turn), then published after commit. If QStash is
 * unreachable the row stays pending and the sweeper publishes it later: a 200 to Meta never
 * depends on QStash being up, and nothing is lost when it is down. The outbox id doubles as the
 * QStash deduplication id, so publishing twice delivers once.
 */
export const jobOutbox = pgTable(
  'job_outbox',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    tenantId: tenantRef(),
    kind: text('kind').notNull(),
    payload: jsonb('payload').$type<Record<string, unknown>>().notNull(),
    notBefore: at('not_before'),
    /** Optional business key: enqueueing the same key twice keeps one job. */
    dedupeKey: text('dedupe_key'),
    flowControlKey: text('flow_control_key'),
    flowControlParallelism: integer('flow_control_parallelism'),
    status: outboxStatus('status').notNull().default('pending'),
    attempts: integer('attempts').notNull().default(0),
    lastError: text('last_error'),
    providerMessageId: text('provider_message_id'),
    createdAt: createdAt(),
    publishedAt: at('published_at'),
  },
  (t) => [
    unique('job_outbox_dedupe').on(t.tenantId, t.dedupeKey),
    index('job_outbox_pending').on(t.status, t.createdAt),
    // A message's send jobs: whether a stuck send still has a live job (the sweeper).
    index('job_outbox_send_message')
      .on(t.tenantId, sql`(${t.payload}->>'messageId')`)
      .where(sql`${t.kind} = 'send'`),
    ...tenantPolicies('job_outbox', t.tenantId, 'append-only'),
  ],
).enableRLS();
