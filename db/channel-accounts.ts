import { and, asc, eq, ne, sql } from 'drizzle-orm';
import { ConflictError, NotFoundError } from '../core/errors';
import type { TenantContext } from './client';
import { channelAccounts, channelCredentials, widgets } from './schema';

/**
 * A business's channel accounts, and connecting WhatsApp numbers that a provider carries (Gupshup,
 * YCloud) with their credentials. Credentials arrive sealed (functions/lib/crypto.ts) and live in
 * `private`, which only the tenant handle reaches; operators' routes check the role first.
 */

const accountColumns = {
  id: channelAccounts.id,
  channel: channelAccounts.channel,
  provider: channelAccounts.provider,
  externalId: channelAccounts.externalId,
  displayName: channelAccounts.displayName,
  displayPhoneNumber: channelAccounts.displayPhoneNumber,
  wabaId: channelAccounts.wabaId,
  createdAt: channelAccounts.createdAt,
};

const widgetColumns = {
  allowedOrigins: widgets.allowedOrigins,
  title: widgets.title,
  color: widgets.color,
  greeting: widgets.greeting,
};

/** Every account of the business, a web widget's settings with it. */
export async function listChannelAccounts({ tx }: TenantContext) {
  return tx
    .select({ ...accountColumns, widget: widgetColumns })
    .from(channelAccounts)
    .leftJoin(widgets, eq(widgets.channelAccountId, channelAccounts.id))
    .orderBy(asc(channelAccounts.channel), asc(channelAccounts.createdAt), asc(channelAccounts.id));
}

export type ChannelAccountRow = Awaited<ReturnType<typeof listChannelAccounts>>[number];
export type WidgetSettings = NonNullable<ChannelAccountRow['widget']>;

/** A provider-carried WhatsApp number with its sealed API key and callback secret, in one go. */
export async function connectProviderAccount(
  { tx, tenantId }: TenantContext,
  input: {
    provider: 'gupshup' | 'ycloud';
    externalId: string;
    displayName: string;
    displayPhoneNumber: string;
    wabaId: string | null;
    sealedApiKey: string;
    sealedWebhookSecret: string;
  },
): Promise<ChannelAccountRow> {
  const [account] = await tx
    .insert(channelAccounts)
    .values({
      tenantId,
      channel: 'whatsapp',
      provider: input.provider,
      externalId: input.externalId,
      displayName: input.displayName,
      displayPhoneNumber: input.displayPhoneNumber,
      wabaId: input.wabaId,
    })
    .onConflictDoNothing()
    .returning(accountColumns);
  if (!account) {
    throw new ConflictError(
      `A WhatsApp number "${input.externalId}" is already connected; each can be connected once.`,
    );
  }
  await tx.insert(channelCredentials).values({
    channelAccountId: account.id,
    tenantId,
    accessToken: input.sealedApiKey,
    webhookSecret: input.sealedWebhookSecret,
  });
  return { ...account, widget: null };
}

/** A web chat widget: its account (the public key) and its settings. */
export async function createWidget(
  { tx, tenantId }: TenantContext,
  input: { publicKey: string; displayName: string; settings: WidgetSettings },
): Promise<ChannelAccountRow> {
  const [account] = await tx
    .insert(channelAccounts)
    .values({
      tenantId,
      channel: 'web',
      externalId: input.publicKey,
      displayName: input.displayName,
    })
    .returning(accountColumns);
  if (!account) throw new Error('createWidget: the insert returned nothing');
  const [widget] = await tx
    .insert(widgets)
    .values({ tenantId, channelAccountId: account.id, ...input.settings })
    .returning(widgetColumns);
  return { ...account, widget: widget ?? null };
}

/** Changes a widget's settings; NotFound for anything but one of the tenant's widgets. */
export async function updateWidget(
  { tx }: TenantContext,
  id: string,
  changes: Partial<WidgetSettings>,
): Promise<ChannelAccountRow> {
  const [widget] = await tx
    .update(widgets)
    .set({ ...changes, updatedAt: sql`now()` })
    .where(eq(widgets.channelAccountId, id))
    .returning(widgetColumns);
  if (!widget) throw new NotFoundError('Web widget', id);
  const [account] = await tx
    .select(accountColumns)
    .from(channelAccounts)
    .where(eq(channelAccounts.id, id));
  if (!account) throw new NotFoundError('Web widget', id);
  return { ...account, widget };
}

/** The provider of one of the tenant's numbers carried by a provider; NotFound otherwise. */
async function providerOf({ tx }: TenantContext, id: string): Promise<'gupshup' | 'ycloud'> {
  const [row] = await tx
    .select({ provider: channelAccounts.provider })
    .from(channelAccounts)
    .where(and(eq(channelAccounts.id, id), ne(channelAccounts.provider, 'meta')));
  if (!row || row.provider === 'meta') throw new NotFoundError('Provider-carried number', id);
  return row.provider;
}

/**
 * A new callback secret; the one it replaces stays accepted until `graceUntil`, so callbacks
 * already on their way (and the provider's retries of them) are not refused while the provider's
 * settings are being changed.
 */
export async function rotateWebhookSecret(
  ctx: TenantContext,
  input: { id: string; sealedSecret: string; graceUntil: Date },
): Promise<'gupshup' | 'ycloud'> {
  const provider = await providerOf(ctx, input.id);
  await ctx.tx
    .update(channelCredentials)
    .set({
      previousWebhookSecret: sql`${channelCredentials.webhookSecret}`,
      previousSecretUntil: sql`case when ${channelCredentials.webhookSecret} is null then null else ${input.graceUntil.toISOString()}::timestamptz end`,
      webhookSecret: input.sealedSecret,
      updatedAt: sql`now()`,
    })
    .where(eq(channelCredentials.channelAccountId, input.id));
  return provider;
}

/** A new API key for a provider-carried number (the provider issued a new one). */
export async function setProviderApiKey(
  ctx: TenantContext,
  input: { id: string; sealedApiKey: string },
): Promise<void> {
  await providerOf(ctx, input.id);
  await ctx.tx
    .update(channelCredentials)
    .set({ accessToken: input.sealedApiKey, updatedAt: sql`now()` })
    .where(eq(channelCredentials.channelAccountId, input.id));
}
