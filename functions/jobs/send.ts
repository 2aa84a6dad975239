import { z } from 'zod';
import type { GraphErrorMeaning } from '../../core/messaging/graph-errors';
import type { MessagingMessage, WhatsAppMessage } from '../../core/messaging/kinds';
import { gaveUpReason, SEND_REASONS, type SendReasonCode } from '../../core/messaging/send-reasons';
import { asTenant, type Database, type TenantContext } from '../../db/client';
import {
  failMessage,
  failQueuedMessage,
  loadSealedAccessToken,
  prepareSend,
  recordOutcomeUnknown,
  recordSent,
  recordWidgetDelivered,
  releaseUnsentClaim,
  requeueAfterTransient,
  SEND_JOB_KIND,
  type SendPlan,
} from '../../db/outbound';
import type { Services } from '../context';
import { decryptSecret } from '../lib/crypto';
import { type GraphAccount, GraphApiError, graphClient, REQUEST_TIMEOUT_MS } from '../lib/graph';
import { JOB_RETRIES, type JobEnvelope, jobUrl, publishJobs } from '../lib/jobs';
import { safeErrorFields } from '../lib/logger';
import { slidingWindowLimit } from '../lib/sliding-window';
import { messagingBody, whatsappBody, whatsappRecipient } from '../messaging/bodies';
import { callbackAdapter } from '../providers';
import { providerAccountOf } from '../providers/accounts';
import { defineJob, type JobContext, type JobOutcome } from './define';
import { SEND_ACCEPTED_JOB_KIND, type SendAcceptedPayload } from './send-accepted';

/**
 * `POST /jobs/send`: sends one queued outbound message. QStash delivers at least once, so:
 * 1. one transaction checks (order, lock, window, template, consent) and claims the message
 *    (queued → sending, atomic; a claim older than STALE_CLAIM_MS with no provider id is taken
 *    over, one with a provider id is never sent again);
 * 2. outside any transaction: the throughput cap, then Graph (or nothing, when live sending is off);
 * 3. a second transaction records the outcome: sent + provider id (+ statuses that arrived first),
 *    or back to queued with a later slot (transient), or failed with code and reason (permanent).
 * Retries are new jobs at a chosen time rather than QStash's own backoff, so 131056 can back off
 * 4^X seconds and a message never lands in the dead-letter queue just for being retried.
 *
 * Once Meta may have the message, nothing here leads to a second send: an accepted send whose
 * record cannot be written is retried in-process and then handed to a `send-accepted` job
 * (published straight to QStash), and the job finishes either way; a send without an answer
 * (timeout) is failed as "outcome unknown" for an operator to decide, never retried on its own.
 */

/** Longer than a Graph call may take (20 s timeout) plus recording it (with its retries). */
export const STALE_CLAIM_MS = 60_000;
export const MAX_TRANSIENT_FAILURES = 8;
/** Pauses between tries at writing what Meta answered, before handing it off. */
export const RECORD_RETRY_DELAYS_MS = [250, 1_000, 3_000];

export type SendJobOptions = {
  /** How long to wait for Graph (default functions/lib/graph.ts REQUEST_TIMEOUT_MS). */
  graphTimeoutMs?: number;
  /** Pauses between in-process tries at recording Meta's answer (default RECORD_RETRY_DELAYS_MS). */
  recordRetryDelaysMs?: number[];
  /**
   * The database Meta's answer is written to; default `services.db`. Tests point it at a
   * database that is down, to see what happens when only that write fails.
   */
  recordDb?: (services: Services) => Database;
  /** The database the send is planned on (its first transaction); default `services.db`. */
  planDb?: (services: Services, messageId: string) => Database;
  /** The database the access token is read from, after the claim; default `services.db`. */
  tokenDb?: (services: Services) => Database;
};

/** Exponential backoff for transient errors, 4^X s for pair-rate limiting (meta-platform §2). */
export function retryDelayMs(
  meaning: Pick<GraphErrorMeaning, 'backoff'>,
  failures: { transient: number; pairRate: number },
): number {
  if (meaning.backoff === 'pair-rate') return 4 ** failures.pairRate * 1000;
  return Math.min(5_000 * 2 ** failures.transient, 10 * 60_000);
}

