import { desc, eq, sql } from 'drizzle-orm';
import { NotFoundError } from '../core/errors';
import type { ConsentAction, ConsentFacts, ConsentScope } from '../core/messaging/consent';
import type { TenantContext } from './client';
import { contactHasWritten } from './conversations';
import { contacts, optIns } from './schema';

/**
 * Reading and writing the consent ledger (`opt_ins`, append-only) and the contact's standing
 * opt-out flag. Kept apart from db/opt-ins.ts (which also queues the opt-out confirmation) so the
 * send path can read consent without an import cycle.
 */

export type OptInRow = typeof optIns.$inferSelect;

async function contactRow({ tx }: TenantContext, contactId: string) {
  const [contact] = await tx
    .select({ id: contacts.id, channel: contacts.channel, optedOutAt: contacts.optedOutAt })
    .from(contacts)
    .where(eq(contacts.id, contactId));
  if (!contact) throw new NotFoundError('Contact', contactId);
  return contact;
}

/** What the consent rules (core/messaging/consent.ts) decide on, for one contact. */
export async function consentFacts(ctx: TenantContext, contactId: string): Promise<ConsentFacts> {
  const contact = await contactRow(ctx, contactId);
  const ledger = await ctx.tx
    .select({ scope: optIns.scope, action: optIns.action, recordedAt: optIns.recordedAt })
    .from(optIns)
    .where(eq(optIns.contactId, contactId));
  return {
    optedOutAt: contact.optedOutAt,
    hasWritten: await contactHasWritten(ctx, contactId),
    ledger,
  };
}

/** The contact's ledger, newest first. */
export async function listOptIns({ tx }: TenantContext, contactId: string): Promise<OptInRow[]> {
  return tx
    .select()
    .from(optIns)
    .where(eq(optIns.contactId, contactId))
    .orderBy(desc(optIns.recordedAt), desc(optIns.id));
}

export type ConsentRecord = {
  contactId: string;
  action: ConsentAction;
  scope: ConsentScope;
  /** How it was given: web_form, keyword, operator, import, … */
  source: string;
  recordedByUserId?: string | null;
  note?: string | null;
  now: Date;
};

/**
 * Appends to the ledger and keeps contacts.opted_out_at in step: an opt-out of everything sets it,
 * an explicit opt-in (any scope) clears it, because the customer has since said yes again.
 */
export async function recordConsent(ctx: TenantContext, record: ConsentRecord): Promise<OptInRow> {
  const contact = await contactRow(ctx, record.contactId);
  const [row] = await ctx.tx
    .insert(optIns)
    .values({
      ...record,
      tenantId: ctx.tenantId,
      channel: contact.channel,
      recordedAt: record.now,
    })
    .returning();
  if (record.action === 'opt_out' && record.scope === 'all') {
    await ctx.tx
      .update(contacts)
      .set({ optedOutAt: record.now, updatedAt: sql`now()` })
      .where(eq(contacts.id, record.contactId));
  } else if (record.action === 'opt_in' && contact.optedOutAt) {
    await ctx.tx
      .update(contacts)
      .set({ optedOutAt: null, updatedAt: sql`now()` })
      .where(eq(contacts.id, record.contactId));
  }
  // biome-ignore lint/style/noNonNullAssertion: insert … returning yields the row
  return row!;
}
