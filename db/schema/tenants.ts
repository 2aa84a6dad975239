import { type BuildExtraConfigColumns, sql } from 'drizzle-orm';
import {
  boolean,
  check,
  doublePrecision,
  integer,
  jsonb,
  type PgColumnBuilderBase,
  type PgTableExtraConfigValue,
  pgEnum,
  pgPolicy,
  pgTable,
  primaryKey,
  text,
} from 'drizzle-orm/pg-core';
import { authUsers } from 'drizzle-orm/supabase';
import { createdAt, id, parentKey, parentRef, updatedAt } from './columns';
import { authenticatedRole, type OperatorAccess, tenantPolicies, workerRole } from './roles';

export const memberRole = pgEnum('member_role', ['owner', 'admin', 'agent']);
export const replyMode = pgEnum('reply_mode', ['auto', 'approval', 'off']);

export const tenants = pgTable(
  'tenants',
  {
    id: id(),
    name: text('name').notNull(),
    slug: text('slug').notNull().unique(),
    createdAt: createdAt(),
  },
  (t) => [
    pgPolicy('tenants: members read', {
      for: 'select',
      to: authenticatedRole,
      using: sql`${t.id} in (select app.member_tenant_ids())`,
    }),
    pgPolicy('tenants: owners rename', {
      for: 'update',
      to: authenticatedRole,
      using: sql`${t.id} in (select app.tenant_ids_with_role(array['owner']))`,
      withCheck: sql`${t.id} in (select app.tenant_ids_with_role(array['owner']))`,
    }),
    pgPolicy('tenants: worker of tenant', {
      for: 'select',
      to: workerRole,
      using: sql`${t.id} = app.current_tenant_id()`,
    }),
  ],
).enableRLS();

/** The owning tenant: every tenant-owned row has one, and goes when its tenant is deleted. */
export const tenantRef = () => parentRef('tenant_id', () => tenants.id);

/** The key of a one-row-per-tenant table: the tenant's id. */
export const tenantKey = () => parentKey('tenant_id', () => tenants.id);

const tenantOwned = () => ({ id: id(), tenantId: tenantRef() });

/**
 * A tenant-owned table: its own `id`, the owning tenant, then `columns`; row-level security on,
 * with the policies `tenantPolicies` declares for `operators` after the table's own `extras`.
 */
export function tenantTable<
  TName extends string,
  TColumns extends Record<string, PgColumnBuilderBase>,
>(
  name: TName,
  operators: OperatorAccess,
  columns: TColumns,
  extras: (
    t: BuildExtraConfigColumns<TName, ReturnType<typeof tenantOwned> & TColumns, 'pg'>,
  ) => PgTableExtraConfigValue[] = () => [],
) {
  return pgTable(name, { ...tenantOwned(), ...columns }, (t) => [
    ...extras(t),
    ...tenantPolicies(name, t.tenantId, operators),
  ]).enableRLS();
}

export const tenantMembers = pgTable(
  'tenant_members',
  {
    tenantId: tenantRef(),
    userId: parentRef('user_id', () => authUsers.id),
    role: memberRole('role').notNull().default('agent'),
    displayName: text('display_name'),
    createdAt: createdAt(),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.userId] }),
    pgPolicy('tenant_members: members read', {
      for: 'select',
      to: authenticatedRole,
      using: sql`${t.tenantId} in (select app.member_tenant_ids())`,
    }),
    // Only owners and admins manage the team; an agent cannot promote itself.
    pgPolicy('tenant_members: admins write', {
      for: 'all',
      to: authenticatedRole,
      using: sql`${t.tenantId} in (select app.tenant_ids_with_role(array['owner', 'admin']))`,
      withCheck: sql`${t.tenantId} in (select app.tenant_ids_with_role(array['owner', 'admin']))`,
    }),
    pgPolicy('tenant_members: worker of tenant', {
      for: 'select',
      to: workerRole,
      using: sql`${t.tenantId} = app.current_tenant_id()`,
    }),
  ],
).enableRLS();

