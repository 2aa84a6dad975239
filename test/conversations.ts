import type postgres from 'postgres';
import type { Clock } from '../functions/context';
import type { TenantFixture } from './fixtures';

/**
 * Test support for the outbound tests (not used by the app): a contact and a conversation of a
 * test tenant, arranged with the superuser connection, as inbound ingestion would have left them.
 */

export type ConversationFixture = {
  conversationId: string;
  contactId: string;
  channel: 'whatsapp' | 'messenger' | 'instagram';
  /** Phone digits on WhatsApp, PSID / IGSID otherwise. */
  externalUserId: string;
  /** A customer message with a provider id, to quote or react to. */
  inbound: { id: string; providerMessageId: string };
};

const digits = (n: number) =>
  Array.from(crypto.getRandomValues(new Uint8Array(n)), (b) => b % 10).join('');

export async function createConversation(
  sql: postgres.Sql,
  t: TenantFixture,
  options: {
    channel?: 'whatsapp' | 'messenger' | 'instagram';
    /** When the customer last wrote; null = never. Default: one hour before `now`. */
    lastInboundAt?: Date | null;
    now?: Date;
    name?: string;
  } = {},
): Promise<ConversationFixture> {
  const channel = options.channel ?? 'whatsapp';
  const now = options.now ?? new Date();
  const lastInboundAt =
    options.lastInboundAt === undefined
      ? new Date(now.getTime() - 60 * 60 * 1000)
      : options.lastInboundAt;
  const externalUserId = channel === 'whatsapp' ? `34${digits(9)}` : `7${digits(15)}`;
  const contactId = crypto.randomUUID();
  const conversationId = crypto.randomUUID();
  await sql`insert into contacts (id, tenant_id, channel, external_user_id, phone, name)
    values (${contactId}, ${t.tenantId}, ${channel}, ${externalUserId},
            ${channel === 'whatsapp' ? externalUserId : null}, ${options.name ?? 'Maria'})`;
  await sql`insert into conversations (id, tenant_id, contact_id, channel_account_id, last_inbound_at)
    values (${conversationId}, ${t.tenantId}, ${contactId}, ${t.accounts[channel].id}, ${lastInboundAt})`;
  const inbound = {
    id: crypto.randomUUID(),
    providerMessageId: channel === 'whatsapp' ? `wamid.TEST${digits(20)}` : `m_TEST${digits(20)}`,
  };
  if (lastInboundAt) {
    await sql`insert into messages (id, tenant_id, conversation_id, channel_account_id, direction, sender, type, content, provider_message_id, provider_timestamp, status)
      values (${inbound.id}, ${t.tenantId}, ${conversationId}, ${t.accounts[channel].id}, 'inbound', 'user', 'text', 'Hola', ${inbound.providerMessageId}, ${lastInboundAt}, 'received')`;
  }
  return { conversationId, contactId, channel, externalUserId, inbound };
}

/** A clock tests move by hand; starts at a fixed point near now so stand-in clocks agree. */
export function manualClock(
  start = new Date(),
): Clock & { set(d: Date): void; advance(ms: number): void } {
  let current = new Date(start);
  return {
    now: () => new Date(current),
    set: (d) => {
      current = new Date(d);
    },
    advance: (ms) => {
      current = new Date(current.getTime() + ms);
    },
  };
}
