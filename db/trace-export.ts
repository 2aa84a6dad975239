import { eq, sql } from 'drizzle-orm';
import type { TenantContext } from './client';
import {
  type AgentStep,
  agentRuns,
  channelAccounts,
  conversations,
  messages,
  tenantSettings,
  traceExportHeaders,
} from './schema';

/**
 * What the `trace-export` job reads (functions/jobs/trace-export.ts): the run with its channel and
 * the customer's message it answered, the tenant's export settings and its sealed headers. One
 * round trip: the three reads are sent together.
 */
export type TraceExportSource = {
  run: {
    conversationId: string;
    correlationId: string;
    channel: string;
    /** agent_runs.model: `openai:gpt-4.1-mini`, `openai-compatible(host):model`, `offline-demo`. */
    model: string;
    steps: AgentStep[];
    costUsd: number | null;
    outcome: string;
    error: string | null;
    startedAt: Date;
    finishedAt: Date | null;
    /** think's own time (media, history, the model and its tools), from just after the start. */
    latencyMs: number | null;
    /** The customer's message the turn answered; only used when `messageText` allows it. */
    customerText: string | null;
  };
  messageText: boolean;
  endpoint: string | null;
  /** `v1:…` (functions/lib/crypto.ts), a JSON object of header names and values; null: none. */
  sealedHeaders: string | null;
};

export async function loadTraceExportSource(
  ctx: TenantContext,
  runId: string,
): Promise<TraceExportSource | null> {
  const { tx, tenantId } = ctx;
  const [runs, settings, headers] = await Promise.all([
    tx
      .select({
        conversationId: agentRuns.conversationId,
        correlationId: agentRuns.correlationId,
        channel: channelAccounts.channel,
        model: agentRuns.model,
        steps: agentRuns.steps,
        costUsd: agentRuns.costUsd,
        outcome: agentRuns.outcome,
        error: agentRuns.error,
        startedAt: agentRuns.startedAt,
        finishedAt: agentRuns.finishedAt,
        latencyMs: agentRuns.latencyMs,
        customerText: messages.content,
      })
      .from(agentRuns)
      .innerJoin(conversations, eq(conversations.id, agentRuns.conversationId))
      .innerJoin(channelAccounts, eq(channelAccounts.id, conversations.channelAccountId))
      .leftJoin(messages, eq(messages.id, agentRuns.triggerMessageId))
      .where(eq(agentRuns.id, runId)),
    tx
      .select({
        messageText: tenantSettings.traceMessageText,
        endpoint: tenantSettings.traceEndpoint,
      })
      .from(tenantSettings)
      .where(eq(tenantSettings.tenantId, tenantId)),
    tx
      .select({ headers: traceExportHeaders.headers })
      .from(traceExportHeaders)
      .where(eq(traceExportHeaders.tenantId, tenantId)),
  ]);
  const run = runs[0];
  if (!run) return null;
  return {
    run,
    messageText: settings[0]?.messageText ?? false,
    endpoint: settings[0]?.endpoint ?? null,
    sealedHeaders: headers[0]?.headers ?? null,
  };
}

/**
 * Stores (or with null removes) the business's own trace export: the endpoint and the header
 * names in tenant_settings (what the page shows), the headers themselves sealed by the caller in
 * the `private` schema. Needs the tenant handle: operators cannot touch `private`.
 */
export async function setTraceExport(
  { tx, tenantId }: TenantContext,
  config: { endpoint: string; headerNames: string[]; sealedHeaders: string | null } | null,
): Promise<void> {
  const endpoint = config?.endpoint ?? null;
  const headerNames = config?.headerNames ?? [];
  await tx
    .insert(tenantSettings)
    .values({ tenantId, traceEndpoint: endpoint, traceHeaderNames: headerNames })
    .onConflictDoUpdate({
      target: tenantSettings.tenantId,
      set: { traceEndpoint: endpoint, traceHeaderNames: headerNames, updatedAt: sql`now()` },
    });
  if (config?.sealedHeaders) {
    await tx
      .insert(traceExportHeaders)
      .values({ tenantId, headers: config.sealedHeaders })
      .onConflictDoUpdate({
        target: traceExportHeaders.tenantId,
        set: { headers: config.sealedHeaders, updatedAt: sql`now()` },
      });
  } else {
    await tx.delete(traceExportHeaders).where(eq(traceExportHeaders.tenantId, tenantId));
  }
}
