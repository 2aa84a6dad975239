import { and, desc, eq, isNull, lt, or, type SQL, sql } from 'drizzle-orm';
import type { IntakeContext, TenantContext, Tx } from './client';
import { type Channel, channelCredentials, webhookEvents } from './schema';

export type WebhookOutcome = 'received' | 'processed' | 'dead';

/**
 * A stored body as processing needs it: `provider` says whose format it is (`meta`, or a
 * provider adapter's: functions/providers), `signedFor` which accounts it may write to.
 */
export type StoredWebhookEvent = {
  id: string;
  provider: string;
  rawBody: string;
  signedFor: string[] | null;
};

type StoredRow = { id: string; provider: string; raw_body: string; signed_for: string[] | null };
const storedEvent = (r: StoredRow): StoredWebhookEvent => ({
  id: r.id,
  provider: r.provider,
  rawBody: r.raw_body,
  signedFor: r.signed_for,
});

const uuidArray = (ids: string[] | null) =>
  ids ? sql`${`{${ids.join(',')}}`}::uuid[]` : sql`null`;

// ------------------------------------------------------------------------------------------
// Intake (the worker role before a tenant is known: only the SECURITY DEFINER functions)
// ------------------------------------------------------------------------------------------

/**
 * Stores a webhook body as received. The id is derived from the body, so a resend is a no-op.
 * `signedFor`: the channel accounts whose own app secret signed it (null: Meta's), which bounds
 * what the sweeper's replay may write.
 */
export async function recordWebhookEvent(
  { tx }: IntakeContext,
  event: StoredWebhookEvent & { object: string | null },
): Promise<void> {
  await tx.execute(
    sql`select app.record_webhook_event(${event.id}::uuid, ${event.provider}, ${event.object}, ${event.rawBody}, ${uuidArray(event.signedFor)})`,
  );
}

/** How often the sweeper replays a body left `received` before leaving it dead. */
export const MAX_SWEEPER_REPLAYS = 5;

/** Bodies a failed processing left `received`, older than the grace period (across tenants). */
export async function staleReceivedEvents(
  { tx }: IntakeContext,
  { olderThanSeconds, limit }: { olderThanSeconds: number; limit: number },
): Promise<StoredWebhookEvent[]> {
  const rows = await tx.execute<StoredRow>(
    sql`select * from app.stale_received_events(${olderThanSeconds}, ${MAX_SWEEPER_REPLAYS}, ${limit})`,
  );
  return [...rows].map(storedEvent);
}

/** A stored body still waiting to be processed (the `webhook-event` job); null once it was. */
export async function receivedWebhookEvent(
  { tx }: IntakeContext,
  id: string,
): Promise<StoredWebhookEvent | null> {
  const [row] = await tx.execute<StoredRow>(
    sql`select * from app.received_webhook_event(${id}::uuid)`,
  );
  return row ? storedEvent(row) : null;
}

/** A sweeper replay that failed again: counted with why; the last allowed one leaves it dead. */
export async function noteFailedReplay(
  { tx }: IntakeContext,
  input: { id: string; reason: string },
): Promise<void> {
  await tx.execute(
    sql`select app.note_failed_replay(${input.id}::uuid, ${input.reason}, ${MAX_SWEEPER_REPLAYS})`,
  );
}

/**
 * Marks what became of a stored body (and which tenant it was for, when one was found): the
 * statement, for the caller to send with its COMMIT (WorkerScope.sendWithCommit).
 */
export function settleWebhookEvent(settled: {
  id: string;
  outcome: 'processed' | 'dead';
  reason: string | null;
  tenantId: string | null;
}): SQL {
  return sql`select app.settle_webhook_event(${settled.id}::uuid, ${settled.outcome}::public.webhook_outcome, ${settled.reason}, ${settled.tenantId}::uuid)`;
}

/**
 * A new delivery's body with what became of it, in one write (`app.store_webhook_event`): the
 * statement, for the caller to send with its COMMIT. A resend keeps the first body and counts
 * the attempt.
 */
export function storeWebhookEvent(
  event: StoredWebhookEvent & {
    object: string | null;
    outcome: 'processed' | 'dead';
    reason: string | null;
    tenantId: string | null;
  },
): SQL {
  return sql`select app.store_webhook_event(${event.id}::uuid, ${event.provider}, ${event.object}, ${event.rawBody}, ${event.outcome}::public.webhook_outcome, ${event.reason}, ${event.tenantId}::uuid, ${uuidArray(event.signedFor)})`;
}

export type ResolvedAccount = {
  channelAccountId: string;
  tenantId: string;
  channel: Channel;
  externalId: string;
  /** WhatsApp: the number's WhatsApp Business Account, when known. */
  wabaId?: string | null;
};