/** How long the throughput check may take before the send goes ahead without it. */
const THROUGHPUT_CHECK_TIMEOUT_MS = 2_000;

/**
 * The number's throughput cap (channel_accounts.throughput_per_second, Meta's default 80/s) as a
 * sliding window in Redis, on the app's clock. Redis is an accelerator: when it cannot answer in
 * time, the send goes ahead (Meta's own 130429 is the backstop, and it is retried).
 */
async function withinThroughput(
  services: Services,
  account: { id: string; throughputPerSecond: number },
): Promise<{ allowed: boolean; retryAt?: number }> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`no answer within ${THROUGHPUT_CHECK_TIMEOUT_MS} ms`)),
        THROUGHPUT_CHECK_TIMEOUT_MS,
      );
    });
    const { allowed, reset } = await Promise.race([
      slidingWindowLimit(services.redis, {
        key: `switchboard:throughput:${account.id}`,
        limit: Math.max(1, account.throughputPerSecond),
        windowMs: 1_000,
        now: services.clock.now(),
      }),
      timeout,
    ]);
    return allowed ? { allowed: true } : { allowed: false, retryAt: reset };
  } catch (err) {
    services.logger.warn('throughput check unavailable; sending anyway', {
      error: err instanceof Error ? err.message : String(err),
    });
    return { allowed: true };
  } finally {
    clearTimeout(timer);
  }
}

type Claimed = Extract<SendPlan, { action: 'send' }>;

/** The request for the provider that carries the account (kept in the attempt's history). */
function requestFor(plan: Claimed): Record<string, unknown> {
  const { conv, message, row, permission } = plan;
  // The web widget shows the message as stored: there is no provider request to build.
  if (conv.account.channel === 'web') return { message };
  const adapter = callbackAdapter(conv.account.provider);
  if (adapter) {
    return adapter.request(
      {
        message: message as WhatsAppMessage,
        to: conv.contact.phone ?? conv.contact.externalUserId,
        replyTo: row.replyToProviderMessageId,
        messageId: row.id,
        providerTemplateId: plan.providerTemplateId,
      },
      providerAccountOf(conv.account),
    );
  }
  if (conv.account.channel === 'whatsapp') {
    return whatsappBody(message as WhatsAppMessage, {
      recipient: whatsappRecipient(conv.contact),
      replyTo: row.replyToProviderMessageId,
      callbackData: row.id,
    });
  }
  return messagingBody(message as MessagingMessage, {
    recipientId: conv.contact.externalUserId,
    messagingType: permission.messagingType ?? 'RESPONSE',
    tag: permission.tag,
    // Messenger documents `metadata` on sends and echoes; Instagram's send API does not.
    ...(conv.account.channel === 'messenger' ? { metadata: row.id } : {}),
  });
}

/**
 * Writes what Meta answered, retrying in-process: once a send may have gone out, a failed write
 * must not end in a QStash redelivery, whose takeover of the claim would send it again.
 */
async function writeWithRetries<T>(
  job: JobContext,
  options: SendJobOptions,
  what: string,
  write: (ctx: TenantContext) => Promise<T>,
): Promise<{ ok: true; value: T } | { ok: false; error: unknown }> {
  const { services, tenantId } = job;
  const delays = options.recordRetryDelaysMs ?? RECORD_RETRY_DELAYS_MS;
  let error: unknown;
  for (let attempt = 0; attempt <= delays.length; attempt++) {
    if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, delays[attempt - 1]));
    try {
      const db = options.recordDb?.(services) ?? services.db;
      return { ok: true, value: await asTenant(db, tenantId, write) };
    } catch (err) {
      error = err;
      services.logger.warn(`${what}: database write failed`, {
        ...safeErrorFields(err),
        attempt: attempt + 1,
      });
    }
  }
  return { ok: false, error };
}

