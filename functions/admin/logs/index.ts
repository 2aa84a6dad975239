import { z } from '@hono/zod-openapi';
import { runCost } from '../../../core/agent/prices';
import { NotFoundError } from '../../../core/errors';
import { type AgentRunRow, listRuns, runTrace } from '../../../db/agent';
import { OFFLINE_MODEL_ID } from '../../agent/offline-model';
import type { App } from '../../app';

import { asCurrentOperator } from '../../middleware/operator-auth';
import { itemsOf } from '../paging';
import { EXAMPLE_ID, field, jsonResponse, operatorRoutes, textParam } from '../route';

/**
 * `/admin/logs/ai`: why the AI said what it said. Each agent run (one debounced turn, or a handoff
 * by escalation word) is recorded with its correlation id, which the messages it caused carry too
 * (`correlation_id` in the chat API).
 */

const route = operatorRoutes('logs');

const EXAMPLE_CORRELATION_ID = `turn-${EXAMPLE_ID}`;

const stepUsage = z
  .object({
    input_tokens: z
      .number()
      .int()
      .optional()
      .openapi({ description: 'Tokens read by the model', example: 1830 }),
    output_tokens: z
      .number()
      .int()
      .optional()
      .openapi({ description: 'Tokens the model wrote', example: 64 }),
    cached_input_tokens: z
      .number()
      .int()
      .optional()
      .openapi({ description: 'Input read from the provider cache', example: 1024 }),
  })
  .openapi({
    description: "This step's tokens, as the provider reported them",
    example: { input_tokens: 1830, output_tokens: 64, cached_input_tokens: 1024 },
  });

const step = z
  .object({
    model: z
      .string()
      .optional()
      .openapi({ description: 'The model that answered this step', example: 'gpt-4.1-mini' }),
    latency_ms: z
      .number()
      .int()
      .optional()
      .openapi({ description: 'The whole step: the model and its tools', example: 910 }),
    model_ms: z
      .number()
      .int()
      .optional()
      .openapi({ description: "The model's answer alone", example: 640 }),
    usage: stepUsage.optional(),
    text: z.string().optional().openapi({
      description: 'What the model wrote in this step',
      example: 'We are open until 20:00 today.',
    }),
    tool_calls: z
      .array(
        z.object({
          tool_name: field.string('The tool', 'knowledge_search'),
          input: z.unknown().openapi({
            description: 'What the model passed it',
            example: { query: 'opening hours' },
          }),
        }),
      )
      .optional()
      .openapi({
        description: 'Tools the model called in this step',
        example: [{ tool_name: 'knowledge_search', input: { query: 'opening hours' } }],
      }),
    tool_results: z
      .array(
        z.object({
          tool_name: field.string('The tool', 'knowledge_search'),
          output: z.unknown().openapi({
            description: 'What the tool answered',
            example: [{ title: 'Opening hours', snippet: 'Mon–Fri 9:00–20:00' }],
          }),
          latency_ms: z
            .number()
            .int()
            .optional()
            .openapi({ description: "The tool's own time", example: 12 }),
        }),
      )
      .optional()
      .openapi({
        description: 'What the tools answered',
        example: [{ tool_name: 'knowledge_search', output: [] }],
      }),
  })
  .openapi('AgentStep', { description: 'One step of an agent run: text and tool calls' });

const runSummary = z
  .object({
    correlation_id: z.string().openapi({
      description: 'The run; the messages it caused carry it too',
      example: EXAMPLE_CORRELATION_ID,
    }),
    conversation_id: field.id('The conversation'),
    trigger_message_id: field.id('The customer message that started it').nullable(),
    model: field.string('The model that answered', 'gpt-4.1-mini'),
    offline_demo: field.boolean('The deterministic offline demo model answered, not an AI', false),
    outcome: z
      .enum(['running', 'replied', 'superseded', 'locked', 'handed_off', 'failed'])
      .openapi({
        description:
          'running; replied; superseded: newer customer messages started another run; locked: ' +
          'under human override; handed_off: escalated to a person; failed',
        example: 'replied',
      }),
    error: field.nullableString(
      'The failure, or why the run did not reply (superseded, locked)',
      null,
    ),
    usage: z.record(z.string(), z.number().nullable()).openapi({
      description: 'Token usage as the model reported it',
      example: { inputTokens: 1830, outputTokens: 64, totalTokens: 1894 },
    }),
    latency_ms: z
      .number()
      .int()
      .nullable()
      .openapi({ description: 'How long the run took', example: 2140 }),
    cost_usd: z
      .number()
      .nullable()
      .openapi({
        description:
          "What its model calls cost in US dollars, from each step's tokens at the tenant's prices " +
          'when it finished (its own, else the list price in core/agent/prices.ts); null when a ' +
          'model has no known price or the run kept no tokens per step',
        example: 0.000796,
      }),
    started_at: field.time('When it started'),
    finished_at: field.nullableString(
      'When it finished (ISO 8601); null while running',
      '2025-03-14T09:26:55.729Z',
    ),
  })
  .openapi('AgentRunSummary', { description: 'An agent run: one debounced turn, or a handoff' });

