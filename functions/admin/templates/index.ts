import { createRoute, z } from '@hono/zod-openapi';
import { SendRefusedError } from '../../../core/errors';
import {
  buildTemplateMessage,
  templateParametersInput,
  templatePlaceholders,
  templateRefusal,
} from '../../../core/messaging/templates';
import { windowView } from '../../../core/messaging/window';
import { queueOutboundMessage } from '../../../db/outbound';
import {
  getTemplate,
  listTemplates,
  type TemplateRow,
  upsertSyncedTemplates,
  whatsappAccountsWithWaba,
} from '../../../db/templates';
import type { App } from '../../app';
import { ApiError, errorResponses } from '../../errors';
import { GraphApiError, graphClient } from '../../lib/graph';
import { graphAccountFor } from '../../lib/graph-accounts';
import { publishJobs } from '../../lib/jobs';
import { asCurrentOperator } from '../../middleware/operator-auth';
import { queuedResponse, toOutboundMessageView } from '../messages/view';

const templateView = z
  .object({
    id: z.uuid(),
    channel_account_id: z.uuid(),
    waba_id: z.string(),
    provider_template_id: z.string(),
    name: z.string(),
    language: z.string(),
    status: z.string(),
    status_reason: z.string().nullable(),
    category: z.string(),
    parameter_format: z.enum(['POSITIONAL', 'NAMED']),
    components: z.array(z.unknown()),
    sendable: z.boolean(),
    refusal: z
      .string()
      .nullable()
      .openapi({ description: 'Why it cannot be sent, when it cannot' }),
    placeholders: z.object({
      header: z.object({ format: z.string(), names: z.array(z.string()) }).nullable(),
      body: z.array(z.string()),
      buttons: z.array(
        z.object({
          index: z.number(),
          type: z.string(),
          text: z.string(),
          names: z.array(z.string()),
        }),
      ),
    }),
    parameter_count: z.number().int(),
    updated_at: z.string(),
  })
  .openapi('Template');

function toTemplateView(row: TemplateRow): z.infer<typeof templateView> {
  const record = { ...row, parameterFormat: row.parameterFormat };
  const placeholders = templatePlaceholders(record);
  const refusal = templateRefusal(record);
  return {
    id: row.id,
    channel_account_id: row.channelAccountId,
    waba_id: row.wabaId,
    provider_template_id: row.providerTemplateId,
    name: row.name,
    language: row.language,
    status: row.status,
    status_reason: row.statusReason,
    category: row.category,
    parameter_format: placeholders.format,
    components: row.components,
    sendable: refusal === null,
    refusal,
    placeholders: {
      header: placeholders.header
        ? { format: placeholders.header.format, names: placeholders.header.placeholders }
        : null,
      body: placeholders.body,
      buttons: placeholders.buttons.map((b) => ({
        index: b.index,
        type: b.type,
        text: b.text,
        names: b.placeholders,
      })),
    },
    parameter_count: placeholders.count,
    updated_at: row.updatedAt.toISOString(),
  };
}

const listRoute = createRoute({
  method: 'get',
  path: '/templates',
  tags: ['templates'],
  operationId: 'listTemplates',
  summary: 'WhatsApp templates with their components, placeholders and whether they can be sent',
  security: [{ bearer: [] }],
  request: {
    query: z.object({
      status: z.string().optional().openapi({ description: 'e.g. APPROVED' }),
    }),
  },
  responses: {
    200: {
      description: 'Templates',
      content: { 'application/json': { schema: z.object({ items: z.array(templateView) }) } },
    },
    ...errorResponses,
  },
});

const syncRoute = createRoute({
  method: 'post',
  path: '/templates/sync',
  tags: ['templates'],
  operationId: 'syncTemplates',
  summary: "Fetch every template of the business's WhatsApp accounts from Meta (all pages)",
  security: [{ bearer: [] }],
  responses: {
    200: {
      description: 'What was synced',
      content: {
        'application/json': {
          schema: z.object({
            synced: z.number().int(),
            accounts: z.array(
              z.object({
                channel_account_id: z.uuid(),
                waba_id: z.string(),
                templates: z.number().int(),
              }),
            ),
            items: z.array(templateView),
          }),
        },
      },
    },
    ...errorResponses,
  },
});

