import type { MessageChannel } from '../../core/messaging/kinds';
import { asTenant } from '../../db/client';
import { loadReadReceiptTarget, loadSealedAccessToken } from '../../db/outbound';
import type { Services } from '../context';
import type { Env } from '../env';
import { decryptSecret } from './crypto';
import { type GraphAccount, GraphApiError, graphClient } from './graph';

/**
 * A channel account with its decrypted access token, for one Graph call. Credentials are readable
 * only by the tenant handle (private schema), so this reads them as the worker role bound to the
 * tenant; callers are the send job and operator routes whose operator was already checked to be a
 * member of that tenant. Returns null when the account has no token, or is the web widget's
 * (nothing of it goes through Meta).
 */
export async function graphAccountFor(
  services: Services,
  env: Env,
  tenantId: string,
  account: { id: string; channel: MessageChannel; externalId: string; wabaId: string | null },
): Promise<GraphAccount | null> {
  const { channel } = account;
  if (channel === 'web') return null;
  const sealed = await asTenant(services.db, tenantId, (ctx) =>
    loadSealedAccessToken(ctx, account.id),
  );
  if (!sealed) return null;
  return {
    channel,
    externalId: account.externalId,
    wabaId: account.wabaId,
    accessToken: await decryptSecret(sealed, env.CREDENTIALS_ENCRYPTION_KEY),
  };
}

/**
 * Marks a customer's message read on Meta and, with `typing`, shows the typing indicator (WhatsApp
 * dismisses it on the reply or after 25 s). For the agent at the start of a turn and for operators'
 * read markers. Best effort: a receipt that fails is logged, never retried, never thrown. Nothing
 * reaches Meta when live sending is off.
 */
export async function markCustomerMessageRead(
  services: Services,
  env: Env,
  input: { tenantId: string; messageId: string; typing?: boolean },
): Promise<'marked' | 'skipped' | 'failed'> {
  if (!env.WHATSAPP_ALLOW_LIVE_SEND) return 'skipped';
  const target = await asTenant(services.db, input.tenantId, (ctx) =>
    loadReadReceiptTarget(ctx, input.messageId),
  );
  // A provider-carried number's read receipts are the provider's business (not sent by us), and
  // the widget has none to send: the visitor's page is not Meta.
  if (
    !target.providerMessageId ||
    target.account.provider !== 'meta' ||
    target.account.channel === 'web'
  ) {
    return 'skipped';
  }
  const account = await graphAccountFor(services, env, input.tenantId, target.account);
  if (!account) return 'skipped';
  try {
    await graphClient(env).markRead(account, {
      providerMessageId: target.providerMessageId,
      recipientId: target.recipientId,
      typing: input.typing,
    });
    return 'marked';
  } catch (err) {
    if (!(err instanceof GraphApiError)) throw err;
    services.logger.warn('read receipt not accepted by Meta', { code: err.info.code });
    return 'failed';
  }
}
