import type postgres from 'postgres';
import { type GupshupAccount, type GupshupStandIn, startGupshup } from '../dev/stand-ins/gupshup';
import { startYCloud, type YCloudAccount, type YCloudStandIn } from '../dev/stand-ins/ycloud';
import { encryptSecret } from '../functions/lib/crypto';
import { TEST_ENCRYPTION_KEY, type TenantFixture } from './fixtures';
import { TEST_PUBLIC_BASE_URL } from './harness';

/**
 * Gupshup and YCloud stand-ins for tests: their callbacks are handed to the app in-process (as
 * the Graph stand-in's are), and numbers are added to them as tests connect them.
 */
export async function startProviderStandIns(deliver: (request: Request) => Promise<Response>) {
  const gupshupAccounts: GupshupAccount[] = [];
  const ycloudAccounts: YCloudAccount[] = [];
  const gupshup = await startGupshup({
    accounts: gupshupAccounts,
    deliverWebhook: deliver,
    statusDelayMs: 0,
  });
  const ycloud = await startYCloud({
    accounts: ycloudAccounts,
    deliverWebhook: deliver,
    statusDelayMs: 0,
  });
  return {
    gupshup,
    ycloud,
    gupshupAccounts,
    ycloudAccounts,
    bindings: { GUPSHUP_API_BASE_URL: gupshup.url, YCLOUD_API_BASE_URL: ycloud.url },
    close: () => Promise.all([gupshup.close(), ycloud.close()]),
  };
}

export type ProviderStandIns = Awaited<ReturnType<typeof startProviderStandIns>>;

export type ProviderNumber = {
  provider: 'gupshup' | 'ycloud';
  id: string;
  /** Gupshup's app name, or YCloud's number in E.164. */
  externalId: string;
  /** The business number, digits. */
  phone: string;
  apiKey: string;
  webhookSecret: string;
  callbackUrl: string;
};

const digits = (n: number) =>
  Array.from(crypto.getRandomValues(new Uint8Array(n)), (b) => b % 10).join('');

/** Connects a number of the tenant through a provider, with sealed credentials, as the API does. */
export async function connectProviderNumber(
  sql: postgres.Sql,
  t: TenantFixture,
  provider: 'gupshup' | 'ycloud',
): Promise<ProviderNumber> {
  const id = crypto.randomUUID();
  const phone = `1555${digits(7)}`;
  const externalId = provider === 'gupshup' ? `App${id.slice(0, 8)}` : `+${phone}`;
  const apiKey = `${provider}-key-${id.slice(0, 8)}`;
  const webhookSecret = `${provider}-secret-${digits(16)}`;
  await sql`insert into channel_accounts (id, tenant_id, channel, provider, external_id, waba_id, display_name, display_phone_number)
    values (${id}, ${t.tenantId}, 'whatsapp', ${provider}, ${externalId}, ${t.accounts.whatsapp.wabaId},
      ${`${t.name} ${provider}`}, ${phone})`;
  await sql`insert into private.channel_credentials (channel_account_id, tenant_id, access_token, webhook_secret)
    values (${id}, ${t.tenantId}, ${await encryptSecret(apiKey, TEST_ENCRYPTION_KEY)},
      ${await encryptSecret(webhookSecret, TEST_ENCRYPTION_KEY)})`;
  const base = `${TEST_PUBLIC_BASE_URL}/webhooks/${provider}/${id}`;
  const callbackUrl =
    provider === 'gupshup' ? `${base}?secret=${encodeURIComponent(webhookSecret)}` : base;
  return { provider, id, externalId, phone, apiKey, webhookSecret, callbackUrl };
}

/** Makes a connected number known to its provider's stand-in. */
export function registerWithStandIn(standIns: ProviderStandIns, number: ProviderNumber) {
  if (number.provider === 'gupshup') {
    standIns.gupshupAccounts.push({
      appName: number.externalId,
      apiKey: number.apiKey,
      source: number.phone,
      callbackUrl: number.callbackUrl,
    });
  } else {
    standIns.ycloudAccounts.push({
      phone: number.externalId,
      apiKey: number.apiKey,
      webhookSecret: number.webhookSecret,
      callbackUrl: number.callbackUrl,
    });
  }
}

/** A customer's text through the provider's stand-in, as the provider would post it. */
export async function customerWrites(
  standIns: ProviderStandIns,
  number: ProviderNumber,
  input: { from: string; name?: string; text: string },
): Promise<number | null> {
  if (number.provider === 'gupshup') {
    const { status } = await standIns.gupshup.sendInbound({ account: number.externalId, ...input });
    return status;
  }
  const delivery = await standIns.ycloud.inbound({ account: number.externalId, ...input });
  return delivery.status;
}

export type { GupshupStandIn, YCloudStandIn };
