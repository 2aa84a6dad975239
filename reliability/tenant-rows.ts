import type postgres from 'postgres';
import { encryptSecret } from '../functions/lib/crypto';
import { createSalon } from '../test/appointments';
import { createConversation } from '../test/conversations';
import { TEST_ENCRYPTION_KEY, type TenantFixture } from '../test/fixtures';
import { must } from '../test/must';

/** The origin the reliability widgets allow. */
export const WIDGET_ORIGIN = 'https://shop.reliability.example';

/**
 * One row of every kind an operator route takes an id of, for one tenant, each holding a marker
 * that must never show in another tenant's answers; plus the tenant's own secrets (its account's
 * app secret and its model API key, sealed at rest as the app keeps them), which no answer may
 * ever show, not even to the tenant itself.
 */
export async function seedTenantRows(sql: postgres.Sql, t: TenantFixture) {
  const marker = `MARKER-${t.tenantId}`;
  const salon = await createSalon(sql, t);
  const conv = await createConversation(sql, t, { name: `${marker} contact` });
  await sql`update messages set content = ${`${marker} message`},
      attachments = ${sql.json([{ kind: 'image', mimeType: 'image/jpeg' }])}
    where id = ${conv.inbound.id}`;
  const one = async (query: Promise<postgres.RowList<postgres.Row[]>>, what: string) =>
    must((await query)[0], what).id as string;
  const note = await one(
    sql`insert into contact_notes (tenant_id, contact_id, author_user_id, body)
      values (${t.tenantId}, ${conv.contactId}, ${t.owner.id}, ${`${marker} note`}) returning id`,
    'note',
  );
  const reply = await one(
    sql`insert into canned_replies (tenant_id, title, text)
      values (${t.tenantId}, ${`${marker} reply`}, ${`${marker} reply text`}) returning id`,
    'canned reply',
  );
  // A model priced by this business alone: another's owner naming it finds nothing to remove.
  // Named like an id, so its refusal reads exactly like a missing one's.
  const modelPrice = crypto.randomUUID();
  await sql`insert into model_prices (tenant_id, model, input_usd_per_million,
      cached_input_usd_per_million, output_usd_per_million)
    values (${t.tenantId}, ${modelPrice}, 1, 0.5, 2)`;
  const article = await one(
    sql`insert into knowledge_articles (tenant_id, title, body)
      values (${t.tenantId}, ${`${marker} article`}, ${`${marker} article body`}) returning id`,
    'article',
  );
  const hours = await one(
    sql`select id from working_hours where staff_id = ${salon.ana} limit 1`,
    'working hours',
  );
  const exception = await one(
    sql`insert into schedule_exceptions (tenant_id, date, kind)
      values (${t.tenantId}, '2031-01-06', 'holiday') returning id`,
    'exception',
  );
  const start = new Date(Date.UTC(2031, 0, 7, 9));
  const end = new Date(start.getTime() + 30 * 60_000);
  const appointment = await one(
    sql`insert into appointments (tenant_id, contact_id, service_id, staff_id, period, starts_at, ends_at, booked_by)
      values (${t.tenantId}, ${salon.contactId}, ${salon.cut}, ${salon.ana},
        tstzrange(${start}, ${end}), ${start}, ${end}, 'operator') returning id`,
    'appointment',
  );
  const correlationId = `turn-${crypto.randomUUID()}`;
  await sql`insert into agent_runs (tenant_id, conversation_id, correlation_id, model, outcome)
    values (${t.tenantId}, ${conv.conversationId}, ${correlationId}, 'mock', 'replied')`;
  const draft = await one(
    sql`insert into agent_drafts (tenant_id, conversation_id, correlation_id, message, preview)
      values (${t.tenantId}, ${conv.conversationId}, ${correlationId},
        ${sql.json({ type: 'text', text: `${marker} draft` })}, ${`${marker} draft`}) returning id`,
    'draft',
  );
  const opportunity = await one(
    sql`insert into opportunities (tenant_id, contact_id, conversation_id, kind, evidence_id, evidence_text, suggested_action)
      values (${t.tenantId}, ${conv.contactId}, ${conv.conversationId}, 'price_no_booking',
        ${conv.inbound.id}, ${`${marker} evidence`}, 'offer_booking') returning id`,
    'opportunity',
  );
  const event = crypto.randomUUID();
  await sql`insert into webhook_events (id, tenant_id, object, raw_body, outcome, reason)
    values (${event}, ${t.tenantId}, 'page', ${JSON.stringify({ marker })}, 'dead', ${`${marker} reason`})`;

  // The web chat widget (docs/widget.md): a widget, a visitor and their conversation.
  const widgetKey = `pk_rel_${t.tenantId.replaceAll('-', '')}`;
  const widgetAccount = await one(
    sql`insert into channel_accounts (tenant_id, channel, external_id, display_name)
      values (${t.tenantId}, 'web', ${widgetKey}, 'Website') returning id`,
    'widget account',
  );
  await sql`insert into widgets (tenant_id, channel_account_id, allowed_origins)
    values (${t.tenantId}, ${widgetAccount}, ${sql.json([WIDGET_ORIGIN])})`;
  const visitorId = crypto.randomUUID();
  const visitor = await one(
    sql`insert into contacts (tenant_id, channel, external_user_id, name, email)
      values (${t.tenantId}, 'web', ${visitorId}, ${`${marker} visitor`}, 'visitor@example.test')
      returning id`,
    'widget visitor',
  );
  const webConversation = await one(
    sql`insert into conversations (tenant_id, contact_id, channel_account_id)
      values (${t.tenantId}, ${visitor}, ${widgetAccount}) returning id`,
    'widget conversation',
  );
  await sql`insert into messages (tenant_id, conversation_id, channel_account_id, direction, sender,
      type, content, provider_message_id, provider_timestamp, status)
    values (${t.tenantId}, ${webConversation}, ${widgetAccount}, 'inbound', 'user', 'text',
      ${`${marker} widget message`}, ${`web:in:${visitorId}:reliability`}, now(), 'received')`;

  const secrets = {
    appSecret: `app-secret-${t.tenantId}`,
    modelKey: `sk-reliability-${t.tenantId}`,
  };
  const sealedAppSecret = await encryptSecret(secrets.appSecret, TEST_ENCRYPTION_KEY);
  const sealedModelKey = await encryptSecret(secrets.modelKey, TEST_ENCRYPTION_KEY);
  await sql`update private.channel_credentials set app_secret = ${sealedAppSecret}
    where channel_account_id = ${t.accounts.whatsapp.id}`;
  await sql`insert into private.agent_model_keys (tenant_id, api_key)
    values (${t.tenantId}, ${sealedModelKey})
    on conflict (tenant_id) do update set api_key = excluded.api_key`;
  const [sealedToken] = await sql`select access_token from private.channel_credentials
    where channel_account_id = ${t.accounts.whatsapp.id}`;
  // A number Gupshup carries, with its API key and callback secret sealed as the app keeps them.
  const providerNumber = crypto.randomUUID();
  const providerSecrets = {
    apiKey: `gupshup-key-${t.tenantId}`,
    webhookSecret: `gupshup-secret-${t.tenantId}`,
  };
  const sealedProviderKey = await encryptSecret(providerSecrets.apiKey, TEST_ENCRYPTION_KEY);
  const sealedProviderSecret = await encryptSecret(
    providerSecrets.webhookSecret,
    TEST_ENCRYPTION_KEY,
  );
  await sql`insert into channel_accounts (id, tenant_id, channel, provider, external_id, display_name, display_phone_number)
    values (${providerNumber}, ${t.tenantId}, 'whatsapp', 'gupshup', ${`App${providerNumber.slice(0, 8)}`},
      ${`${marker} number`}, '15550100009')`;
  await sql`insert into private.channel_credentials (channel_account_id, tenant_id, access_token, webhook_secret)
    values (${providerNumber}, ${t.tenantId}, ${sealedProviderKey}, ${sealedProviderSecret})`;

  return {
    marker,
    widget: { key: widgetKey, channelAccountId: widgetAccount, visitorId },
    /** Plain and sealed secrets of this tenant: never in any answer or log line. */
    secrets: [
      secrets.appSecret,
      secrets.modelKey,
      sealedAppSecret,
      sealedModelKey,
      sealedToken?.access_token as string,
      providerSecrets.apiKey,
      providerSecrets.webhookSecret,
      sealedProviderKey,
      sealedProviderSecret,
    ],
    /** The id each path parameter takes, by the path's resource and the parameter's name. */
    ids: {
      chats: conv.conversationId,
      conversations: conv.conversationId,
      contacts: conv.contactId,
      messages: conv.inbound.id,
      media: conv.inbound.id,
      note_id: note,
      'canned-replies': reply,
      model: modelPrice,
      knowledge: article,
      services: salon.cut,
      staff: salon.ana,
      hours_id: hours,
      'schedule-exceptions': exception,
      appointments: appointment,
      logs: correlationId,
      drafts: draft,
      opportunities: opportunity,
      'webhook-events': event,
      channels: providerNumber,
    } as Record<string, string>,
  };
}

export type TenantRows = Awaited<ReturnType<typeof seedTenantRows>>;

/**
 * A fingerprint of every row of one tenant in every table that has a tenant_id (public and
 * private): equal before and after means nothing of the tenant changed.
 */
export async function tenantFingerprint(sql: postgres.Sql, tenantId: string) {
  const tables = await sql<{ schema: string; name: string }[]>`
    select table_schema as schema, table_name as name from information_schema.columns
    where column_name = 'tenant_id' and table_schema in ('public', 'private')
      and table_name in (select table_name from information_schema.tables
                         where table_type = 'BASE TABLE' and table_schema in ('public', 'private'))
    order by 1, 2`;
  const prints: Record<string, string> = {};
  for (const { schema, name } of tables) {
    const [row] = await sql`select count(*)::int as n,
        md5(coalesce(string_agg(t::text, '|' order by t::text), '')) as h
      from ${sql(schema)}.${sql(name)} t where tenant_id = ${tenantId}`;
    prints[`${schema}.${name}`] = `${row?.n}:${row?.h}`;
  }
  return prints;
}