/**
 * Meta accepted the message: record the provider id. If the database keeps failing, the id goes
 * to a `send-accepted` job published straight to QStash (the outbox is in that database), and the
 * send job still finishes, so QStash does not redeliver it.
 */
async function recordAccepted(
  job: JobContext,
  options: SendJobOptions,
  accepted: SendAcceptedPayload & { channelAccountId: string },
): Promise<JobOutcome> {
  const { services, env, tenantId } = job;
  const { providerMessageId } = accepted;
  const written = await writeWithRetries(job, options, 'recording an accepted send', (ctx) =>
    recordSent(ctx, { ...accepted, simulated: false, now: services.clock.now() }),
  );
  if (written.ok) return { status: 'done', detail: `sent ${providerMessageId}` };

  const payload: SendAcceptedPayload = {
    messageId: accepted.messageId,
    attemptId: accepted.attemptId,
    providerMessageId,
    request: accepted.request,
  };
  const delays = options.recordRetryDelaysMs ?? RECORD_RETRY_DELAYS_MS;
  for (let attempt = 0; attempt <= delays.length; attempt++) {
    if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, delays[attempt - 1]));
    try {
      await services.qstash.publishJSON({
        url: jobUrl(env, SEND_ACCEPTED_JOB_KIND),
        // No outbox row stands behind it: the attempt id names it (one hand-off per attempt).
        body: { outboxId: accepted.attemptId, tenantId, payload } satisfies JobEnvelope,
        deduplicationId: `send-accepted-${accepted.attemptId}`,
        retries: 5,
      });
      services.logger.warn('accepted send handed to the send-accepted job', {
        messageId: accepted.messageId,
        providerMessageId,
      });
      return {
        status: 'done',
        detail: `sent ${providerMessageId}; recording handed to ${SEND_ACCEPTED_JOB_KIND}`,
      };
    } catch (err) {
      services.logger.warn('send-accepted hand-off failed', {
        ...safeErrorFields(err),
        attempt: attempt + 1,
      });
    }
  }
  // Neither the database nor QStash takes it. Redelivery could send it again, so stop here: the
  // job lands in the dead-letter queue with the id, and a WhatsApp status carrying our message id
  // still binds it (db/statuses.ts).
  services.logger.error('accepted send could not be recorded anywhere', {
    messageId: accepted.messageId,
    providerMessageId,
    ...safeErrorFields(written.error),
  });
  return {
    status: 'dead',
    detail: `Meta accepted message ${accepted.messageId} as ${providerMessageId}, but it could not be recorded; not sent again`,
  };
}

/** What every step of a claimed send works with. */
type SendStep = {
  job: JobContext;
  plan: Claimed;
  options: SendJobOptions;
  /** The Graph request body, also kept in the attempt's history. */
  request: Record<string, unknown>;
};

/** The send after the claim: each step either ends the job with an outcome or hands on. */
async function send(job: JobContext, plan: Claimed, options: SendJobOptions): Promise<JobOutcome> {
  let request: Record<string, unknown>;
  try {
    request = requestFor(plan);
  } catch (err) {
    // An adapter that cannot express the message (a template the provider has no id for): it
    // would fail the same way every time, so it fails now with the adapter's reason.
    if (!(err instanceof GraphApiError)) throw err;
    return failPermanently({ job, plan, options, request: {} }, err);
  }
  const step: SendStep = { job, plan, options, request };
  if (plan.conv.account.channel === 'web') return deliverToWidget(step);
  if (!job.env.WHATSAPP_ALLOW_LIVE_SEND) return simulateSend(step);
  let token: Awaited<ReturnType<typeof accessToken>>;
  try {
    const overCap = await waitForThroughput(step);
    if (overCap) return overCap;
    token = await accessToken(step);
  } catch (err) {
    // Meta was not called: give the claim back, so QStash's next delivery sends it at once.
    await giveBackClaim(step);
    throw err;
  }
  if (!token.ok) return token.outcome;
  const answer = await callProvider(step, token.accessToken);
  if (answer.ok) {
    const { plan, request } = step;
    return recordAccepted(job, options, {
      messageId: plan.row.id,
      attemptId: plan.attemptId,
      channelAccountId: plan.conv.account.id,
      providerMessageId: answer.providerMessageId,
      request,
    });
  }
  const { error } = answer;
  if (error.outcomeUnknown) return recordUnknownOutcome(step);
  if (error.transient && plan.transientFailures + 1 < MAX_TRANSIENT_FAILURES) {
    return retryLater(step, error);
  }
  return failPermanently(step, error);
}

