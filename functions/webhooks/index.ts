import { createHash } from 'node:crypto';
import type { Context } from 'hono';
import { asIntake, asTenant, commitWith } from '../../db/client';
import {
  accountAppSecret,
  type ProviderCallbackAccount,
  recordWebhookEvent,
  resolveChannelAccount,
  type StoredWebhookEvent,
} from '../../db/webhook-events';
import type { App } from '../app';
import type { HonoEnv, Services } from '../context';
import type { Env } from '../env';
import { ApiError } from '../errors';
import { NO_TENANT, WEBHOOK_EVENT_JOB_KIND } from '../jobs/webhook-event';
import { decryptSecret } from '../lib/crypto';
import { publishJobs, publishUnqueuedJob } from '../lib/jobs';
import { safeErrorFields } from '../lib/logger';
import { createServices } from '../services';
import { INLINE_UPDATES_LIMIT, updatesIn } from './batch';
import { BASE64_PREFIX, type ProcessResult, type ProcessScope, processStoredBody } from './process';
import { parseSignatureHeader, sameSecret, signatureMatches } from './signature';

/**
 * `GET|POST /webhooks/meta`: the one callback URL for WhatsApp, Messenger and Instagram.
 *
 * POST: verify the signature over the raw bytes → store the raw body (webhook_events) and process
 * it, in one transaction → 200. The 200 is only sent once the body is durably stored: if it cannot
 * be stored the answer is 5xx and Meta retries. Processing writes only to Postgres, whose unique
 * keys also decide what is a duplicate (Meta resends): nothing else is asked before the 200, so
 * the request waits only for its three round trips (docs/performance.md). Publishing jobs (agent
 * turns, media downloads) happens after the response. The request size limit (413) is the
 * app-wide bodyLimit in functions/app.ts.
 */
export function registerWebhooks(app: App) {
  app.get('/webhooks/meta', async (c) => {
    const mode = c.req.query('hub.mode');
    const token = c.req.query('hub.verify_token') ?? '';
    const challenge = c.req.query('hub.challenge') ?? '';
    if (mode === 'subscribe' && (await sameSecret(token, c.var.env.META_VERIFY_TOKEN))) {
      // Meta expects the bare challenge back, as text.
      return c.text(challenge, 200);
    }
    throw new ApiError('FORBIDDEN', 'The verify token does not match this webhook.');
  });

  app.post('/webhooks/meta', async (c) => {
    const { env, services, logger } = c.var;
    const raw = new Uint8Array(await c.req.arrayBuffer());
    const signature = parseSignatureHeader(c.req.header('x-hub-signature-256'));
    if (!signature) {
      throw new ApiError('UNAUTHORIZED', 'X-Hub-Signature-256 (sha256=<hex>) is required.');
    }
    const text = utf8Text(raw);
    const signer = await signerOf(services, env, signature, raw, text);
    if (!signer) {
      throw new ApiError('UNAUTHORIZED', 'X-Hub-Signature-256 does not match this body.');
    }

    const eventId = await eventIdOf(raw);
    const log = logger.child({ eventId });

    const rawBody = text ?? `${BASE64_PREFIX}${toBase64(raw)}`;
    const { object, updates } = outlineOf(text);
    const event = {
      id: eventId,
      rawBody,
      provider: 'meta',
      signedFor: signer === 'app' ? null : [...signer.channelAccountIds],
    };
    if (updates > INLINE_UPDATES_LIMIT) {
      // A large batch: stored as it came, answered, and processed by its job after the 200. If
      // the job is never published, the sweeper replays the stored body (functions/lib/sweepers.ts).
      await storeReceived(c, { ...event, object });
      afterResponse(c, env, (fresh) =>
        publishUnqueuedJob(fresh, env, {
          kind: WEBHOOK_EVENT_JOB_KIND,
          id: eventId,
          tenantId: NO_TENANT,
          payload: { eventId },
        }),
      );
      log.info('large webhook body stored; its job processes it', { updates });
      return c.json({ status: 'received', event_id: eventId }, 200);
    }
    return processDelivery(c, {
      event,
      object,
      scope: signer === 'app' ? undefined : { channelAccountIds: signer.channelAccountIds },
    });
  });
}

