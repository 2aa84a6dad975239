import { z } from '@hono/zod-openapi';
import { SendRefusedError } from '../../../core/errors';
import {
  buildTemplateMessage,
  templateParametersSchema,
  templatePlaceholders,
  templateRefusal,
} from '../../../core/messaging/templates';
import { queueOutboundMessage } from '../../../db/outbound';
import {
  getTemplate,
  listTemplates,
  type TemplateRow,
  upsertSyncedTemplates,
  whatsappAccountsWithWaba,
} from '../../../db/templates';
import type { App } from '../../app';
import { ApiError } from '../../errors';
import { GraphApiError, graphClient } from '../../lib/graph';
import { graphAccountFor } from '../../lib/graph-accounts';
import { publishJobs } from '../../lib/jobs';
import { asCurrentOperator } from '../../middleware/operator-auth';
import { queuedResponses, toQueuedView } from '../messages/view';
import { itemsOf } from '../paging';
import { field, jsonBody, jsonResponse, operatorRoutes, textParam } from '../route';

const route = operatorRoutes('templates');

const placeholderNames = z.array(z.string()).openapi({
  description: 'Placeholder names in order: 1, 2, … (positional) or first_name, … (named)',
  example: ['1'],
});

const templateView = z
  .object({
    id: field.id('The template (our id)'),
    channel_account_id: field.id('The WhatsApp account it belongs to'),
    waba_id: field.string('The WhatsApp Business Account id at Meta', '102290129340398'),
    provider_template_id: field.string("Meta's id of the template", '1520349735526421'),
    name: field.string('The template name', 'order_shipped'),
    language: field.string('Its language code', 'en_US'),
    status: field.string(
      "Meta's review status: APPROVED, PENDING, REJECTED, PAUSED, DISABLED, …",
      'APPROVED',
    ),
    status_reason: field.nullableString("Meta's reason for a rejection or pause", null),
    category: field.string('MARKETING, UTILITY or AUTHENTICATION', 'UTILITY'),
    parameter_format: z.enum(['POSITIONAL', 'NAMED']).openapi({
      description: 'POSITIONAL: {{1}}, {{2}}, …; NAMED: {{first_name}}, …',
      example: 'POSITIONAL',
    }),
    components: z.array(z.unknown()).openapi({
      description: "The template's components as Meta returns them (header, body, footer, buttons)",
      example: [{ type: 'BODY', text: 'Your order {{1}} has shipped.' }],
    }),
    sendable: field.boolean('Whether it can be sent now', true),
    refusal: field.nullableString('Why it cannot be sent, when it cannot', null),
    placeholders: z
      .object({
        header: z
          .object({
            format: field.string('TEXT, IMAGE, VIDEO or DOCUMENT', 'TEXT'),
            names: placeholderNames,
          })
          .nullable()
          .openapi({
            description: 'The header and its placeholders; null without one',
            example: null,
          }),
        body: placeholderNames,
        buttons: z
          .array(
            z.object({
              index: z.number().openapi({ description: "The button's position", example: 0 }),
              type: field.string('URL, QUICK_REPLY, …', 'URL'),
              text: field.string("The button's label", 'Track'),
              names: placeholderNames,
            }),
          )
          .openapi({
            description: 'Buttons that take a value',
            example: [{ index: 0, type: 'URL', text: 'Track', names: ['1'] }],
          }),
      })
      .openapi({
        description: 'What must be filled in when sending it',
        example: { header: null, body: ['1'], buttons: [] },
      }),
    parameter_count: z
      .number()
      .int()
      .openapi({ description: 'How many values it takes in all', example: 1 }),
    updated_at: field.time('When it was last synced from Meta'),
  })
  .openapi('Template', { description: 'A WhatsApp message template and whether it can be sent' });

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

const listRoute = route('get', '/templates', {
  operationId: 'listTemplates',
  summary: 'WhatsApp templates with their components, placeholders and whether they can be sent',
  request: {
    query: z.object({
      status: textParam()
        .max(32)
        .optional()
        .openapi({ description: 'Only templates with this status', example: 'APPROVED' }),
    }),
  },
  responses: { 200: jsonResponse('Templates', itemsOf(templateView, 'Templates')) },
});

