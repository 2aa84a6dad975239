import { sql } from 'drizzle-orm';
import {
  check,
  doublePrecision,
  index,
  integer,
  jsonb,
  pgEnum,
  pgTable,
  text,
  unique,
  uuid,
} from 'drizzle-orm/pg-core';
import { privateSchema } from './channels';
import { at, createdAt, parentRef, timestamps, updatedAt } from './columns';
import { conversations, messages } from './conversations';
import { agentRuns } from './events';
import { tenantPolicies, workerOfTenant } from './roles';
import { tenantKey, tenantTable } from './tenants';

/**
 * The agent's model choice per tenant, readable by every member (the settings page shows it).
 * The API key itself is not here: it lives encrypted in private.agent_model_keys, which operators
 * cannot read at all; `api_key_hint` (last four characters) is what the page shows instead.
 * Only owners and admins may change it, also through Supabase's data API.
 */
export const agentSettings = pgTable(
  'agent_settings',
  {
    tenantId: tenantKey(),
    /** Overrides OPENAI_MODEL for this tenant; null = the deployment's default. */
    model: text('model'),
    apiKeyHint: text('api_key_hint'),
    updatedAt: updatedAt(),
  },
  (t) => [...tenantPolicies('agent_settings', t.tenantId, 'admins-write')],
).enableRLS();

/** A tenant's own OpenAI (or compatible) API key, `v1:<iv>:<ciphertext>` (functions/lib/crypto.ts). */
export const agentModelKeys = privateSchema
  .table(
    'agent_model_keys',
    {
      tenantId: tenantKey(),
      apiKey: text('api_key').notNull(),
      updatedAt: updatedAt(),
    },
    (t) => [workerOfTenant('agent_model_keys', t.tenantId)],
  )
  .enableRLS();

/**
 * A tenant's own price for a model, in US dollars per million tokens (docs/observability.md): it
 * overrides the list price of the same name in core/agent/prices.ts, or prices a model the list
 * lacks (a negotiated rate, another provider's model). A run's cost is fixed when it finishes, at
 * the prices of that moment, as an invoice is: a later change prices later runs.
 */
export const modelPrices = tenantTable(
  'model_prices',
  'admins-write',
  {
    /** A model id, or the prefix of its dated versions (`gpt-4.1-mini` prices `gpt-4.1-mini-2025-04-14`). */
    model: text('model').notNull(),
    inputUsdPerMillion: doublePrecision('input_usd_per_million').notNull(),
    cachedInputUsdPerMillion: doublePrecision('cached_input_usd_per_million').notNull(),
    outputUsdPerMillion: doublePrecision('output_usd_per_million').notNull(),
    ...timestamps(),
  },
  (t) => [
    unique('model_prices_tenant_model').on(t.tenantId, t.model),
    check(
      'model_prices_range',
      sql`${t.inputUsdPerMillion} between 0 and 10000 and ${t.cachedInputUsdPerMillion} between 0 and 10000 and ${t.outputUsdPerMillion} between 0 and 10000`,
    ),
  ],
);

/**
 * The headers sent with a business's own trace export (tenant_settings.trace_endpoint), e.g.
 * Langfuse's Basic authorization: a JSON object, encrypted (`v1:<iv>:<ciphertext>`,
 * functions/lib/crypto.ts). Write-only through the API, like the model key.
 */
export const traceExportHeaders = privateSchema
  .table(
    'trace_export_headers',
    {
      tenantId: tenantKey(),
      headers: text('headers').notNull(),
      updatedAt: updatedAt(),
    },
    (t) => [workerOfTenant('trace_export_headers', t.tenantId)],
  )
  .enableRLS();

export const draftStatus = pgEnum('draft_status', [
  'pending',
  'approved',
  'edited',
  'cancelled',
  /** A newer customer message made it moot before anyone decided: the newer turn answers. */
  'superseded',
]);
export type DraftStatus = (typeof draftStatus.enumValues)[number];

/**
 * Approval reply mode: what the agent would have sent, waiting for a person. Approving queues it
 * as the agent's message (same correlation id as the run); editing queues the corrected text;
 * cancelling sends nothing. `message` is an outbound message as core/messaging/kinds.ts
 * defines it (text, buttons, list).
 */
export const agentDrafts = tenantTable(
  'agent_drafts',
  'read-write',
  {
    conversationId: parentRef('conversation_id', () => conversations.id),
    runId: uuid('run_id').references(() => agentRuns.id, { onDelete: 'set null' }),
    correlationId: text('correlation_id').notNull(),
    /** Order of the draft among its run's replies. */
    position: integer('position').notNull().default(0),
    message: jsonb('message').$type<Record<string, unknown> & { type: string }>().notNull(),
    /** The text an operator reads (and edits): body of buttons/lists, the text itself otherwise. */
    preview: text('preview').notNull(),
    status: draftStatus('status').notNull().default('pending'),
    decidedByUserId: uuid('decided_by_user_id'),
    /** `operator_api`, or `whatsapp:<phone>` when an escalation contact used the buttons. */
    decidedVia: text('decided_via'),
    decidedAt: at('decided_at'),
    /** The escalation contact's conversation whose next text becomes the edited reply. */
    editRequestedInConversationId: uuid('edit_requested_in_conversation_id'),
    editRequestedAt: at('edit_requested_at'),
    sentMessageId: uuid('sent_message_id').references(() => messages.id, {
      onDelete: 'set null',
    }),
    ...timestamps(),
  },
  (t) => [
    index('agent_drafts_conversation').on(t.conversationId, t.status, t.createdAt),
    index('agent_drafts_tenant_status').on(t.tenantId, t.status, t.createdAt),
  ],
);

/**
 * What the agent made of a customer's voice note or image (a transcript, a description, or why it
 * could not), computed once before the first turn that sees the message and reused after.
 */
export const agentMediaNotes = tenantTable(
  'agent_media_notes',
  'read-only',
  {
    messageId: parentRef('message_id', () => messages.id),
    attachmentIndex: integer('attachment_index').notNull(),
    /** transcript | description | unavailable */
    kind: text('kind').notNull(),
    text: text('text').notNull(),
    error: text('error'),
    model: text('model'),
    createdAt: createdAt(),
  },
  (t) => [unique('agent_media_notes_attachment').on(t.messageId, t.attachmentIndex)],
);