/**
 * Records what came of a send Meta did not take (an error answer), retrying in-process; if the
 * database keeps failing, the claim is given back and the error thrown, so QStash's next delivery
 * tries again at once rather than finding the message held until its claim is stale.
 */
async function writeOrGiveBack<T>(
  step: SendStep,
  what: string,
  write: (ctx: TenantContext) => Promise<T>,
): Promise<T> {
  const written = await writeWithRetries(step.job, step.options, what, write);
  if (written.ok) return written.value;
  await giveBackClaim(step);
  throw written.error;
}

/** The claim of a send that failed before calling Meta, given back (best effort, retried). */
async function giveBackClaim(step: SendStep): Promise<void> {
  const { job, plan, options } = step;
  const released = await writeWithRetries(job, options, 'giving back an unsent claim', (ctx) =>
    releaseUnsentClaim(ctx, {
      messageId: plan.row.id,
      attemptId: plan.attemptId,
      now: job.services.clock.now(),
    }),
  );
  // Still held: the next deliveries find it busy until the claim is stale, then take it over.
  if (!released.ok)
    job.logger.warn('send: the claim could not be given back', { messageId: plan.row.id });
}

function inTenant<T>(step: SendStep, fn: (ctx: TenantContext) => Promise<T>): Promise<T> {
  return asTenant(step.job.services.db, step.job.tenantId, fn);
}

/** Live sending is off: sent, flagged simulated, with an id that cannot be Meta's (docs/sending.md). */
async function simulateSend(step: SendStep): Promise<JobOutcome> {
  const { job, plan, request } = step;
  await inTenant(step, (ctx) =>
    recordSent(ctx, {
      messageId: plan.row.id,
      attemptId: plan.attemptId,
      channelAccountId: plan.conv.account.id,
      providerMessageId: `simulated:${plan.row.id}:${plan.attempt}`,
      simulated: true,
      request,
      now: job.services.clock.now(),
    }),
  );
  return { status: 'done', detail: 'simulated (WHATSAPP_ALLOW_LIVE_SEND is off)' };
}

/** The web widget: no Meta, no live-send switch; the visitor's next poll reads it (docs/widget.md). */
async function deliverToWidget(step: SendStep): Promise<JobOutcome> {
  const { job, plan, request } = step;
  await inTenant(step, (ctx) =>
    recordWidgetDelivered(ctx, {
      messageId: plan.row.id,
      attemptId: plan.attemptId,
      request,
      now: job.services.clock.now(),
    }),
  );
  return { status: 'done', detail: 'delivered to the web widget' };
}

/** Over the number's throughput cap: back in the queue for when the window has room. */
async function waitForThroughput(step: SendStep): Promise<JobOutcome | null> {
  const { services, env } = step.job;
  const throughput = await withinThroughput(services, step.plan.conv.account);
  if (throughput.allowed) return null;
  const now = services.clock.now();
  const earliest = new Date(Math.max(throughput.retryAt ?? 0, now.getTime() + 1000));
  const { job } = await inTenant(step, (ctx) =>
    requeueAfterTransient(ctx, {
      messageId: step.plan.row.id,
      attemptId: step.plan.attemptId,
      earliest,
      code: 'throughput_cap',
      reason: SEND_REASONS.throughput_cap,
      now,
    }),
  );
  await publishJobs(services, env, [job]);
  return { status: 'done', detail: 'over the throughput cap; requeued' };
}