/**
 * A delivery stored and processed in one transaction (a 200 means both are committed), its jobs
 * published after the response. If processing fails, nothing of the body was written: it is kept on
 * its own (`storeReceived`, for the provider's retry and operators' replays) and the answer is 503,
 * so the provider retries. Meta's and every provider's callbacks end here.
 */
export async function processDelivery(
  c: Context<HonoEnv>,
  delivery: {
    event: StoredWebhookEvent;
    object: string | null;
    scope?: ProcessScope;
    providerAccount?: ProviderCallbackAccount;
  },
) {
  const { services, env, logger } = c.var;
  const { event } = delivery;
  let result: ProcessResult;
  try {
    result = await processStoredBody({ services, env }, event, {
      scope: delivery.scope,
      store: { object: delivery.object },
      providerAccount: delivery.providerAccount,
    });
  } catch (processError) {
    await storeReceived(c, { ...event, object: delivery.object });
    logger.error('webhook stored but not processed', {
      eventId: event.id,
      ...safeErrorFields(processError),
    });
    throw new ApiError(
      'SERVICE_UNAVAILABLE',
      'The webhook was stored but could not be processed; retry later.',
    );
  }
  if (result.jobs.length > 0) {
    afterResponse(c, env, (fresh) => publishJobs(fresh, env, result.jobs));
  }
  // Everything in it was stored before (a resend): the database's unique keys said so.
  const duplicate =
    result.outcome === 'processed' && result.counts.stored === 0 && result.counts.duplicates > 0;
  return c.json({ status: duplicate ? 'duplicate' : result.outcome, event_id: event.id }, 200);
}

/**
 * The body alone, as `received` (BEGIN, the binding, the insert and COMMIT in one round trip); if
 * even that fails, 503 and the provider retries.
 */
async function storeReceived(
  c: Context<HonoEnv>,
  event: StoredWebhookEvent & { object: string | null },
): Promise<void> {
  await asIntake(c.var.services.db, async (tx) => commitWith(recordWebhookEvent(tx, event))).catch(
    (err) => {
      // The failed insert's message would carry the body (customers' words): size and cause only.
      c.var.logger.error('webhook body could not be stored', {
        eventId: event.id,
        bytes: event.rawBody.length,
        ...safeErrorFields(err),
      });
      throw new ApiError('SERVICE_UNAVAILABLE', 'The webhook could not be stored; retry later.');
    },
  );
}

/**
 * Work that must not delay the answer to Meta (publishing to QStash, Redis). It gets its own
 * services: the request's database client is closed as soon as the response is sent.
 */
export function afterResponse(
  c: Context<HonoEnv>,
  env: Env,
  work: (services: Services) => Promise<void>,
) {
  const { services: requestServices, logger } = c.var;
  const task = (async () => {
    const { services, close } = createServices(env, {
      clock: requestServices.clock,
      logFields: { requestId: c.var.requestId, phase: 'after-response' },
    });
    try {
      await work(services);
    } finally {
      await close().catch(() => {});
    }
  })().catch((err) => logger.error('after-response work failed', safeErrorFields(err)));
  try {
    c.executionCtx.waitUntil(task);
  } catch {
    // No execution context (a bare app.request): the task still runs, unawaited.
  }
}

/**
 * Who signed the body: `app` (the global app secret: Meta, for every account), or the accounts
 * whose own app secret (decrypted only for this check, never logged) matches. Null: nobody.
 */
