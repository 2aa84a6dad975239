import { and, eq, isNotNull, sql } from 'drizzle-orm';
import { NotFoundError } from '../core/errors';
import type { TenantContext } from './client';
import {
  channelAccounts,
  contacts,
  conversationLockEvents,
  conversations,
  messages,
  tenantSettings,
} from './schema';

/** Defaults when a tenant has no settings row yet (the same as the column defaults). */
const DEFAULT_SPACING_SECONDS = 4;

/**
 * A conversation with what the send path needs around it: its channel account, its contact and the
 * tenant's send settings. `lock` takes the conversation row lock first, so concurrent queueing for
 * one conversation reserves send slots one after the other.
 */
export async function loadConversationForSend(
  ctx: TenantContext,
  conversationId: string,
  options: { lock?: boolean } = {},
) {
  const query = ctx.tx
    .select({
      conversation: conversations,
      account: {
        id: channelAccounts.id,
        channel: channelAccounts.channel,
        provider: channelAccounts.provider,
        externalId: channelAccounts.externalId,
        displayPhoneNumber: channelAccounts.displayPhoneNumber,
        wabaId: channelAccounts.wabaId,
        throughputPerSecond: channelAccounts.throughputPerSecond,
      },
      contact: {
        id: contacts.id,
        externalUserId: contacts.externalUserId,
        phone: contacts.phone,
        bsuid: contacts.bsuid,
        name: contacts.name,
        optedOutAt: contacts.optedOutAt,
      },
      spacingSeconds: tenantSettings.sendSpacingSeconds,
      lockOnOperatorReply: tenantSettings.lockOnOperatorReply,
    })
    .from(conversations)
    .innerJoin(channelAccounts, eq(channelAccounts.id, conversations.channelAccountId))
    .innerJoin(contacts, eq(contacts.id, conversations.contactId))
    .leftJoin(tenantSettings, eq(tenantSettings.tenantId, conversations.tenantId))
    .where(eq(conversations.id, conversationId));
  // The lock in the same statement: only the conversation's row, not the joined ones.
  const [row] = await (options.lock ? query.for('update', { of: conversations }) : query);
  if (!row) throw new NotFoundError('Conversation', conversationId);
  return {
    ...row,
    spacingSeconds: row.spacingSeconds ?? DEFAULT_SPACING_SECONDS,
    lockOnOperatorReply: row.lockOnOperatorReply ?? true,
  };
}

export type ConversationForSend = Awaited<ReturnType<typeof loadConversationForSend>>;

/**
 * Takes the conversation's row lock (an inbound message updates the row, so it waits until the
 * lock holder commits). False when there is no such conversation.
 */
export async function lockConversation(
  { tx }: TenantContext,
  conversationId: string,
): Promise<boolean> {
  const locked = await tx
    .select({ id: conversations.id })
    .from(conversations)
    .where(eq(conversations.id, conversationId))
    .for('update');
  return locked.length > 0;
}

/** The slot reserveSendSlot will reserve: not before `earliest`, nor before the reserved one. */
export function sendSlot(conversation: { nextSendAt: Date | null }, earliest: Date): Date {
  return conversation.nextSendAt && conversation.nextSendAt > earliest
    ? conversation.nextSendAt
    : earliest;
}

/**
 * Reserves the next send slot of a conversation: not before `earliest`, nor before the slot after
 * the previous message's. Consecutive messages are thus at least the spacing apart, and in the
 * order their slots were reserved. The caller holds the conversation row lock.
 */
export async function reserveSendSlot(
  { tx }: TenantContext,
  conversation: { id: string; nextSendAt: Date | null },
  earliest: Date,
  spacingSeconds: number,
): Promise<Date> {
  const slot = sendSlot(conversation, earliest);
  // A spacing of 0 still advances by a millisecond, so slots (the outbound ordering key) stay distinct.
  const next = new Date(slot.getTime() + Math.max(spacingSeconds * 1000, 1));
  await tx
    .update(conversations)
    .set({ nextSendAt: next, updatedAt: sql`now()` })
    .where(eq(conversations.id, conversation.id));
  conversation.nextSendAt = next;
  return slot;
}

export type LockChange = {
  conversationId: string;
  locked: boolean;
  source: 'operator' | 'echo' | 'escalation' | 'keyword';
  userId?: string | null;
  reason?: string | null;
  now: Date;
};

/**
 * Sets or clears the human-override lock and records the change in the lock history. Unlocking
 * only lets the bot answer what customers write from now on: nothing is replayed.
 */
export async function setConversationLock({ tx, tenantId }: TenantContext, change: LockChange) {
  const [updated] = await tx
    .update(conversations)
    .set({
      isLocked: change.locked,
      // Unlocking forgets who locked and why (the lock history keeps it).
      lockedBy: change.locked ? change.source : null,
      lockedByUserId: change.locked ? (change.userId ?? null) : null,
      lockedAt: change.locked ? change.now : null,
      lockReason: change.locked ? (change.reason ?? null) : null,
      updatedAt: sql`now()`,
    })
    .where(eq(conversations.id, change.conversationId))
    .returning();
  if (!updated) throw new NotFoundError('Conversation', change.conversationId);
  await tx.insert(conversationLockEvents).values({ ...change, tenantId, at: change.now });
  return updated;
}

/**
 * Lets the agent answer in this conversation, or keeps it out for good (a supplier, a friend, a
 * customer the business always answers itself). Unlike the lock, nothing expires it; a turn already
 * queued finds it off when it runs and ends without a word.
 */
export async function setBotEnabled(
  { tx }: TenantContext,
  conversationId: string,
  enabled: boolean,
): Promise<void> {
  const [updated] = await tx
    .update(conversations)
    .set({ botEnabled: enabled, updatedAt: sql`now()` })
    .where(eq(conversations.id, conversationId))
    .returning({ id: conversations.id });
  if (!updated) throw new NotFoundError('Conversation', conversationId);
}

/** The lock history of a conversation, newest first. */
export async function lockHistory({ tx }: TenantContext, conversationId: string, limit = 20) {
  return tx
    .select()
    .from(conversationLockEvents)
    .where(eq(conversationLockEvents.conversationId, conversationId))
    .orderBy(sql`${conversationLockEvents.at} desc`)
    .limit(limit);
}

/** Whether the contact ever wrote to us, on any conversation (the consent rules need it). */
export async function contactHasWritten(
  { tx }: TenantContext,
  contactId: string,
): Promise<boolean> {
  const [row] = await tx
    .select({ id: conversations.id })
    .from(conversations)
    .where(and(eq(conversations.contactId, contactId), isNotNull(conversations.lastInboundAt)))
    .limit(1);
  if (row) return true;
  const [inbound] = await tx
    .select({ id: messages.id })
    .from(messages)
    .innerJoin(conversations, eq(conversations.id, messages.conversationId))
    .where(and(eq(conversations.contactId, contactId), eq(messages.direction, 'inbound')))
    .limit(1);
  return inbound !== undefined;
}
