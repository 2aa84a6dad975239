import { eq } from 'drizzle-orm';
import { matchOptOutKeyword, OPT_OUT_CONFIRMATION } from '../core/messaging/opt-out';
import type { TenantContext } from './client';
import { recordConsent } from './opt-ins-ledger';
import { queueOutboundMessage } from './outbound';
import type { OutboxJob } from './outbox';
import { contacts } from './schema';

export {
  type ConsentRecord,
  consentFacts,
  listOptIns,
  type OptInRow,
  recordConsent,
} from './opt-ins-ledger';

export type OptOutHandled = {
  /** The message was an opt-out keyword (the caller may skip the agent turn for it). */
  matched: boolean;
  /** The confirmation's send job, when one was queued: publish after commit. */
  jobs: OutboxJob[];
};

/**
 * Opt-out keywords in a customer's message (STOP, BAJA, PARAR, CANCELAR SUSCRIPCION, إيقاف, …;
 * the whole message, any case or accents). Call it from inbound ingestion, in the same tenant
 * transaction, for each new customer text message. The first opt-out is recorded in the ledger,
 * sets contacts.opted_out_at (templates stop), and queues one confirmation in the keyword's
 * language; repeating the keyword while opted out changes nothing and confirms nothing again.
 */
export async function handleOptOutKeywords(
  ctx: TenantContext,
  input: { contactId: string; conversationId: string; text: string | null; now?: Date },
): Promise<OptOutHandled> {
  const language = matchOptOutKeyword(input.text);
  if (!language) return { matched: false, jobs: [] };
  const now = input.now ?? new Date();
  const [contact] = await ctx.tx
    .select({ optedOutAt: contacts.optedOutAt })
    .from(contacts)
    .where(eq(contacts.id, input.contactId))
    .for('update');
  if (!contact || contact.optedOutAt) return { matched: true, jobs: [] };
  await recordConsent(ctx, {
    contactId: input.contactId,
    action: 'opt_out',
    scope: 'all',
    source: 'keyword',
    note: input.text?.trim().slice(0, 100) ?? null,
    now,
  });
  const queued = await queueOutboundMessage(ctx, {
    conversationId: input.conversationId,
    sender: 'system',
    message: { type: 'text', text: OPT_OUT_CONFIRMATION[language] },
    now,
    // The customer has just written: the window is open even if ingestion updates it later.
    checkWindow: false,
  });
  return { matched: true, jobs: [queued.job] };
}
