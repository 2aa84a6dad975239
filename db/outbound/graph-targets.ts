import { eq } from 'drizzle-orm';
import { NotFoundError } from '../../core/errors';
import type { TenantContext } from '../client';
import { loadConversationForSend } from '../conversations';
import { channelCredentials, messages } from '../schema';

/** What a Graph call outside the send claim needs: the channel's token, a read receipt's target. */

/** The channel's Graph access token, still encrypted (functions/lib/crypto.ts decrypts it). */
export async function loadSealedAccessToken(
  { tx }: TenantContext,
  channelAccountId: string,
): Promise<string | null> {
  const [row] = await tx
    .select({ accessToken: channelCredentials.accessToken })
    .from(channelCredentials)
    .where(eq(channelCredentials.channelAccountId, channelAccountId));
  return row?.accessToken ?? null;
}

/**
 * What a read receipt for a customer's message needs: its provider id, the account it came in on
 * and the customer's id there (Messenger / Instagram address sender actions to the user).
 */
export async function loadReadReceiptTarget(ctx: TenantContext, messageId: string) {
  const [row] = await ctx.tx
    .select({
      providerMessageId: messages.providerMessageId,
      direction: messages.direction,
      conversationId: messages.conversationId,
    })
    .from(messages)
    .where(eq(messages.id, messageId));
  if (!row) throw new NotFoundError('Message', messageId);
  const conv = await loadConversationForSend(ctx, row.conversationId);
  return {
    providerMessageId: row.direction === 'inbound' ? row.providerMessageId : null,
    account: conv.account,
    recipientId: conv.contact.externalUserId,
  };
}
