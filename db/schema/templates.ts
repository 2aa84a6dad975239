import { jsonb, pgEnum, text, unique, uuid } from 'drizzle-orm/pg-core';
import { channel, channelAccounts } from './channels';
import { at, parentRef, timestamps } from './columns';
import { contacts } from './conversations';
import { tenantTable } from './tenants';

/** WhatsApp message templates, synced from Meta and kept current by status webhooks. */
export const templates = tenantTable(
  'templates',
  'read-write',
  {
    channelAccountId: parentRef('channel_account_id', () => channelAccounts.id),
    wabaId: text('waba_id').notNull(),
    providerTemplateId: text('provider_template_id').notNull(),
    name: text('name').notNull(),
    language: text('language').notNull(),
    /** APPROVED, PENDING, REJECTED, PAUSED, DISABLED, …: only APPROVED is sendable. */
    status: text('status').notNull(),
    category: text('category').notNull(),
    parameterFormat: text('parameter_format').notNull().default('POSITIONAL'),
    components: jsonb('components').$type<unknown[]>().notNull().default([]),
    statusReason: text('status_reason'),
    ...timestamps(),
  },
  (t) => [unique('templates_provider').on(t.tenantId, t.wabaId, t.name, t.language)],
);

export const optInAction = pgEnum('opt_in_action', ['opt_in', 'opt_out']);

/** The consent ledger: append-only, so who agreed to what, when and how can always be shown. */
export const optIns = tenantTable('opt_ins', 'append-only', {
  contactId: parentRef('contact_id', () => contacts.id),
  channel: channel('channel').notNull(),
  /** marketing | utility | all */
  scope: text('scope').notNull(),
  action: optInAction('action').notNull(),
  /** e.g. web_form, keyword, operator, import */
  source: text('source').notNull(),
  recordedByUserId: uuid('recorded_by_user_id'),
  note: text('note'),
  recordedAt: at('recorded_at').notNull().defaultNow(),
});
