import { integer, pgEnum, pgSchema, text, unique } from 'drizzle-orm/pg-core';
import { at, createdAt, parentKey, updatedAt } from './columns';
import { workerOfTenant } from './roles';
import { tenantRef, tenantTable } from './tenants';

export const channel = pgEnum('channel', ['whatsapp', 'messenger', 'instagram']);
export type Channel = (typeof channel.enumValues)[number];

/**
 * Who carries a WhatsApp number: Meta's Cloud API directly, or a business solution provider
 * (functions/providers). Messenger and Instagram accounts are always `meta`.
 */
export const whatsappProvider = pgEnum('whatsapp_provider', ['meta', 'gupshup', 'ycloud']);

/**
 * A WhatsApp number, a Messenger page or an Instagram account of one tenant. `external_id` is the
 * id Meta puts in webhooks (phone_number_id / page id / IG account id) and is unique per channel:
 * it is how an inbound webhook finds its tenant. A number carried by a provider has the provider's
 * own handle there instead (Gupshup: the app name; YCloud: the number in E.164), and its callbacks
 * come to `/webhooks/{provider}/{id}`.
 */
export const channelAccounts = tenantTable(
  'channel_accounts',
  'admins-write',
  {
    channel: channel('channel').notNull(),
    provider: whatsappProvider('provider').notNull().default('meta'),
    externalId: text('external_id').notNull(),
    wabaId: text('waba_id'),
    displayName: text('display_name').notNull(),
    displayPhoneNumber: text('display_phone_number'),
    /** WhatsApp per-number throughput cap (messages per second); Meta's default is 80. */
    throughputPerSecond: integer('throughput_per_second').notNull().default(80),
    createdAt: createdAt(),
  },
  (t) => [unique('channel_accounts_external').on(t.channel, t.externalId)],
);

/**
 * Secrets live outside the exposed `public` schema, in `private`, which neither `anon` nor
 * `authenticated` may even see (no USAGE grant), and they are AES-GCM ciphertext on top of that.
 * Only the tenant handle reads them, for one tenant at a time.
 */
export const privateSchema = pgSchema('private');

export const channelCredentials = privateSchema
  .table(
    'channel_credentials',
    {
      channelAccountId: parentKey('channel_account_id', () => channelAccounts.id),
      tenantId: tenantRef(),
      /** Graph API access token, `v1:<iv>:<ciphertext>` (see functions/lib/crypto.ts). */
      accessToken: text('access_token').notNull(),
      /** The Meta app secret this account's webhooks are signed with, when it is not the global one. */
      appSecret: text('app_secret'),
      /**
       * A provider-carried number's callback secret, sealed: Gupshup's is in the callback URL only,
       * YCloud's signs each body. For Meta accounts the access token above is the credential and
       * this is null.
       */
      webhookSecret: text('webhook_secret'),
      /** The secret before the last rotation, still accepted until `previous_secret_until`. */
      previousWebhookSecret: text('previous_webhook_secret'),
      previousSecretUntil: at('previous_secret_until'),
      updatedAt: updatedAt(),
    },
    (t) => [workerOfTenant('channel_credentials', t.tenantId)],
  )
  .enableRLS();