const runDetail = runSummary
  .extend({
    steps: z.array(step).openapi({ description: 'What the model did, in order' }),
    messages: z
      .array(
        z.object({
          id: field.id('The message'),
          sender: field.string('agent or system', 'agent'),
          type: field.string('The message kind', 'text'),
          content: field.nullableString('Its text', 'We are open until 20:00 today.'),
          status: field.string('Its delivery status', 'delivered'),
          error_reason: field.nullableString('Why sending failed', null),
          timestamp: field.time('Its send slot'),
        }),
      )
      .openapi({
        description: 'The messages the run sent',
        example: [
          {
            id: EXAMPLE_ID,
            sender: 'agent',
            type: 'text',
            content: 'We are open until 20:00 today.',
            status: 'delivered',
            error_reason: null,
            timestamp: '2025-03-14T09:26:55.729Z',
          },
        ],
      }),
    drafts: z
      .array(
        z.object({
          id: field.id('The draft'),
          status: field.string('The draft status', 'pending'),
          preview: field.string('Its text, shortened', 'We are open until 20:00 today.'),
          sent_message_id: field.id('The message it became, once sent').nullable(),
        }),
      )
      .openapi({
        description: 'The drafts it left (approval reply mode)',
        example: [
          { id: EXAMPLE_ID, status: 'pending', preview: 'We are open…', sent_message_id: null },
        ],
      }),
  })
  .openapi('AgentRun', { description: 'An agent run with its steps, messages and drafts' });

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
    // Fixed when the run finished, at the prices of then; a run stored before costs were kept
    // (migration 0029) is priced at the list price.
    cost_usd: run.costUsd ?? runCost(run.steps),
    started_at: run.startedAt.toISOString(),
    finished_at: run.finishedAt?.toISOString() ?? null,
  };
}

const getRoute = route('get', '/logs/ai/{correlation_id}', {
  operationId: 'getAgentRun',
  summary: 'An agent run: model, steps (tool calls with input and output, text), usage, outcome',
  request: {
    params: z.object({
      correlation_id: textParam()
        .min(1)
        .max(200)
        .openapi({
          param: { name: 'correlation_id', in: 'path' },
          description: 'The run (`correlation_id` of its messages)',
          example: EXAMPLE_CORRELATION_ID,
        }),
    }),
  },
  responses: { 200: jsonResponse('The run', runDetail) },
});

const listRoute = route('get', '/logs/ai', {
  operationId: 'listAgentRuns',
  summary: 'The latest agent runs, of one conversation or of the business',
  request: {
    query: z.object({
      conversation_id: field.id('Only runs of this conversation').optional(),
      limit: z.coerce
        .number()
        .int()
        .min(1)
        .max(100)
        .default(20)
        .openapi({ description: 'How many runs at most (1–100)', example: 20 }),
    }),
  },
  responses: { 200: jsonResponse('Newest first', itemsOf(runSummary, 'Runs, newest first')) },
});

export function registerLogs(app: App) {
  app.openapi(listRoute, async (c) => {
    const query = c.req.valid('query');
    const runs = await asCurrentOperator(c, ({ ctx }) =>
      listRuns(ctx, { conversationId: query.conversation_id, limit: query.limit }),
    );
    return c.json({ items: runs.map(toSummary) }, 200);
  });

  app.openapi(getRoute, async (c) => {
    const { correlation_id: correlationId } = c.req.valid('param');
    const trace = await asCurrentOperator(c, ({ ctx }) => runTrace(ctx, correlationId));
    if (!trace) throw new NotFoundError('Agent run', correlationId);
    return c.json(
      {
        ...toSummary(trace.run),
        steps: trace.run.steps.map((s) => ({
          ...(s.model !== undefined ? { model: s.model } : {}),
          ...(s.latencyMs !== undefined ? { latency_ms: s.latencyMs } : {}),
          ...(s.modelMs !== undefined ? { model_ms: s.modelMs } : {}),
          ...(s.usage
            ? {
                usage: {
                  ...(s.usage.inputTokens !== undefined
                    ? { input_tokens: s.usage.inputTokens }
                    : {}),
                  ...(s.usage.outputTokens !== undefined
                    ? { output_tokens: s.usage.outputTokens }
                    : {}),
                  ...(s.usage.cachedInputTokens !== undefined
                    ? { cached_input_tokens: s.usage.cachedInputTokens }
                    : {}),
                },
              }
            : {}),
          ...(s.text !== undefined ? { text: s.text } : {}),
          ...(s.toolCalls
            ? { tool_calls: s.toolCalls.map((t) => ({ tool_name: t.toolName, input: t.input })) }
            : {}),
          ...(s.toolResults
            ? {
                tool_results: s.toolResults.map((t) => ({
                  tool_name: t.toolName,
                  output: t.output,
                  ...(t.latencyMs !== undefined ? { latency_ms: t.latencyMs } : {}),
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