/**
 * The channel's access token, decrypted. Without one, or with one sealed under another key,
 * retrying cannot help: the message fails with the reason, rather than loop.
 */
async function accessToken(
  step: SendStep,
): Promise<{ ok: true; accessToken: string } | { ok: false; outcome: JobOutcome }> {
  const { env, services, tenantId } = step.job;
  const db = step.options.tokenDb?.(services) ?? services.db;
  const sealed = await asTenant(db, tenantId, (ctx) =>
    loadSealedAccessToken(ctx, step.plan.conv.account.id),
  );
  if (!sealed) {
    await failWithOwnReason(step, 'not_connected');
    return { ok: false, outcome: { status: 'done', detail: 'failed: no credentials' } };
  }
  try {
    return { ok: true, accessToken: await decryptSecret(sealed, env.CREDENTIALS_ENCRYPTION_KEY) };
  } catch {
    await failWithOwnReason(step, 'credentials_unreadable');
    return { ok: false, outcome: { status: 'done', detail: 'failed: credentials unreadable' } };
  }
}

/** Fails the claimed message with one of our own codes and its reason from SEND_REASONS. */
async function failWithOwnReason(
  step: SendStep,
  code: Extract<SendReasonCode, 'not_connected' | 'credentials_unreadable'>,
): Promise<void> {
  const { job, plan, request } = step;
  await inTenant(step, (ctx) =>
    failMessage(ctx, {
      messageId: plan.row.id,
      attemptId: plan.attemptId,
      code,
      reason: SEND_REASONS[code],
      now: job.services.clock.now(),
      request,
    }),
  );
}

/**
 * The send itself: to Graph, or through the adapter of the provider that carries the number. The
 * provider's id for the message, or its error classified (anything else is thrown).
 */
async function callProvider(
  step: SendStep,
  accessToken: string,
): Promise<{ ok: true; providerMessageId: string } | { ok: false; error: GraphApiError }> {
  const { account: channel } = step.plan.conv;
  if (channel.channel === 'web') throw new Error('a web widget message never goes to Graph');
  const { env } = step.job;
  const timeoutMs = step.options.graphTimeoutMs ?? REQUEST_TIMEOUT_MS;
  const adapter = callbackAdapter(channel.provider);
  const account: GraphAccount = {
    channel: channel.channel,
    externalId: channel.externalId,
    wabaId: channel.wabaId,
    accessToken,
  };
  const graph = graphClient(env, undefined, { timeoutMs });
  try {
    const { providerMessageId } = adapter
      ? await adapter.send(step.request, providerAccountOf(channel), {
          baseUrl:
            adapter.provider === 'gupshup' ? env.GUPSHUP_API_BASE_URL : env.YCLOUD_API_BASE_URL,
          apiKey: accessToken,
          timeoutMs,
        })
      : account.channel === 'whatsapp'
        ? await graph.sendWhatsApp(account, step.request)
        : await graph.sendMessaging(account, step.request);
    return { ok: true, providerMessageId };
  } catch (err) {
    if (!(err instanceof GraphApiError)) throw err;
    return { ok: false, error: err };
  }
}

/**
 * No answer from Meta: it may have the message, so it is never sent again on our own. A WhatsApp
 * status carrying our message id can still bind the provider id later (db/statuses.ts); an
 * operator may retry.
 */
async function recordUnknownOutcome(step: SendStep): Promise<JobOutcome> {
  const { job, plan, options, request } = step;
  const input = {
    messageId: plan.row.id,
    attemptId: plan.attemptId,
    reason: SEND_REASONS.outcome_unknown,
    request,
    now: job.services.clock.now(),
  };
  const written = await writeWithRetries(job, options, 'recording an unknown outcome', (ctx) =>
    recordOutcomeUnknown(ctx, input),
  );
  if (!written.ok) {
    return {
      status: 'dead',
      detail: `no answer from Meta for message ${plan.row.id} and the database is failing; not sent again`,
    };
  }
  return {
    status: 'done',
    detail:
      written.value === 'already-sent'
        ? 'no answer from Meta, but a status webhook showed it was sent'
        : 'no answer from Meta: outcome unknown, not sent again',
  };
}