/** The channel account (hence tenant) a webhook is for: phone_number_id, page id or IG id. */
export async function resolveChannelAccount(
  { tx }: IntakeContext,
  { channel, externalId }: { channel: Channel; externalId: string },
): Promise<ResolvedAccount | null> {
  const rows = await tx.execute<{
    channel_account_id: string;
    tenant_id: string;
    waba_id: string | null;
  }>(
    sql`select channel_account_id, tenant_id, waba_id from app.resolve_channel_account(${channel}::public.channel, ${externalId})`,
  );
  const [row] = [...rows];
  return row
    ? {
        channelAccountId: row.channel_account_id,
        tenantId: row.tenant_id,
        channel,
        externalId,
        wabaId: row.waba_id,
      }
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

type EventPage = {
  outcome?: WebhookOutcome;
  limit: number;
  /** position and id of the last event of the previous page. */
  after?: { position: string; id: string };
};

/** Newest first, keyset-paged on (received_at, id), among the events `owner` selects. */
async function pageOfEvents(
  tx: Tx,
  owner: SQL | undefined,
  options: EventPage,
): Promise<WebhookEventSummary[]> {
  const after = options.after;
  return tx
    .select({
      ...summaryColumns,
      // Full-precision text: a JS Date would drop the microseconds the keyset compares on.
      position: sql<string>`${webhookEvents.receivedAt}::text`,
    })
    .from(webhookEvents)
    .where(
      and(
        owner,
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
}

/** The tenant's events, newest first. */
export async function listWebhookEvents(
  { tx, tenantId }: TenantContext,
  options: EventPage,
): Promise<WebhookEventSummary[]> {
  return pageOfEvents(tx, eq(webhookEvents.tenantId, tenantId), options);
}

/** One event with its raw body, if the operator's tenant may see it. */
export async function getWebhookEvent(
  { tx, tenantId }: TenantContext,
  id: string,
): Promise<(StoredWebhookEvent & { outcome: WebhookOutcome }) | null> {
  const [row] = await tx
    .select({
      id: webhookEvents.id,
      provider: webhookEvents.provider,
      rawBody: webhookEvents.rawBody,
      signedFor: webhookEvents.signedFor,
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

// ------------------------------------------------------------------------------------------
// Platform operators (asPlatformOperator; RLS: bodies no business owns)
// ------------------------------------------------------------------------------------------

/** Bodies no business owns (no channel account matched), newest first. */
export async function listUnattributedEvents(tx: Tx, options: EventPage) {
  return pageOfEvents(tx, isNull(webhookEvents.tenantId), options);
}

/** One body no business owns, raw, with the accounts that signed it (null: Meta's app secret). */
export async function getUnattributedEvent(tx: Tx, id: string) {
  const [row] = await tx
    .select({
      ...summaryColumns,
      provider: webhookEvents.provider,
      rawBody: webhookEvents.rawBody,
      signedFor: webhookEvents.signedFor,
    })
    .from(webhookEvents)
    .where(and(eq(webhookEvents.id, id), isNull(webhookEvents.tenantId)));
  return row ?? null;
}

/** A provider-carried number as its callbacks find it, with its sealed callback secrets. */
export type ProviderCallbackAccount = {
  channelAccountId: string;
  tenantId: string;
  externalId: string;
  displayPhoneNumber: string | null;
  wabaId: string | null;
  /** Sealed (functions/lib/crypto.ts); null until the account has one. */
  webhookSecret: string | null;
  /** The secret before the last rotation, accepted until `previousSecretUntil`. */
  previousWebhookSecret: string | null;
  previousSecretUntil: Date | null;
};

/**
 * The account a provider's callback URL names (`/webhooks/{provider}/{id}`), if it is one of that
 * provider's numbers: one read, before any tenant is known (app.provider_callback_account).
 */
export async function providerCallbackAccount(
  { tx }: IntakeContext,
  input: { id: string; provider: string },
): Promise<ProviderCallbackAccount | null> {
  const [row] = await tx.execute<{
    tenant_id: string;
    external_id: string;
    display_phone_number: string | null;
    waba_id: string | null;
    webhook_secret: string | null;
    previous_webhook_secret: string | null;
    previous_secret_until: string | Date | null;
  }>(
    sql`select * from app.provider_callback_account(${input.id}::uuid, ${input.provider}::public.whatsapp_provider)`,
  );
  if (!row) return null;
  return {
    channelAccountId: input.id,
    tenantId: row.tenant_id,
    externalId: row.external_id,
    displayPhoneNumber: row.display_phone_number,
    wabaId: row.waba_id,
    webhookSecret: row.webhook_secret,
    previousWebhookSecret: row.previous_webhook_secret,
    previousSecretUntil: row.previous_secret_until ? new Date(row.previous_secret_until) : null,
  };
}