const sendRoute = createRoute({
  method: 'post',
  path: '/templates/send',
  tags: ['templates'],
  operationId: 'sendTemplate',
  summary: 'Queue an approved template, its parameters checked against the template first',
  description:
    'parameters: the body values as a list (positional {{1}}, {{2}}, …) or as { "header": …, "body": …, ' +
    '"buttons": [{ "index", "payload" | "text" }] } where body / header are lists or name → value objects ' +
    '(named templates) and a media header is { "image": { "id" | "link" } }. 400: wrong count or format; ' +
    '422: not APPROVED, or no consent (MARKETING needs an opt-in).',
  security: [{ bearer: [] }],
  request: {
    body: {
      content: {
        'application/json': {
          schema: z
            .object({
              conversation_id: z.uuid(),
              template_id: z.uuid(),
              parameters: templateParametersInput.openapi({ example: ['#4521'] }),
            })
            .openapi('SendTemplateRequest'),
        },
      },
      required: true,
    },
  },
  responses: {
    202: { description: 'Queued', content: { 'application/json': { schema: queuedResponse } } },
    ...errorResponses,
  },
});

export function registerTemplates(app: App) {
  app.openapi(listRoute, async (c) => {
    const { status } = c.req.valid('query');
    const rows = await asCurrentOperator(c, (ctx) => listTemplates(ctx, { status }));
    return c.json({ items: rows.map(toTemplateView) }, 200);
  });

  app.openapi(syncRoute, async (c) => {
    const { services, env, operator } = c.var;
    const accounts = await asCurrentOperator(c, (ctx) => whatsappAccountsWithWaba(ctx));
    const graph = graphClient(env);
    const summary: Array<{ channel_account_id: string; waba_id: string; templates: number }> = [];
    for (const account of accounts) {
      const graphAccount = await graphAccountFor(services, env, operator.tenantId, {
        ...account,
        channel: 'whatsapp',
      });
      if (!graphAccount) {
        throw new ApiError(
          'UNPROCESSABLE',
          `WhatsApp account ${account.externalId} has no access token; reconnect it.`,
        );
      }
      let fetched: Awaited<ReturnType<typeof graph.listTemplates>>;
      try {
        fetched = await graph.listTemplates(graphAccount);
      } catch (err) {
        if (!(err instanceof GraphApiError)) throw err;
        throw new ApiError(
          err.transient ? 'SERVICE_UNAVAILABLE' : 'UNPROCESSABLE',
          `Meta did not list the templates of WhatsApp account ${account.wabaId}: ${err.meaning.reason}`,
        );
      }
      await asCurrentOperator(c, (ctx) =>
        upsertSyncedTemplates(ctx, {
          channelAccountId: account.id,
          wabaId: account.wabaId,
          templates: fetched,
        }),
      );
      summary.push({
        channel_account_id: account.id,
        waba_id: account.wabaId,
        templates: fetched.length,
      });
    }
    const rows = await asCurrentOperator(c, (ctx) => listTemplates(ctx));
    return c.json(
      {
        synced: summary.reduce((n, a) => n + a.templates, 0),
        accounts: summary,
        items: rows.map(toTemplateView),
      },
      200,
    );
  });

  app.openapi(sendRoute, async (c) => {
    const body = c.req.valid('json');
    const { services, env } = c.var;
    const queued = await asCurrentOperator(c, async ({ tx, tenantId, userId }) => {
      const ctx = { tx, tenantId };
      const template = await getTemplate(ctx, body.template_id);
      const refusal = templateRefusal(template);
      if (refusal) throw new SendRefusedError('template_not_approved', refusal);
      const built = buildTemplateMessage(template, body.parameters);
      if (!built.ok) throw new ApiError('BAD_REQUEST', built.error);
      return queueOutboundMessage(ctx, {
        conversationId: body.conversation_id,
        sender: 'operator',
        message: built.message,
        now: services.clock.now(),
        requestedByUserId: userId,
      });
    });
    await publishJobs(services, env, [queued.job]);
    return c.json(
      {
        message: toOutboundMessageView(queued.message),
        not_before: queued.notBefore.toISOString(),
        window: windowView(queued.window),
      },
      202,
    );
  });
}
