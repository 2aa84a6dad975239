import type postgres from 'postgres';
import { encodeMetaBody, signMetaBody, type WhatsAppNumber } from '../dev/meta-payloads';
import type { TenantFixture } from './fixtures';
import { type Harness, TEST_APP_SECRET, TEST_PUBLIC_BASE_URL } from './harness';

export const WEBHOOK_URL = `${TEST_PUBLIC_BASE_URL}/webhooks/meta`;

/**
 * POSTs a webhook body the way Meta does: Meta-escaped JSON (or `raw` bytes as given), signed with
 * the app secret unless `signature` overrides it (`null` = no header).
 */
export async function postWebhook(
  h: Harness,
  body: unknown,
  options: { raw?: string | Uint8Array; secret?: string; signature?: string | null } = {},
): Promise<Response> {
  const raw = options.raw ?? encodeMetaBody(body);
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  const signature =
    options.signature === undefined
      ? await signMetaBody(raw, options.secret ?? TEST_APP_SECRET)
      : options.signature;
  if (signature !== null) headers['x-hub-signature-256'] = signature;
  return h.request(WEBHOOK_URL, {
    method: 'POST',
    headers,
    body: raw as BodyInit,
  });
}

/** The tenant's WhatsApp number in the shape the payload builders take. */
export function waNumber(t: TenantFixture): WhatsAppNumber {
  return {
    wabaId: t.accounts.whatsapp.wabaId,
    phoneNumberId: t.accounts.whatsapp.externalId,
    displayPhoneNumber: t.accounts.whatsapp.phone,
  };
}

/** A customer phone number nobody else in the run uses. */
export function customerPhone(): string {
  return `3467${String(Math.floor(Math.random() * 1e8)).padStart(8, '0')}`;
}

/** A PSID / IGSID nobody else in the run uses. */
export function scopedUserId(): string {
  return `7${String(Math.floor(Math.random() * 1e15)).padStart(15, '0')}`;
}

/** Stored messages of one channel account, oldest first by provider time. */
export async function messagesOf(sql: postgres.Sql, channelAccountId: string) {
  return sql`
    select m.*, c.external_user_id, c.phone, c.bsuid, c.name as contact_name
    from messages m
    join conversations cv on cv.id = m.conversation_id
    join contacts c on c.id = cv.contact_id
    where m.channel_account_id = ${channelAccountId}
    order by m.provider_timestamp, m.id`;
}

/** The webhook event a body was stored as (its id is derived from the body). */
export async function eventOf(sql: postgres.Sql, eventId: string) {
  const [row] = await sql`select * from webhook_events where id = ${eventId}`;
  return row;
}

/** Unix seconds for WhatsApp builders, from a Date offset in minutes from now. */
export function secondsAgo(seconds: number): number {
  return Math.floor(Date.now() / 1000) - seconds;
}

/**
 * An outbound message as the send path leaves it (contact and conversation created if needed):
 * what status webhooks and echoes refer to.
 */
export async function insertOutbound(
  sql: postgres.Sql,
  t: TenantFixture,
  options: {
    channel: 'whatsapp' | 'messenger' | 'instagram';
    customer: string;
    providerMessageId: string | null;
    status?: string;
    providerTimestamp?: Date;
    content?: string;
  },
) {
  const account = t.accounts[options.channel];
  const [contact] = await sql`insert into contacts (tenant_id, channel, external_user_id, phone)
    values (${t.tenantId}, ${options.channel}, ${options.customer},
            ${options.channel === 'whatsapp' ? options.customer : null})
    on conflict (tenant_id, channel, external_user_id) do update set updated_at = now()
    returning id`;
  const [conversation] =
    await sql`insert into conversations (tenant_id, contact_id, channel_account_id)
    values (${t.tenantId}, ${contact!.id}, ${account.id})
    on conflict (channel_account_id, contact_id) do update set updated_at = now()
    returning id`;
  const [message] = await sql`insert into messages (tenant_id, conversation_id, channel_account_id,
      direction, sender, type, content, provider_message_id, provider_timestamp, status)
    values (${t.tenantId}, ${conversation!.id}, ${account.id}, 'outbound', 'agent', 'text',
            ${options.content ?? 'our reply'}, ${options.providerMessageId},
            ${options.providerTimestamp ?? new Date(Date.now() - 60_000)}, ${options.status ?? 'sent'})
    returning *`;
  return { conversationId: conversation!.id as string, message: message! };
}

export async function statusOf(sql: postgres.Sql, messageId: string) {
  const [row] =
    await sql`select status, error_code, error_reason from messages where id = ${messageId}`;
  return row;
}
