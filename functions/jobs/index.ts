import { Receiver } from '@upstash/qstash';
import type { Context } from 'hono';
import { decodeJwt } from 'jose';
import { z } from 'zod';
import type { App } from '../app';
import type { HonoEnv } from '../context';
import { ApiError, zodMessage } from '../errors';
import { jobUrl } from '../lib/jobs';
import { safeErrorFields } from '../lib/logger';
import type { JobHandler, JobOutcome } from './define';
import { jobHandlers } from './registry';

const envelope = z.object({
  outboxId: z.uuid(),
  tenantId: z.uuid(),
  payload: z.record(z.string(), z.unknown()),
});

/**
 * `POST /jobs/:kind`: QStash deliveries only. The `Upstash-Signature` JWT is verified with the
 * official Receiver against the raw body and this job's exact public URL, before anything is
 * parsed. Outcomes map to what QStash understands: 2xx done, 5xx retry, 489 + non-retryable header
 * for permanent failures.
 */
export function registerJobs(app: App, extra: JobHandler[] = []) {
  const byKind = new Map([...jobHandlers, ...extra].map((h) => [h.kind, h]));
  app.post('/jobs/:kind', async (c) => {
    const { env, services, logger } = c.var;
    const kind = c.req.param('kind');
    const raw = await c.req.text();
    await verifyQStashSignature(env, c.req.header('upstash-signature'), raw, jobUrl(env, kind));
    const handler = byKind.get(kind);
    if (!handler) return nonRetryable(c, `unknown job kind ${kind}`);
    let parsed: z.infer<typeof envelope>;
    let payload: unknown;
    try {
      parsed = envelope.parse(JSON.parse(raw));
      payload = handler.payload.parse(parsed.payload);
    } catch (err) {
      // A signed body we cannot read will not become readable on retry.
      return nonRetryable(c, err instanceof z.ZodError ? zodMessage(err) : 'body is not JSON');
    }
    const retried = Number(c.req.header('upstash-retried') ?? '0') || 0;
    const jobLogger = logger.child({
      job: kind,
      outboxId: parsed.outboxId,
      tenantId: parsed.tenantId,
      retried,
    });
    // A thrown error is a transient failure like any other: QStash retries it with backoff. Its
    // message stays out of the answer (QStash stores it, and a failed query's message carries the
    // query's parameters); the log gets the safe fields only.
    const outcome = await handler
      .handle(
        {
          services: { ...services, logger: jobLogger },
          env,
          logger: jobLogger,
          tenantId: parsed.tenantId,
          outboxId: parsed.outboxId,
          retried,
          waitUntil: (p) => c.executionCtx.waitUntil(p),
        },
        payload,
      )
      .catch((err: unknown): JobOutcome => {
        const safe = safeErrorFields(err);
        jobLogger.error('job failed', safe);
        return {
          status: 'retry',
          detail: `the job failed (${safe.code ? `${safe.error} ${safe.code}` : safe.error}); see the logs`,
        };
      });
    jobLogger.info('job finished', { outcome: outcome.status, detail: outcome.detail });
    if (outcome.status === 'dead') return nonRetryable(c, outcome.detail ?? 'permanent failure');
    if (outcome.status === 'retry') {
      return c.json(
        {
          error: {
            code: 'SERVICE_UNAVAILABLE',
            message: outcome.detail ?? 'retry later',
            requestId: c.var.requestId,
          },
        },
        503,
      );
    }
    return c.json({ status: 'done', detail: outcome.detail ?? null }, 200);
  });
}

/** The official Receiver, against the raw body and this job's exact public URL. */
async function verifyQStashSignature(
  env: HonoEnv['Variables']['env'],
  signature: string | undefined,
  body: string,
  url: string,
) {
  if (!signature) {
    throw new ApiError(
      'UNAUTHORIZED',
      'Jobs are accepted from QStash only (Upstash-Signature missing).',
    );
  }
  const receiver = new Receiver({
    currentSigningKey: env.QSTASH_CURRENT_SIGNING_KEY,
    nextSigningKey: env.QSTASH_NEXT_SIGNING_KEY,
  });
  try {
    await receiver.verify({ signature, body, url });
  } catch {
    throw new ApiError(
      'UNAUTHORIZED',
      'The Upstash-Signature does not verify for this body and URL.',
    );
  }
  // The Receiver checks `exp` only when it is present. QStash's own signatures always carry one
  // (5 minutes); one without could be replayed forever, so it is refused like a forgery.
  if (typeof decodeJwt(signature).exp !== 'number') {
    throw new ApiError('UNAUTHORIZED', 'The Upstash-Signature has no expiry (exp).');
  }
}

/** 489 is QStash's own status (not in HTTP's registry, hence a plain Response) for "do not retry". */
function nonRetryable(c: Context<HonoEnv>, reason: string) {
  c.var.logger.warn('job refused without retry', { reason });
  return new Response(
    JSON.stringify({
      error: { code: 'UNPROCESSABLE', message: reason, requestId: c.var.requestId },
    }),
    {
      status: 489,
      headers: { 'content-type': 'application/json', 'Upstash-NonRetryable-Error': 'true' },
    },
  );
}
