import { createRoute, z } from '@hono/zod-openapi';
import { NotFoundError } from '../../../core/errors';
import { type AgentRunRow, listRuns, runTrace } from '../../../db/agent';
import { OFFLINE_MODEL_ID } from '../../agent/offline-model';
import type { App } from '../../app';
import { errorResponses } from '../../errors';
import { asCurrentOperator } from '../../middleware/operator-auth';

/**
 * `/admin/logs/ai`: why the AI said what it said. Each agent run (one debounced turn, or a handoff
 * by escalation word) is recorded with its correlation id, which the messages it caused carry too
 * (`correlation_id` in the chat API).
 */

const step = z
  .object({
    text: z.string().optional(),
    tool_calls: z.array(z.object({ tool_name: z.string(), input: z.unknown() })).optional(),
    tool_results: z.array(z.object({ tool_name: z.string(), output: z.unknown() })).optional(),
  })
  .openapi('AgentStep');

const runSummary = z
  .object({
    correlation_id: z.string(),
    conversation_id: z.uuid(),
    trigger_message_id: z.uuid().nullable(),
    model: z.string(),
    offline_demo: z
      .boolean()
      .openapi({ description: 'The deterministic offline demo model answered, not an AI' }),
    outcome: z.enum(['running', 'replied', 'superseded', 'locked', 'handed_off', 'failed']),
    error: z
      .string()
      .nullable()
      .openapi({ description: 'The failure, or why the run did not reply (superseded, locked)' }),
    usage: z.record(z.string(), z.number().nullable()),
    latency_ms: z.number().int().nullable(),
    started_at: z.string(),
    finished_at: z.string().nullable(),
  })
  .openapi('AgentRunSummary');

const runDetail = runSummary
  .extend({
    steps: z.array(step),
    messages: z.array(
      z.object({
        id: z.uuid(),
        sender: z.string(),
        type: z.string(),
        content: z.string().nullable(),
        status: z.string(),
        error_reason: z.string().nullable(),
        timestamp: z.string(),
      }),
    ),
    drafts: z.array(
      z.object({
        id: z.uuid(),
        status: z.string(),
        preview: z.string(),
        sent_message_id: z.uuid().nullable(),
      }),
    ),
  })
  .openapi('AgentRun');

function toSummary(run: AgentRunRow): z.infer<typeof runSummary> {
  return {
    correlation_id: run.correlationId,
    conversation_id: run.conversationId,
    trigger_message_id: run.triggerMessageId,
    model: run.model,
    offline_demo: run.model === OFFLINE_MODEL_ID,
    outcome: run.outcome,
    error: run.error,
    usage: Object.fromEntries(Object.entries(run.usage).map(([k, v]) => [k, v ?? null])),
    latency_ms: run.latencyMs,
    started_at: run.startedAt.toISOString(),
    finished_at: run.finishedAt?.toISOString() ?? null,
  };
}

const getRoute = createRoute({
  method: 'get',
  path: '/logs/ai/{correlation_id}',
  tags: ['logs'],
  operationId: 'getAgentRun',
  summary: 'An agent run: model, steps (tool calls with input and output, text), usage, outcome',
  security: [{ bearer: [] }],
  request: {
    params: z.object({
      correlation_id: z
        .string()
        .min(1)
        .max(200)
        .openapi({ param: { name: 'correlation_id', in: 'path' }, example: 'turn-…' }),
    }),
  },
  responses: {
    200: { description: 'The run', content: { 'application/json': { schema: runDetail } } },
    ...errorResponses,
  },
});

const listRoute = createRoute({
  method: 'get',
  path: '/logs/ai',
  tags: ['logs'],
  operationId: 'listAgentRuns',
  summary: 'The latest agent runs, of one conversation or of the business',
  security: [{ bearer: [] }],
  request: {
    query: z.object({
      conversation_id: z.uuid().optional(),
      limit: z.coerce.number().int().min(1).max(100).default(20),
    }),
  },
  responses: {
    200: {
      description: 'Newest first',
      content: { 'application/json': { schema: z.object({ items: z.array(runSummary) }) } },
    },
    ...errorResponses,
  },
});

export function registerLogs(app: App) {
  app.openapi(listRoute, async (c) => {
    const query = c.req.valid('query');
    const runs = await asCurrentOperator(c, (ctx) =>
      listRuns(ctx, { conversationId: query.conversation_id, limit: query.limit }),
    );
    return c.json({ items: runs.map(toSummary) }, 200);
  });

  app.openapi(getRoute, async (c) => {
    const { correlation_id: correlationId } = c.req.valid('param');
    const trace = await asCurrentOperator(c, (ctx) => runTrace(ctx, correlationId));
    if (!trace) throw new NotFoundError('Agent run', correlationId);
    return c.json(
      {
        ...toSummary(trace.run),
        steps: trace.run.steps.map((s) => ({
          ...(s.text !== undefined ? { text: s.text } : {}),
          ...(s.toolCalls
            ? { tool_calls: s.toolCalls.map((t) => ({ tool_name: t.toolName, input: t.input })) }
            : {}),
          ...(s.toolResults
            ? {
                tool_results: s.toolResults.map((t) => ({
                  tool_name: t.toolName,
                  output: t.output,
                })),
              }
            : {}),
        })),
        messages: trace.messages.map((m) => ({
          id: m.id,
          sender: m.sender,
          type: m.type,
          content: m.content,
          status: m.status,
          error_reason: m.errorReason,
          timestamp: m.providerTimestamp.toISOString(),
        })),
        drafts: trace.drafts.map((d) => ({
          id: d.id,
          status: d.status,
          preview: d.preview,
          sent_message_id: d.sentMessageId,
        })),
      },
      200,
    );
  });
}