/** Per-tenant behaviour of the agent and the send path; one row per tenant. */
export const tenantSettings = pgTable(
  'tenant_settings',
  {
    tenantId: tenantKey(),
    timeZone: text('time_zone').notNull().default('UTC'),
    businessDescription: text('business_description').notNull().default(''),
    persona: text('persona').notNull().default(''),
    agentInstructions: text('agent_instructions').notNull().default(''),
    businessHours: jsonb('business_hours').$type<BusinessHours>().notNull().default({}),
    debounceSeconds: integer('debounce_seconds').notNull().default(10),
    replyMode: replyMode('reply_mode').notNull().default('auto'),
    sendSpacingSeconds: integer('send_spacing_seconds').notNull().default(4),
    lockOnOperatorReply: boolean('lock_on_operator_reply').notNull().default(true),
    escalationContacts: jsonb('escalation_contacts')
      .$type<EscalationContact[]>()
      .notNull()
      .default([]),
    /** Appointment slots start this many minutes apart (core/appointments/availability.ts). */
    slotStepMinutes: integer('slot_step_minutes').notNull().default(15),
    /** No slot starts sooner than this after now: the business needs time to prepare. */
    minNoticeMinutes: integer('min_notice_minutes').notNull().default(120),
    /** No slot starts later than this many days after now. */
    maxHorizonDays: integer('max_horizon_days').notNull().default(60),
    /**
     * Appointment reminders go out this many minutes before the start (real minutes: a 24 h
     * reminder across a clock change is still 24 h before). Empty: no reminders.
     */
    reminderOffsetsMinutes: jsonb('reminder_offsets_minutes')
      .$type<number[]>()
      .notNull()
      .default([1440, 120]),
    /**
     * The follow-ups' frequency cap (docs/follow-ups.md): at most one follow-up per customer in
     * this many days.
     */
    followUpMinDaysApart: integer('follow_up_min_days_apart').notNull().default(7),
    /**
     * The AI's monthly budget in US dollars (docs/observability.md): the page warns when this
     * calendar month's runs (in the tenant's time zone) cost it; null: no budget.
     */
    aiMonthlyBudgetUsd: doublePrecision('ai_monthly_budget_usd'),
    /** With a budget spent: the agent hands conversations to a person instead of calling the model. */
    aiBudgetHardStop: boolean('ai_budget_hard_stop').notNull().default(false),
    /**
     * Exported traces (docs/observability.md, "Traces out") carry the conversation's text (the
     * customer's message, the replies, tool inputs and outputs) only when this is on.
     */
    traceMessageText: boolean('trace_message_text').notNull().default(false),
    /**
     * The business's own OTLP/HTTP traces endpoint, overriding the deployment's; null: the
     * deployment's, if any. Its headers (credentials) are in private.trace_export_headers; only
     * their names are here, for the page.
     */
    traceEndpoint: text('trace_endpoint'),
    traceHeaderNames: jsonb('trace_header_names').$type<string[]>().notNull().default([]),
    updatedAt: updatedAt(),
  },
  (t) => [
    check('tenant_settings_slot_step', sql`${t.slotStepMinutes} between 5 and 240`),
    check('tenant_settings_min_notice', sql`${t.minNoticeMinutes} between 0 and 43200`),
    check('tenant_settings_horizon', sql`${t.maxHorizonDays} between 1 and 366`),
    check('tenant_settings_follow_up_days', sql`${t.followUpMinDaysApart} between 1 and 90`),
    check(
      'tenant_settings_ai_budget',
      sql`${t.aiMonthlyBudgetUsd} is null or (${t.aiMonthlyBudgetUsd} > 0 and ${t.aiMonthlyBudgetUsd} <= 1000000)`,
    ),
    ...tenantPolicies('tenant_settings', t.tenantId, 'admins-write'),
  ],
).enableRLS();

/** `{ mon: [["09:00","18:00"]], … }` in the tenant's time zone. */
export type BusinessHours = Partial<
  Record<'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat' | 'sun', Array<[string, string]>>
>;
export type EscalationContact = { name: string; whatsapp?: string; email?: string };
