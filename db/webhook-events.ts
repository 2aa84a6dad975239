import { and, desc, eq, lt, or, sql } from 'drizzle-orm';
import type { IntakeContext, TenantContext } from './client';
import { type Channel, channelCredentials, webhookEvents } from './schema';

export type WebhookOutcome = 'received' | 'processed' | 'dead';

// ------------------------------------------------------------------------------------------
// Intake (the worker role before a tenant is known: only the SECURITY DEFINER functions)
// ------------------------------------------------------------------------------------------

/** Stores a webhook body as received. The id is derived from the body, so a resend is a no-op. */
export async function recordWebhookEvent(
  { tx }: IntakeContext,
  event: { id: string; object: string | null; rawBody: string },
): Promise<void> {
  await tx.execute(
    sql`select app.record_webhook_event(${event.id}::uuid, 'meta', ${event.object}, ${event.rawBody})`,
  );
}

/** Marks what became of a stored body (and which tenant it was for, when one was found). */
export async function settleWebhookEvent(
  { tx }: IntakeContext,
  settled: {
    id: string;
    outcome: 'processed' | 'dead';
    reason: string | null;
    tenantId: string | null;
  },
): Promise<void> {
  await tx.execute(
    sql`select app.settle_webhook_event(${settled.id}::uuid, ${settled.outcome}::public.webhook_outcome, ${settled.reason}, ${settled.tenantId}::uuid)`,
  );
}

export type ResolvedAccount = {
  channelAccountId: string;
  tenantId: string;
  channel: Channel;
  externalId: string;
};

/** The channel account (hence tenant) a webhook is for: phone_number_id, page id or IG id. */
export async function resolveChannelAccount(
  { tx }: IntakeContext,
  { channel, externalId }: { channel: Channel; externalId: string },
): Promise<ResolvedAccount | null> {
  const rows = await tx.execute<{ channel_account_id: string; tenant_id: string }>(
    sql`select channel_account_id, tenant_id from app.resolve_channel_account(${channel}::public.channel, ${externalId})`,
  );
  const [row] = [...rows];
  return row
    ? { channelAccountId: row.channel_account_id, tenantId: row.tenant_id, channel, externalId }
    : null;
}

/** Every WhatsApp number of a WhatsApp Business Account (template webhooks name only the WABA). */
export async function resolveWhatsAppBusinessAccount(
  { tx }: IntakeContext,
  wabaId: string,
): Promise<ResolvedAccount[]> {
  const rows = await tx.execute<{
    channel_account_id: string;
    tenant_id: string;
    external_id: string;
  }>(
    sql`select channel_account_id, tenant_id, external_id from app.resolve_whatsapp_business_account(${wabaId})`,
  );
  return [...rows].map((row) => ({
    channelAccountId: row.channel_account_id,
    tenantId: row.tenant_id,
    channel: 'whatsapp' as const,
    externalId: row.external_id,
  }));
}

/** The account's own app secret (sealed), when its webhooks are not signed with the global one. */
export async function accountAppSecret(
  { tx }: IntakeContext,
  channelAccountId: string,
): Promise<string | null> {
  const [row] = await tx
    .select({ appSecret: channelCredentials.appSecret })
    .from(channelCredentials)
    .where(eq(channelCredentials.channelAccountId, channelAccountId));
  return row?.appSecret ?? null;
}

// ------------------------------------------------------------------------------------------
// Operators (RLS: members see their tenant's events)
// ------------------------------------------------------------------------------------------

export type WebhookEventSummary = {
  id: string;
  object: string | null;
  outcome: WebhookOutcome;
  reason: string | null;
  attempts: number;
  receivedAt: Date;
  processedAt: Date | null;
  sizeBytes: number;
  /** Opaque keyset position of this row. */
  position: string;
};

/** What an operator sees of a stored event (the body only by its size). */
const summaryColumns = {
  id: webhookEvents.id,
  object: webhookEvents.object,
  outcome: webhookEvents.outcome,
  reason: webhookEvents.reason,
  attempts: webhookEvents.attempts,
  receivedAt: webhookEvents.receivedAt,
  processedAt: webhookEvents.processedAt,
  sizeBytes: sql<number>`octet_length(${webhookEvents.rawBody})::int`,
};

/** Newest first, keyset-paged on (received_at, id). */
export async function listWebhookEvents(
  { tx, tenantId }: TenantContext,
  options: {
    outcome?: WebhookOutcome;
    limit: number;
    /** position and id of the last event of the previous page. */
    after?: { position: string; id: string };
  },
): Promise<WebhookEventSummary[]> {
  const after = options.after;
  const rows = await tx
    .select({
      ...summaryColumns,
      // Full-precision text: a JS Date would drop the microseconds the keyset compares on.
      position: sql<string>`${webhookEvents.receivedAt}::text`,
    })
    .from(webhookEvents)
    .where(
      and(
        eq(webhookEvents.tenantId, tenantId),
        options.outcome ? eq(webhookEvents.outcome, options.outcome) : undefined,
        after
          ? or(
              lt(webhookEvents.receivedAt, sql`${after.position}::timestamptz`),
              and(
                eq(webhookEvents.receivedAt, sql`${after.position}::timestamptz`),
                lt(webhookEvents.id, after.id),
              ),
            )
          : undefined,
      ),
    )
    .orderBy(desc(webhookEvents.receivedAt), desc(webhookEvents.id))
    .limit(options.limit);
  return rows;
}

/** One event with its raw body, if the operator's tenant may see it. */
export async function getWebhookEvent(
  { tx, tenantId }: TenantContext,
  id: string,
): Promise<{ id: string; rawBody: string; outcome: WebhookOutcome } | null> {
  const [row] = await tx
    .select({
      id: webhookEvents.id,
      rawBody: webhookEvents.rawBody,
      outcome: webhookEvents.outcome,
    })
    .from(webhookEvents)
    .where(and(eq(webhookEvents.id, id), eq(webhookEvents.tenantId, tenantId)));
  return row ?? null;
}

/** After a replay: the event as it now stands. */
export async function getWebhookEventSummary(
  { tx }: TenantContext,
  id: string,
): Promise<Omit<WebhookEventSummary, 'position'> | null> {
  const [row] = await tx.select(summaryColumns).from(webhookEvents).where(eq(webhookEvents.id, id));
  return row ?? null;
}
