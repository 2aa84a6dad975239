import type { Context } from 'hono';
import { z } from 'zod';
import { asIntake, commitWith } from '../../db/client';
import { type ProviderCallbackAccount, providerCallbackAccount } from '../../db/webhook-events';
import type { App } from '../app';
import type { HonoEnv } from '../context';
import { ApiError } from '../errors';
import { decryptSecret } from '../lib/crypto';
import { safeErrorFields } from '../lib/logger';
import { callbackAdapter } from '../providers';
import type { WhatsAppAdapter } from '../providers/adapter';
import { eventIdOf, processDelivery, toBase64, utf8Text } from './index';
import { BASE64_PREFIX } from './process';

/**
 * `POST /webhooks/{provider}/{account}`: callbacks from a provider that carries a WhatsApp number
 * (Gupshup, YCloud). The URL names our channel account; the provider's adapter checks that the
 * callback is authentic for it (Gupshup: the secret only the callback URL carries; YCloud: the
 * body's signature with the endpoint secret), and only then is anything stored. From there it is
 * Meta's path: the raw body stored and processed in one transaction before the 200, exactly once
 * (the event id is the body's hash, messages are unique per account and provider id), and every
 * item written to this account only.
 */
export function registerProviderWebhooks(app: App) {
  app.post('/webhooks/:provider/:account', async (c) => {
    const provider = c.req.param('provider');
    const adapter = callbackAdapter(provider);
    if (!adapter) throw new ApiError('NOT_FOUND', `No webhook for provider "${provider}".`);
    const accountId = z.uuid().safeParse(c.req.param('account'));
    if (!accountId.success) {
      throw new ApiError('NOT_FOUND', `No ${provider} account "${c.req.param('account')}".`);
    }
    const raw = new Uint8Array(await c.req.arrayBuffer());
    const account = await callbackAccount(c, { id: accountId.data, provider });
    if (!account) throw new ApiError('NOT_FOUND', `No ${provider} account ${accountId.data}.`);
    const text = utf8Text(raw);
    if (!(await authentic(c, adapter, account, raw, text))) {
      throw new ApiError(
        'UNAUTHORIZED',
        adapter.provider === 'gupshup'
          ? 'The callback URL does not carry this account’s secret.'
          : 'YCloud-Signature is missing, stale or does not match this body.',
      );
    }
    const event = {
      // The body's hash within its provider and account: a resend is the same event, and no
      // body of another account or of Meta can ever be taken for it.
      id: await eventIdOf(keyedBy(`${provider}/${account.channelAccountId}\n`, raw)),
      rawBody: text ?? `${BASE64_PREFIX}${toBase64(raw)}`,
      provider,
      signedFor: [account.channelAccountId],
    };
    return processDelivery(c, {
      event,
      object: provider,
      scope: { channelAccountIds: new Set(event.signedFor) },
      providerAccount: account,
    });
  });
}

/** `prefix` then `raw`, as one byte array. */
function keyedBy(prefix: string, raw: Uint8Array): Uint8Array {
  const head = new TextEncoder().encode(prefix);
  const keyed = new Uint8Array(head.length + raw.length);
  keyed.set(head);
  keyed.set(raw, head.length);
  return keyed;
}

async function callbackAccount(
  c: Context<HonoEnv>,
  input: { id: string; provider: string },
): Promise<ProviderCallbackAccount | null> {
  try {
    // BEGIN, the binding, the read and COMMIT in one round trip.
    return await asIntake(c.var.services.db, async (ctx) =>
      commitWith(providerCallbackAccount(ctx, input)),
    );
  } catch (err) {
    c.var.logger.error('could not read the callback account', safeErrorFields(err));
    throw new ApiError('SERVICE_UNAVAILABLE', 'The callback could not be checked; retry later.');
  }
}

/**
 * Whether the adapter finds the callback authentic with the account's secret, or with the one it
 * had before its last rotation while that is still accepted. Secrets are decrypted only for this
 * check and never logged.
 */
async function authentic(
  c: Context<HonoEnv>,
  adapter: WhatsAppAdapter,
  account: ProviderCallbackAccount,
  raw: Uint8Array,
  text: string | null,
): Promise<boolean> {
  const { env, services } = c.var;
  const now = services.clock.now();
  const sealed = [account.webhookSecret];
  if (account.previousSecretUntil && account.previousSecretUntil > now) {
    sealed.push(account.previousWebhookSecret);
  }
  const request = {
    raw,
    text: text ?? new TextDecoder().decode(raw),
    headers: c.req.raw.headers,
    url: new URL(c.req.url),
    now,
  };
  for (const secret of sealed) {
    if (!secret) continue;
    let plain: string;
    try {
      plain = await decryptSecret(secret, env.CREDENTIALS_ENCRYPTION_KEY);
    } catch {
      c.var.logger.error('a callback secret could not be decrypted', {
        channelAccountId: account.channelAccountId,
      });
      continue;
    }
    if (await adapter.authenticate(request, plain)) return true;
  }
  return false;
}
