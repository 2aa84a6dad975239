import { and, desc, eq, sql } from 'drizzle-orm';
import { InvalidInputError } from '../core/errors';
import type { TenantContext } from './client';
import { contactNotes, contacts, conversations, type memberRole, tenantMembers } from './schema';

type MemberRole = (typeof memberRole.enumValues)[number];

/**
 * What the operator page's contact panel changes beside the thread: private notes on a customer,
 * labels on a conversation, and the operator it is assigned to. Each returns null for an id this
 * tenant does not have (RLS and the tenant filter make another tenant's ids look missing).
 */

export type ContactNoteRow = typeof contactNotes.$inferSelect;

/** A customer's notes, newest first; null when the contact does not exist for this tenant. */
export async function listContactNotes(
  { tx, tenantId }: TenantContext,
  contactId: string,
): Promise<ContactNoteRow[] | null> {
  const [contact, notes] = await Promise.all([
    tx
      .select({ id: contacts.id })
      .from(contacts)
      .where(and(eq(contacts.id, contactId), eq(contacts.tenantId, tenantId))),
    tx
      .select()
      .from(contactNotes)
      .where(and(eq(contactNotes.contactId, contactId), eq(contactNotes.tenantId, tenantId)))
      .orderBy(desc(contactNotes.createdAt), desc(contactNotes.id)),
  ]);
  return contact.length === 0 ? null : notes;
}

/** Adds a note in the operator's name; null when the contact does not exist for this tenant. */
export async function addContactNote(
  { tx, tenantId }: TenantContext,
  note: { contactId: string; authorUserId: string; body: string },
): Promise<ContactNoteRow | null> {
  const [contact] = await tx
    .select({ id: contacts.id })
    .from(contacts)
    .where(and(eq(contacts.id, note.contactId), eq(contacts.tenantId, tenantId)));
  if (!contact) return null;
  const [row] = await tx
    .insert(contactNotes)
    .values({ tenantId, contactId: contact.id, authorUserId: note.authorUserId, body: note.body })
    .returning();
  return row ?? null;
}

/**
 * Deletes a note its author wrote: 'deleted', 'not_author' (someone else's note: kept), or null when
 * the contact has no such note for this tenant. RLS ("author deletes") refuses anyone else's too.
 */
export async function deleteContactNote(
  { tx, tenantId }: TenantContext,
  note: { contactId: string; noteId: string; userId: string },
): Promise<'deleted' | 'not_author' | null> {
  const where = and(
    eq(contactNotes.id, note.noteId),
    eq(contactNotes.contactId, note.contactId),
    eq(contactNotes.tenantId, tenantId),
  );
  const [found] = await tx
    .select({ authorUserId: contactNotes.authorUserId })
    .from(contactNotes)
    .where(where);
  if (!found) return null;
  if (found.authorUserId !== note.userId) return 'not_author';
  await tx.delete(contactNotes).where(and(where, eq(contactNotes.authorUserId, note.userId)));
  return 'deleted';
}

export type ConversationTags = { id: string; labels: string[]; assignedUserId: string | null };

const tagColumns = {
  id: conversations.id,
  labels: conversations.labels,
  assignedUserId: conversations.assignedUserId,
};

/** Replaces a conversation's labels (already normalised by the caller). */
export async function setConversationLabels(
  { tx, tenantId }: TenantContext,
  conversationId: string,
  labels: string[],
): Promise<ConversationTags | null> {
  const [row] = await tx
    .update(conversations)
    .set({ labels, updatedAt: sql`now()` })
    .where(and(eq(conversations.id, conversationId), eq(conversations.tenantId, tenantId)))
    .returning(tagColumns);
  return row ?? null;
}

/**
 * Assigns a conversation to a member of the tenant, or to nobody (null). Anyone else is refused:
 * an operator of another business must not be handed this tenant's customers.
 */
export async function assignConversation(
  { tx, tenantId }: TenantContext,
  conversationId: string,
  userId: string | null,
): Promise<ConversationTags | null> {
  if (userId !== null) {
    const [member] = await tx
      .select({ userId: tenantMembers.userId })
      .from(tenantMembers)
      .where(and(eq(tenantMembers.tenantId, tenantId), eq(tenantMembers.userId, userId)));
    if (!member) {
      throw new InvalidInputError(
        `user_id: ${userId} is not a member of this business; assign a member, or null for nobody`,
      );
    }
  }
  const [row] = await tx
    .update(conversations)
    .set({ assignedUserId: userId, updatedAt: sql`now()` })
    .where(and(eq(conversations.id, conversationId), eq(conversations.tenantId, tenantId)))
    .returning(tagColumns);
  return row ?? null;
}

export type TeamMember = {
  userId: string;
  role: MemberRole;
  displayName: string | null;
  email: string | null;
};

/** The tenant's operators, in the order they joined (app.tenant_team, migration 0021). */
export async function listTeam({ tx, tenantId }: TenantContext): Promise<TeamMember[]> {
  const rows = await tx.execute<{
    user_id: string;
    role: MemberRole;
    display_name: string | null;
    email: string | null;
  }>(sql`select user_id, role, display_name, email from app.tenant_team(${tenantId}::uuid)`);
  return [...rows].map((r) => ({
    userId: r.user_id,
    role: r.role,
    displayName: r.display_name,
    email: r.email,
  }));
}