/** What Meta refused, for the attempt's history. */
function failureOf(step: SendStep, error: GraphApiError) {
  return {
    messageId: step.plan.row.id,
    attemptId: step.plan.attemptId,
    code: error.info.code,
    httpStatus: error.info.httpStatus,
    request: step.request,
    now: step.job.services.clock.now(),
  };
}

/** A transient error with tries left: back in the queue after the backoff. */
async function retryLater(step: SendStep, error: GraphApiError): Promise<JobOutcome> {
  const { job, plan } = step;
  const failure = failureOf(step, error);
  const delay = retryDelayMs(error.meaning, {
    transient: plan.transientFailures,
    pairRate: plan.pairRateFailures,
  });
  const { job: next, notBefore } = await writeOrGiveBack(step, 'requeueing a send', (ctx) =>
    requeueAfterTransient(ctx, {
      ...failure,
      reason: error.meaning.reason,
      earliest: new Date(failure.now.getTime() + delay),
    }),
  );
  await publishJobs(job.services, job.env, [next]);
  return {
    status: 'done',
    detail: `transient ${error.info.code}; next try ${notBefore.toISOString()}`,
  };
}

/** A permanent error, or a transient one that kept coming back: the message fails with Meta's reason. */
async function failPermanently(step: SendStep, error: GraphApiError): Promise<JobOutcome> {
  const reason = error.transient
    ? gaveUpReason(MAX_TRANSIENT_FAILURES, error.meaning.reason)
    : error.meaning.reason;
  const failure = failureOf(step, error);
  await writeOrGiveBack(step, 'failing a send', (ctx) => failMessage(ctx, { ...failure, reason }));
  return { status: 'done', detail: `failed ${error.info.code}` };
}

/** The send job; options exist for tests (short Graph timeout, a failing database for the record). */
export function createSendJob(options: SendJobOptions = {}) {
  return defineJob({
    kind: SEND_JOB_KIND,
    payload: z.object({ messageId: z.uuid() }),
    async handle(job, { messageId }) {
      try {
        return await planAndSend(job, messageId, options);
      } catch (err) {
        // Earlier deliveries: QStash retries (bounded, functions/lib/jobs.ts). The last one must
        // not leave the message queued for ever, holding back every later one of its conversation.
        if (job.retried < JOB_RETRIES) throw err;
        return giveUpQueued(job, messageId, err);
      }
    },
  });
}

async function planAndSend(
  job: JobContext,
  messageId: string,
  options: SendJobOptions,
): Promise<JobOutcome> {
  const { services, env, tenantId } = job;
  const planDb = options.planDb?.(services, messageId) ?? services.db;
  const plan = await asTenant(planDb, tenantId, (ctx) =>
    prepareSend(ctx, { messageId, now: services.clock.now(), staleClaimMs: STALE_CLAIM_MS }),
  );
  await publishJobs(services, env, plan.jobs);
  if (plan.action === 'busy') return { status: 'retry', detail: plan.detail };
  if (plan.action === 'done') return { status: 'done', detail: plan.detail };
  return send(job, plan, options);
}

/**
 * The last delivery of a send job that kept throwing: a message still `queued` never reached Meta,
 * so it is failed with the reason (an operator may retry it) and its conversation moves on. One
 * in `sending` is left to the claim takeover, since Meta may have it.
 */
async function giveUpQueued(job: JobContext, messageId: string, err: unknown): Promise<JobOutcome> {
  const { services, tenantId, logger } = job;
  logger.error('send: the job failed on its last delivery', safeErrorFields(err));
  const failed = await asTenant(services.db, tenantId, (ctx) =>
    failQueuedMessage(ctx, {
      messageId,
      code: 'send_job_failed',
      reason: SEND_REASONS.send_job_failed,
      now: services.clock.now(),
    }),
  );
  return { status: 'done', detail: failed ? 'failed after repeated errors' : 'left as it was' };
}

export const sendJob = createSendJob();
