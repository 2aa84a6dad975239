import { z } from 'zod';
import { asTenant } from '../../db/client';
import { loadTraceExportSource } from '../../db/trace-export';
import { runSpans, sendSpans, TRACE_EXPORT_JOB, traceTarget } from '../agent/trace-export';
import { decryptSecret } from '../lib/crypto';
import { JOB_RETRIES } from '../lib/jobs';
import { defineJob, type JobContext, type JobOutcome } from './define';

export const traceExportPayload = z.object({ runId: z.uuid() });

/**
 * `trace-export`: one finished agent run as OpenTelemetry spans to the tenant's OTLP endpoint, or
 * the deployment's (functions/agent/trace-export.ts). Enqueued by the turn with the run's outcome,
 * in the same commit, only when an endpoint is configured; delivered after the reply, so an
 * exporter's outage never slows or fails one. The run in our store is only read: an endpoint
 * that is down (network, 408, 429, 5xx) fails the job and QStash retries it; one that refuses
 * (other 4xx) drops it, logged as the job's outcome.
 */
export const traceExportJob = defineJob({
  kind: TRACE_EXPORT_JOB,
  payload: traceExportPayload,
  async handle(job: JobContext, { runId }): Promise<JobOutcome> {
    const { services, env, tenantId } = job;
    const source = await asTenant(services.db, tenantId, (ctx) =>
      loadTraceExportSource(ctx, runId),
    );
    if (!source) return { status: 'done', detail: 'the run no longer exists' };
    const headers = source.sealedHeaders
      ? (JSON.parse(
          await decryptSecret(source.sealedHeaders, env.CREDENTIALS_ENCRYPTION_KEY),
        ) as Record<string, string>)
      : {};
    const target = traceTarget(env, { endpoint: source.endpoint, headers });
    if (!target) return { status: 'done', detail: 'trace export is not configured' };
    const spans = await runSpans(
      { tenantId, ...source.run },
      {
        serviceName: env.OTEL_SERVICE_NAME,
        serviceVersion: env.APP_VERSION,
        messageText: source.messageText,
      },
    );
    const sent = await sendSpans(target, spans);
    if (sent.ok) {
      return { status: 'done', detail: `${spans.length} spans sent (${target.source} endpoint)` };
    }
    if (sent.permanent) return { status: 'dead', detail: `trace export refused: ${sent.detail}` };
    if (job.retried >= JOB_RETRIES) {
      return { status: 'dead', detail: `trace export given up after retries: ${sent.detail}` };
    }
    return { status: 'retry', detail: `trace export failed: ${sent.detail}` };
  },
});
