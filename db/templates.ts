import { and, asc, eq, not, sql } from 'drizzle-orm';
import { NotFoundError } from '../core/errors';
import type { GraphTemplate } from '../core/messaging/templates';
import type { TenantContext } from './client';
import { channelAccounts, templates } from './schema';
import { isOneOf } from './sql';

export type TemplateRow = typeof templates.$inferSelect;

/** The tenant's WhatsApp accounts that have a WABA, whose templates can be synced. */
export async function whatsappAccountsWithWaba({ tx }: TenantContext) {
  const rows = await tx
    .select({
      id: channelAccounts.id,
      wabaId: channelAccounts.wabaId,
      externalId: channelAccounts.externalId,
    })
    .from(channelAccounts)
    .where(
      and(
        eq(channelAccounts.channel, 'whatsapp'),
        // Numbers a provider carries list their templates through that provider, not Graph.
        eq(channelAccounts.provider, 'meta'),
        sql`${channelAccounts.wabaId} is not null`,
      ),
    );
  return rows.map((r) => ({ ...r, wabaId: r.wabaId as string }));
}

/**
 * Stores what Meta listed for one WABA: insert or update by (tenant, WABA, name, language), and
 * templates Meta no longer lists are kept (messages refer to them) but marked DELETED, so they
 * stop being sendable.
 */
export async function upsertSyncedTemplates(
  { tx, tenantId }: TenantContext,
  input: { channelAccountId: string; wabaId: string; templates: GraphTemplate[] },
): Promise<TemplateRow[]> {
  const stored: TemplateRow[] = [];
  for (const t of input.templates) {
    const status = t.status.toUpperCase();
    const [row] = await tx
      .insert(templates)
      .values({
        tenantId,
        channelAccountId: input.channelAccountId,
        wabaId: input.wabaId,
        providerTemplateId: t.id,
        name: t.name,
        language: t.language,
        status,
        category: t.category.toUpperCase(),
        parameterFormat: t.parameter_format,
        components: t.components,
      })
      .onConflictDoUpdate({
        target: [templates.tenantId, templates.wabaId, templates.name, templates.language],
        set: {
          channelAccountId: input.channelAccountId,
          providerTemplateId: t.id,
          status,
          category: t.category.toUpperCase(),
          parameterFormat: t.parameter_format,
          components: t.components,
          // A reason explains a refusal or pause; once approved again it no longer applies.
          statusReason: status === 'APPROVED' ? null : sql`${templates.statusReason}`,
          updatedAt: sql`now()`,
        },
      })
      .returning();
    if (row) stored.push(row);
  }
  const keep = stored.map((r) => r.id);
  await tx
    .update(templates)
    .set({ status: 'DELETED', updatedAt: sql`now()` })
    .where(
      and(
        eq(templates.wabaId, input.wabaId),
        sql`${templates.status} <> 'DELETED'`,
        not(isOneOf(templates.id, keep)),
      ),
    );
  return stored;
}

export async function listTemplates({ tx }: TenantContext, filter: { status?: string } = {}) {
  return tx
    .select()
    .from(templates)
    .where(filter.status ? eq(templates.status, filter.status.toUpperCase()) : undefined)
    .orderBy(asc(templates.name), asc(templates.language));
}

export async function getTemplateOrNull(
  { tx }: TenantContext,
  templateId: string,
): Promise<TemplateRow | undefined> {
  const [row] = await tx.select().from(templates).where(eq(templates.id, templateId));
  return row;
}

export async function getTemplate(ctx: TenantContext, templateId: string): Promise<TemplateRow> {
  const row = await getTemplateOrNull(ctx, templateId);
  if (!row) throw new NotFoundError('Template', templateId);
  return row;
}

/** A template of one WABA by name and language, as a `template` message names it. */
export async function findTemplate(
  { tx }: TenantContext,
  key: { wabaId: string; name: string; language: string },
): Promise<TemplateRow | undefined> {
  const [row] = await tx
    .select()
    .from(templates)
    .where(
      and(
        eq(templates.wabaId, key.wabaId),
        eq(templates.name, key.name),
        eq(templates.language, key.language),
      ),
    );
  return row;
}