const syncRoute = route('post', '/templates/sync', {
  operationId: 'syncTemplates',
  summary: "Fetch every template of the business's WhatsApp accounts from Meta (all pages)",
  responses: {
    200: jsonResponse(
      'What was synced',
      z.object({
        synced: z.number().int().openapi({ description: 'Templates fetched in all', example: 12 }),
        accounts: z
          .array(
            z.object({
              channel_account_id: field.id('The WhatsApp account'),
              waba_id: field.string('Its WhatsApp Business Account id at Meta', '102290129340398'),
              templates: z
                .number()
                .int()
                .openapi({ description: 'Templates fetched for it', example: 12 }),
            }),
          )
          .openapi({
            description: 'Per WhatsApp account',
            example: [
              {
                channel_account_id: '0b6f5a52-8c1e-4d2a-9f3b-7e4c1d2a9b60',
                waba_id: '102290129340398',
                templates: 12,
              },
            ],
          }),
        items: z.array(templateView).openapi({ description: 'Every template, after the sync' }),
      }),
    ),
  },
});

/**
 * The documented shape of the `parameters` that `templateParametersInput` (messaging/templates.ts)
 * validates; written out here because that schema carries no descriptions of its own.
 */
const textValuesDoc = {
  anyOf: [
    { type: 'array' as const, items: { type: 'string' as const } },
    { type: 'object' as const, additionalProperties: { type: 'string' as const } },
  ],
};
const parametersDoc = {
  description:
    'The values: a list (the body, positional) or { header, body, buttons }; checked against the template',
  example: ['#4521'],
  anyOf: [
    { type: 'array' as const, items: { type: 'string' as const } },
    {
      type: 'object' as const,
      additionalProperties: false,
      properties: {
        header: {
          description:
            'Header values (a list or name → value), or a media header { "image" | "video" | "document": { "id" | "link" } }',
          example: { image: { link: 'https://example.com/menu.jpg' } },
          anyOf: [...textValuesDoc.anyOf, { type: 'object' as const }],
        },
        body: {
          ...textValuesDoc,
          description: 'Body values: a list (positional) or name → value (named templates)',
          example: { first_name: 'Maria' },
        },
        buttons: {
          type: 'array' as const,
          description: 'Values of buttons that take one',
          example: [{ index: 0, text: '4521' }],
          items: {
            type: 'object' as const,
            additionalProperties: false,
            required: ['index'],
            properties: {
              index: {
                type: 'integer' as const,
                minimum: 0,
                maximum: 9,
                description: "The button's position",
                example: 0,
              },
              payload: {
                type: 'string' as const,
                description: 'A quick-reply button’s payload',
                example: 'CONFIRM',
              },
              text: {
                type: 'string' as const,
                description: 'A URL button’s value',
                example: '4521',
              },
            },
          },
        },
      },
    },
  ],
};

const sendRoute = route('post', '/templates/send', {
  operationId: 'sendTemplate',
  summary: 'Queue an approved template, its parameters checked against the template first',
  description:
    'parameters: the body values as a list (positional {{1}}, {{2}}, …) or as { "header": …, "body": …, ' +
    '"buttons": [{ "index", "payload" | "text" }] } where body / header are lists or name → value objects ' +
    '(named templates) and a media header is { "image": { "id" | "link" } }. 400: wrong count or format; ' +
    '422: not APPROVED, or no consent (MARKETING needs an opt-in).',
  request: {
    body: jsonBody(
      z
        .object({
          conversation_id: field.id('The conversation to send on'),
          template_id: field.id('The template (our id, from GET /admin/templates)'),
          parameters: templateParametersSchema().openapi(parametersDoc),
        })
        .openapi('SendTemplateRequest', { description: 'A template to send, with its values' }),
    ),
  },
  responses: queuedResponses,
});

export function registerTemplates(app: App) {
  app.openapi(listRoute, async (c) => {
    const { status } = c.req.valid('query');
    const rows = await asCurrentOperator(c, ({ ctx }) => listTemplates(ctx, { status }));
    return c.json({ items: rows.map(toTemplateView) }, 200);
  });

  app.openapi(syncRoute, async (c) => {
    const { services, env, operator } = c.var;
    const accounts = await asCurrentOperator(c, ({ ctx }) => whatsappAccountsWithWaba(ctx));
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
      await asCurrentOperator(c, ({ ctx }) =>
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
    const rows = await asCurrentOperator(c, ({ ctx }) => listTemplates(ctx));
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
    const queued = await asCurrentOperator(c, async ({ ctx, userId }) => {
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
    return c.json(toQueuedView(queued), 202);
  });
}
