import { and, eq, isNull, sql } from 'drizzle-orm';
import type { TenantContext } from './client';
import { type Channel, channelAccounts, contacts } from './schema';

/**
 * Messenger and Instagram webhooks carry no name, only the PSID / IGSID: the contact-profile job
 * asks Graph's User Profile API once per contact, after the webhook answered. This is what it needs.
 */
export type ContactProfileTarget = {
  externalUserId: string;
  name: string | null;
  username: string | null;
  /** The Page / IG account the customer wrote to: its token asks Graph. */
  account: { id: string; channel: Channel; externalId: string; wabaId: string | null };
};

export async function loadContactProfileTarget(
  { tx }: TenantContext,
  contactId: string,
  channelAccountId: string,
): Promise<ContactProfileTarget | null> {
  const [row] = await tx
    .select({
      externalUserId: contacts.externalUserId,
      name: contacts.name,
      username: contacts.username,
      account: {
        id: channelAccounts.id,
        channel: channelAccounts.channel,
        externalId: channelAccounts.externalId,
        wabaId: channelAccounts.wabaId,
      },
    })
    .from(contacts)
    .innerJoin(channelAccounts, eq(channelAccounts.id, channelAccountId))
    .where(eq(contacts.id, contactId));
  return row ?? null;
}

/**
 * Stores what the profile said, never over a name or username already there (an operator's
 * correction, or a newer webhook's, wins over the lookup).
 */
export async function storeContactProfile(
  { tx }: TenantContext,
  contactId: string,
  profile: { name: string | null; username: string | null },
): Promise<void> {
  if (profile.name) {
    await tx
      .update(contacts)
      .set({ name: profile.name, updatedAt: sql`now()` })
      .where(and(eq(contacts.id, contactId), isNull(contacts.name)));
  }
  if (profile.username) {
    await tx
      .update(contacts)
      .set({ username: profile.username, updatedAt: sql`now()` })
      .where(and(eq(contacts.id, contactId), isNull(contacts.username)));
  }
}
