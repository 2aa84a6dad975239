import { sql } from 'drizzle-orm';
import {
  doublePrecision,
  index,
  integer,
  jsonb,
  pgEnum,
  pgPolicy,
  pgTable,
  text,
  uuid,
} from 'drizzle-orm/pg-core';
import { at, parentRef } from './columns';
import { conversations, messages } from './conversations';
import { authenticatedRole, workerRole } from './roles';
import { tenants, tenantTable } from './tenants';

export const webhookOutcome = pgEnum('webhook_outcome', ['received', 'processed', 'dead']);

/**
 * Every webhook body Meta sent us, raw, with what became of it. Bodies arrive before their tenant
 * is known, so rows are written through the `app.record_webhook_event` / `app.settle_webhook_event`
 * functions (see migrations), and `tenant_id` is null when no channel account matched.
 */
export const webhookEvents = pgTable(
  'webhook_events',
  {
    id: uuid('id').primaryKey(),
    tenantId: uuid('tenant_id').references(() => tenants.id, { onDelete: 'cascade' }),
    provider: text('provider').notNull().default('meta'),
    object: text('object'),
    rawBody: text('raw_body').notNull(),
    outcome: webhookOutcome('outcome').notNull().default('received'),
    reason: text('reason'),
    attempts: integer('attempts').notNull().default(0),
    /**
     * A body kept `received` (its processing failed) that was signed with channel accounts' own app
     * secret: those accounts, the only ones its replay may write to. Null: Meta's app secret.
     */
    signedFor: uuid('signed_for').array(),
    receivedAt: at('received_at').notNull().defaultNow(),
    processedAt: at('processed_at'),
  },
  (t) => [
    index('webhook_events_outcome').on(t.outcome, t.receivedAt),
    // Operators see their tenant's events (replay is an admin action, checked in the handler).
    pgPolicy('webhook_events: members read', {
      for: 'select',
      to: authenticatedRole,
      using: sql`${t.tenantId} is not null and ${t.tenantId} in (select app.member_tenant_ids())`,
    }),
    // Platform operators see the bodies no business owns (db/schema/platform.ts).
    pgPolicy('webhook_events: platform operators read unattributed', {
      for: 'select',
      to: authenticatedRole,
      using: sql`${t.tenantId} is null and exists (select 1 from public.platform_operators p where p.user_id = auth.uid())`,
    }),
    pgPolicy('webhook_events: worker of tenant', {
      for: 'all',
      to: workerRole,
      using: sql`${t.tenantId} = app.current_tenant_id()`,
      withCheck: sql`${t.tenantId} = app.current_tenant_id()`,
    }),
  ],
).enableRLS();

export const agentOutcome = pgEnum('agent_outcome', [
  'running',
  'replied',
  'superseded',
  'locked',
  'handed_off',
  'failed',
]);

export type AgentStep = {
  text?: string;
  toolCalls?: Array<{ toolName: string; input: unknown }>;
  /** `latencyMs`: the tool's own execution time. */
  toolResults?: Array<{ toolName: string; output: unknown; latencyMs?: number }>;
  /** The model that answered this step, as the provider named it. */
  model?: string;
  /** The whole step (the model's answer and its tools); `modelMs`: the model's answer alone. */
  latencyMs?: number;
  modelMs?: number;
  /** This step's tokens, as the provider reported them (cached: input read from its cache). */
  usage?: { inputTokens?: number; outputTokens?: number; cachedInputTokens?: number };
  /**
   * What this step's model call cost in US dollars, fixed when the run finished at the business's
   * prices then (db/agent.ts finishRun); absent: not known (an unpriced model, an older run).
   */
  costUsd?: number;
};

/** One agent turn, recorded whatever its outcome, so an operator can see why the AI said what it said. */
export const agentRuns = tenantTable(
  'agent_runs',
  'read-only',
  {
    conversationId: parentRef('conversation_id', () => conversations.id),
    correlationId: text('correlation_id').notNull().unique(),
    triggerMessageId: uuid('trigger_message_id').references(() => messages.id, {
      onDelete: 'set null',
    }),
    model: text('model').notNull(),
    steps: jsonb('steps').$type<AgentStep[]>().notNull().default([]),
    usage: jsonb('usage').$type<Record<string, number | undefined>>().notNull().default({}),
    latencyMs: integer('latency_ms'),
    /** What its model calls cost at the business's prices when it finished (its steps' sum); null: not known. */
    costUsd: doublePrecision('cost_usd'),
    outcome: agentOutcome('outcome').notNull().default('running'),
    error: text('error'),
    startedAt: at('started_at').notNull().defaultNow(),
    finishedAt: at('finished_at'),
  },
  (t) => [
    // A turn answers the messages that arrived since the conversation's last finished run
    // started (db/agent.ts openTurn): that maximum is an index probe.
    index('agent_runs_conversation_started').on(t.conversationId, t.startedAt),
    // A business's runs by time: the list of runs, and this month's spend (db/agent.ts).
    index('agent_runs_tenant_started').on(t.tenantId, t.startedAt),
  ],
);