async function signerOf(
  services: Services,
  env: Env,
  signature: Uint8Array,
  raw: Uint8Array,
  text: string | null,
): Promise<'app' | { channelAccountIds: Set<string> } | null> {
  if (await signatureMatches(signature, raw, text, [env.META_APP_SECRET])) return 'app';
  const candidates = candidateAccounts(text);
  if (candidates.length === 0) return null;
  const signedBy = new Set<string>();
  try {
    const accounts = await asIntake(services.db, async (ctx) => {
      const found = [];
      for (const candidate of candidates) {
        const account = await resolveChannelAccount(ctx, candidate);
        if (account) found.push(account);
      }
      return found;
    });
    for (const account of accounts) {
      const sealed = await asTenant(services.db, account.tenantId, (ctx) =>
        accountAppSecret(ctx, account.channelAccountId),
      );
      if (!sealed) continue;
      const secret = await decryptSecret(sealed, env.CREDENTIALS_ENCRYPTION_KEY);
      if (await signatureMatches(signature, raw, text, [secret])) {
        signedBy.add(account.channelAccountId);
      }
    }
  } catch (err) {
    services.logger.error('could not load account app secrets', safeErrorFields(err));
    throw new ApiError('SERVICE_UNAVAILABLE', 'The signature could not be checked; retry later.');
  }
  return signedBy.size > 0 ? { channelAccountIds: signedBy } : null;
}

/** Accounts an (as yet unverified) body claims to be for; a few at most. */
function candidateAccounts(
  text: string | null,
): Array<{ channel: 'whatsapp' | 'messenger' | 'instagram'; externalId: string }> {
  if (text === null) return [];
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return [];
  }
  if (typeof body !== 'object' || body === null) return [];
  const object = Reflect.get(body, 'object');
  const entries = Reflect.get(body, 'entry');
  if (!Array.isArray(entries)) return [];
  const found = new Map<
    string,
    { channel: 'whatsapp' | 'messenger' | 'instagram'; externalId: string }
  >();
  const add = (channel: 'whatsapp' | 'messenger' | 'instagram', id: unknown) => {
    // Meta's account ids are digits; anything else cannot be one of ours.
    if (typeof id === 'string' && /^\d{1,32}$/.test(id)) {
      found.set(`${channel}:${id}`, { channel, externalId: id });
    }
  };
  for (const entry of entries.slice(0, 20)) {
    if (typeof entry !== 'object' || entry === null) continue;
    if (object === 'page') add('messenger', Reflect.get(entry, 'id'));
    else if (object === 'instagram') add('instagram', Reflect.get(entry, 'id'));
    else if (object === 'whatsapp_business_account') {
      const changes = Reflect.get(entry, 'changes');
      if (!Array.isArray(changes)) continue;
      for (const change of changes.slice(0, 20)) {
        const value =
          typeof change === 'object' && change !== null ? Reflect.get(change, 'value') : null;
        const metadata =
          typeof value === 'object' && value !== null ? Reflect.get(value, 'metadata') : null;
        if (typeof metadata === 'object' && metadata !== null) {
          add('whatsapp', Reflect.get(metadata, 'phone_number_id'));
        }
      }
    }
  }
  return [...found.values()].slice(0, 5);
}

/** The body as text when it is valid UTF-8 without NUL (Postgres text cannot hold NUL). */
export function utf8Text(raw: Uint8Array): string | null {
  try {
    const text = new TextDecoder('utf-8', { fatal: true }).decode(raw);
    return text.includes('\u0000') ? null : text;
  } catch {
    return null;
  }
}

function outlineOf(text: string | null): { object: string | null; updates: number } {
  if (text === null) return { object: null, updates: 0 };
  try {
    const body: unknown = JSON.parse(text);
    const object = typeof body === 'object' && body !== null ? Reflect.get(body, 'object') : null;
    return {
      object: typeof object === 'string' ? object.slice(0, 100).replaceAll('\u0000', '') : null,
      updates: updatesIn(body),
    };
  } catch {
    return { object: null, updates: 0 };
  }
}

/**
 * The event id is derived from the body (SHA-256, shaped as a version-8 UUID), so the same body
 * delivered again is the same event: stored once, however often Meta resends it.
 */
export async function eventIdOf(raw: Uint8Array): Promise<string> {
  // node:crypto, synchronous: WebCrypto's digest cost a seventh of the CPU under load on Node.
  const digest = new Uint8Array(createHash('sha256').update(raw).digest()).slice(0, 16);
  digest[6] = ((digest[6] ?? 0) & 0x0f) | 0x80;
  digest[8] = ((digest[8] ?? 0) & 0x3f) | 0x80;
  const hex = Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export function toBase64(bytes: Uint8Array): string {
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}
