import { eq, sql } from 'drizzle-orm';
import type { TenantContext } from './client';
import {
  agentModelKeys,
  agentSettings,
  type BusinessHours,
  type EscalationContact,
  tenantSettings,
} from './schema';

export type TenantSettings = {
  timeZone: string;
  businessDescription: string;
  persona: string;
  agentInstructions: string;
  businessHours: BusinessHours;
  debounceSeconds: number;
  replyMode: 'auto' | 'approval' | 'off';
  sendSpacingSeconds: number;
  lockOnOperatorReply: boolean;
  escalationContacts: EscalationContact[];
  slotStepMinutes: number;
  minNoticeMinutes: number;
  maxHorizonDays: number;
  reminderOffsetsMinutes: number[];
  /** The follow-ups' frequency cap: at most one per customer in this many days. */
  followUpMinDaysApart: number;
  /** The AI's monthly budget in US dollars; null: none. */
  aiMonthlyBudgetUsd: number | null;
  /** With the budget spent, the agent hands off instead of calling the model. */
  aiBudgetHardStop: boolean;
  /** Exported traces carry the conversation's text only when this is on. */
  traceMessageText: boolean;
  /** The business's own OTLP traces endpoint (null: the deployment's, if any). */
  traceEndpoint: string | null;
  /** The names of the headers sent with it (their values are write-only). */
  traceHeaderNames: string[];
  /** The tenant's model override (null: the deployment's OPENAI_MODEL). */
  model: string | null;
  /** Last characters of the tenant's own API key, when one is stored. */
  apiKeyHint: string | null;
  updatedAt: Date | null;
};

/**
 * The tenant's IANA time zone as a SQL expression, for statements that read times in it: UTC when
 * the tenant has no settings row (the column default).
 */
export function tenantTimeZone(tenantId: string) {
  return sql<string>`coalesce((select time_zone from tenant_settings where tenant_id = ${tenantId}), 'UTC')`;
}

/** What a tenant without a settings row gets: the column defaults. */
export const DEFAULT_SETTINGS: TenantSettings = {
  timeZone: 'UTC',
  businessDescription: '',
  persona: '',
  agentInstructions: '',
  businessHours: {},
  debounceSeconds: 10,
  replyMode: 'auto',
  sendSpacingSeconds: 4,
  lockOnOperatorReply: true,
  escalationContacts: [],
  slotStepMinutes: 15,
  minNoticeMinutes: 120,
  maxHorizonDays: 60,
  reminderOffsetsMinutes: [1440, 120],
  followUpMinDaysApart: 7,
  aiMonthlyBudgetUsd: null,
  aiBudgetHardStop: false,
  traceMessageText: false,
  traceEndpoint: null,
  traceHeaderNames: [],
  model: null,
  apiKeyHint: null,
  updatedAt: null,
};

/** The tenant's settings (RLS: the caller's tenant only); defaults where no row exists yet. */
export async function getTenantSettings({ tx, tenantId }: TenantContext): Promise<TenantSettings> {
  const [row] = await tx
    .select({
      settings: tenantSettings,
      model: agentSettings.model,
      hint: agentSettings.apiKeyHint,
    })
    .from(tenantSettings)
    .leftJoin(agentSettings, eq(agentSettings.tenantId, tenantSettings.tenantId))
    .where(eq(tenantSettings.tenantId, tenantId));
  if (!row) {
    const [agent] = await tx
      .select()
      .from(agentSettings)
      .where(eq(agentSettings.tenantId, tenantId));
    return {
      ...DEFAULT_SETTINGS,
      model: agent?.model ?? null,
      apiKeyHint: agent?.apiKeyHint ?? null,
    };
  }
  // Every column but the key is a setting.
  const { tenantId: _key, ...settings } = row.settings;
  return { ...settings, model: row.model ?? null, apiKeyHint: row.hint ?? null };
}

/** The trace export's endpoint and headers change through setTraceExport (db/trace-export.ts). */
export type SettingsPatch = Partial<
  Omit<
    TenantSettings,
    'model' | 'apiKeyHint' | 'updatedAt' | 'traceEndpoint' | 'traceHeaderNames'
  > & { model: string | null }
>;

/** Applies a partial update (creating the row if needed) and returns the result. */
export async function updateTenantSettings(
  ctx: TenantContext,
  patch: SettingsPatch,
): Promise<TenantSettings> {
  const { model, ...tenantPatch } = patch;
  if (Object.keys(tenantPatch).length > 0) {
    await ctx.tx
      .insert(tenantSettings)
      .values({ tenantId: ctx.tenantId, ...tenantPatch })
      .onConflictDoUpdate({
        target: tenantSettings.tenantId,
        set: { ...tenantPatch, updatedAt: sql`now()` },
      });
  }
  if (model !== undefined) {
    await ctx.tx
      .insert(agentSettings)
      .values({ tenantId: ctx.tenantId, model })
      .onConflictDoUpdate({
        target: agentSettings.tenantId,
        set: { model, updatedAt: sql`now()` },
      });
  }
  return getTenantSettings(ctx);
}

/**
 * Stores (or with null removes) the tenant's own model API key, already encrypted by the caller,
 * and the hint operators see. Needs the tenant handle: operators cannot touch `private`.
 */
export async function setModelApiKey(
  { tx, tenantId }: TenantContext,
  sealed: { ciphertext: string; hint: string } | null,
): Promise<void> {
  if (sealed) {
    await tx
      .insert(agentModelKeys)
      .values({ tenantId, apiKey: sealed.ciphertext })
      .onConflictDoUpdate({
        target: agentModelKeys.tenantId,
        set: { apiKey: sealed.ciphertext, updatedAt: sql`now()` },
      });
  } else {
    await tx.delete(agentModelKeys).where(eq(agentModelKeys.tenantId, tenantId));
  }
  await tx
    .insert(agentSettings)
    .values({ tenantId, apiKeyHint: sealed?.hint ?? null })
    .onConflictDoUpdate({
      target: agentSettings.tenantId,
      set: { apiKeyHint: sealed?.hint ?? null, updatedAt: sql`now()` },
    });
}

/** The tenant's encrypted API key, if any (tenant handle only). */
export async function modelApiKeyCiphertext({
  tx,
  tenantId,
}: TenantContext): Promise<string | null> {
  const [row] = await tx
    .select({ apiKey: agentModelKeys.apiKey })
    .from(agentModelKeys)
    .where(eq(agentModelKeys.tenantId, tenantId));
  return row?.apiKey ?? null;
}
