import { z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import {
  type ChannelAccountRow,
  connectProviderAccount,
  createWidget,
  listChannelAccounts,
  rotateWebhookSecret,
  setProviderApiKey,
  updateWidget,
} from '../../../db/channel-accounts';
import { asTenant } from '../../../db/client';
import type { App } from '../../app';
import type { HonoEnv } from '../../context';
import { ApiError } from '../../errors';
import { encryptSecret } from '../../lib/crypto';
import { asCurrentOperator, requireRole } from '../../middleware/operator-auth';
import { itemsOf } from '../paging';
import { field, idParams, jsonBody, jsonResponse, operatorRoutes } from '../route';

/**
 * `/admin/channels`: the business's channel accounts, connecting WhatsApp numbers carried by a
 * provider (Gupshup, YCloud): the provider's API key and the callback secret, sealed at rest like
 * Meta's tokens, and rotatable; and the web chat widgets of its sites (docs/widget.md). Every member reads the list; owners and admins connect numbers and
 * change their credentials. Secrets never come back, except a Gupshup callback URL once, when it
 * is made (the secret is part of it, and Gupshup's settings need the whole URL).
 */

const route = operatorRoutes('channels');

/** How long the secret a rotation replaced is still accepted (the provider's settings lag). */
export const PREVIOUS_SECRET_GRACE_MS = 24 * 60 * 60_000;

const provider = z.enum(['gupshup', 'ycloud']).openapi({
  description: 'Who carries the WhatsApp number',
  example: 'gupshup',
});

const account = z
  .object({
    id: field.id('The channel account'),
    channel: z
      .enum(['whatsapp', 'messenger', 'instagram', 'web'])
      .openapi({ description: 'The channel (web: the site chat widget)', example: 'whatsapp' }),
    provider: z
      .enum(['meta', 'gupshup', 'ycloud'])
      .openapi({ description: 'Who carries it: Meta directly, or a provider', example: 'meta' }),
    external_id: field.string(
      "The account's id at its provider: Meta's phone number id, page or Instagram id; Gupshup's app name; YCloud's number in E.164; a widget's public key",
      '106540352242922',
    ),
    display_name: field.string('The name shown for the account', 'Main line'),
    display_phone_number: field.nullableString('The number, for WhatsApp', '+1 555 010 0001'),
    callback_url: field.nullableString(
      "Where a provider posts this number's callbacks (without Gupshup's secret); null for Meta's accounts, which share /webhooks/meta",
      'https://api.example.com/webhooks/ycloud/0b6f5a52-8c1e-4d2a-9f3b-7e4c1d2a9b60',
    ),
    widget: z
      .object({
        allowed_origins: z.array(z.string()).openapi({
          description: 'The origins whose pages may use the widget',
          example: ['https://www.example-clinic.com'],
        }),
        title: field.string("The widget's header", 'Example Clinic'),
        color: field.string("The bubble's and header's colour", '#0b6e4f'),
        greeting: field.string("The widget's first words to a visitor", 'Hi! How can we help?'),
      })
      .nullable()
      .openapi({
        description: "A web widget's settings (its public key is external_id); null for the others",
        example: null,
      }),
    created_at: field.time('When it was connected'),
  })
  .openapi('ChannelAccount', {
    description: 'A WhatsApp number, Messenger page or Instagram account',
  });

const secretText = (description: string) =>
  z
    .string()
    .trim()
    .min(16, 'must be at least 16 characters')
    .max(256)
    .openapi({ description, example: 'whsec_3f9c2a7e51d84b0c9e6a1f2d7b3c8e40' });

const connectInput = z
  .object({
    provider,
    external_id: z
      .string()
      .trim()
      .min(1)
      .max(128)
      .regex(/^[A-Za-z0-9+_.-]+$/, 'letters, digits, "+", "_", "." and "-" only')
      .openapi({
        description:
          "Gupshup: the app name (src.name). YCloud: the number in E.164 ('+' and digits)",
        example: 'AcmeSalon',
      }),
    display_name: z.string().trim().min(1).max(100).openapi({
      description: 'The name shown for the number',
      example: 'Salon (Gupshup)',
    }),
    display_phone_number: z
      .string()
      .trim()
      .regex(/^\+?\d{6,20}$/, 'must be a phone number: digits, optionally after "+"')
      .openapi({ description: 'The business number, E.164', example: '+15550100001' }),
    waba_id: z.string().trim().min(1).max(64).nullable().default(null).openapi({
      description: 'The WhatsApp Business Account id, for templates',
      example: '102290129340398',
    }),
    api_key: z.string().trim().min(8).max(512).openapi({
      description: "The provider's API key (write-only)",
      example: 'sk_4f1c0b2e9d8a7f6e5d4c3b2a1f0e9d8c',
    }),
    webhook_secret: secretText(
      "YCloud: the webhook endpoint's signing secret (required). Gupshup: leave it out; one is made and put in the callback URL",
    ).optional(),
  })
  .superRefine((input, ctx) => {
    if (input.provider === 'ycloud' && !input.webhook_secret) {
      ctx.addIssue({
        code: 'custom',
        path: ['webhook_secret'],
        message: 'YCloud signs callbacks with the endpoint secret it shows: paste it here',
      });
    }
    if (input.provider === 'ycloud' && !/^\+\d{6,20}$/.test(input.external_id)) {
      ctx.addIssue({
        code: 'custom',
        path: ['external_id'],
        message: 'a YCloud number is its E.164 form, "+" and digits',
      });
    }
  })
  .openapi('ProviderNumberInput', { description: 'A WhatsApp number a provider carries' });

const connected = z
  .object({
    account,
    callback_url: field.string(
      'The URL to set as the callback in the provider’s settings; for Gupshup it carries the secret and is shown only now',
      'https://api.example.com/webhooks/gupshup/0b6f5a52-8c1e-4d2a-9f3b-7e4c1d2a9b60?secret=…',
    ),
  })
  .openapi('ConnectedNumber', { description: 'The number, and where its callbacks go' });

const rotateInput = z
  .object({
    webhook_secret: secretText(
      "YCloud: the endpoint's new signing secret (required). Gupshup: leave it out; a new one is made",
    ).optional(),
  })
  .openapi('WebhookSecretInput', { description: 'A new callback secret' });

const rotated = z
  .object({
    callback_url: connected.shape.callback_url,
    previous_secret_valid_until: field.time(
      'Until when callbacks with the secret it replaced are still accepted',
    ),
  })
  .openapi('RotatedWebhookSecret', { description: 'The new secret is in force' });

const apiKeyInput = z
  .object({ api_key: connectInput.shape.api_key })
  .openapi('ProviderApiKeyInput', { description: "The provider's new API key" });

/** Exactly what browsers send as `Origin`: scheme, host and port; no path, no trailing slash. */
function isOrigin(value: string): boolean {
  try {
    const url = new URL(value);
    return (url.protocol === 'https:' || url.protocol === 'http:') && url.origin === value;
  } catch {
    return false;
  }
}

const widgetFields = {
  title: z.string().trim().min(1).max(60).openapi({
    description: "The widget's header (≤ 60)",
    example: 'Example Clinic',
  }),
  allowed_origins: z
    .array(
      z
        .string()
        .trim()
        .max(200)
        .refine(
          isOrigin,
          'must be an origin as browsers send it: https://www.example.com (no path)',
        ),
    )
    .min(1)
    .max(20)
    .openapi({
      description: 'The origins whose pages may use the widget (1–20); any other page is refused',
      example: ['https://www.example-clinic.com', 'https://example-clinic.com'],
    }),
  color: z
    .string()
    .regex(/^#[0-9a-fA-F]{6}$/, 'must be a colour as #rrggbb')
    .openapi({ description: "The bubble's and header's colour, #rrggbb", example: '#0b6e4f' }),
  greeting: z.string().trim().max(300).openapi({
    description: "The widget's first words to a visitor (≤ 300)",
    example: 'Hi! How can we help?',
  }),
};

const widgetInput = z
  .object({
    ...widgetFields,
    color: widgetFields.color.optional(),
    greeting: widgetFields.greeting.optional(),
  })
  .openapi('WidgetInput', { description: 'A web chat widget for the business’s site' });

const widgetChanges = z
  .object({
    title: widgetFields.title.optional(),
    allowed_origins: widgetFields.allowed_origins.optional(),
    color: widgetFields.color.optional(),
    greeting: widgetFields.greeting.optional(),
  })
  .refine((v) => Object.keys(v).length > 0, 'nothing to change')
  .openapi('WidgetChanges', { description: 'What to change in a widget' });

const createdWidget = z
  .object({
    account,
    script_tag: field.string(
      'The tag to put in every page of the site',
      '<script src="https://api.example.com/widget.js" data-key="pk_live_…" async></script>',
    ),
  })
  .openapi('CreatedWidget', { description: 'The widget, and the tag that shows it' });

const ownersAndAdmins = [requireRole('owner', 'admin')];

const createWidgetRoute = route('post', '/channels/widgets', {
  operationId: 'createWidget',
  summary: 'Add a web chat widget for the business’s site (owners and admins)',
  middleware: ownersAndAdmins,
  request: { body: jsonBody(widgetInput) },
  responses: { 201: jsonResponse('Created', createdWidget) },
});

const updateWidgetRoute = route('patch', '/channels/{id}/widget', {
  operationId: 'updateWidget',
  summary: "Change a web widget's origins, title, colour or greeting (owners and admins)",
  middleware: ownersAndAdmins,
  request: { params: idParams, body: jsonBody(widgetChanges) },
  responses: { 200: jsonResponse('The widget now', account) },
});

const listRoute = route('get', '/channels', {
  operationId: 'listChannels',
  summary: "The business's WhatsApp numbers, Messenger pages and Instagram accounts",
  responses: { 200: jsonResponse('Every account', itemsOf(account, 'Accounts, by channel')) },
});

const connectRoute = route('post', '/channels', {
  operationId: 'connectProviderNumber',
  summary: 'Connect a WhatsApp number carried by Gupshup or YCloud (owners and admins)',
  middleware: ownersAndAdmins,
  request: { body: jsonBody(connectInput) },
  responses: { 201: jsonResponse('Connected', connected) },
});

const rotateRoute = route('post', '/channels/{id}/webhook-secret', {
  operationId: 'rotateWebhookSecret',
  summary: "Replace a provider number's callback secret (owners and admins)",
  middleware: ownersAndAdmins,
  request: { params: idParams, body: jsonBody(rotateInput) },
  responses: { 200: jsonResponse('Rotated', rotated) },
});

const apiKeyRoute = route('put', '/channels/{id}/api-key', {
  operationId: 'setProviderApiKey',
  summary: "Replace a provider number's API key (owners and admins)",
  middleware: ownersAndAdmins,
  request: { params: idParams, body: jsonBody(apiKeyInput) },
  responses: { 204: { description: 'Replaced' } },
});

/** Where a provider posts this account's callbacks: the deployment's public URL. */
function callbackUrl(c: Context<HonoEnv>, row: { id: string; provider: string }, secret?: string) {
  const url = new URL(`/webhooks/${row.provider}/${row.id}`, c.var.env.PUBLIC_BASE_URL);
  if (secret) url.searchParams.set('secret', secret);
  return url.toString();
}

function toView(c: Context<HonoEnv>, row: ChannelAccountRow): z.infer<typeof account> {
  return {
    id: row.id,
    channel: row.channel,
    provider: row.provider,
    external_id: row.externalId,
    display_name: row.displayName,
    display_phone_number: row.displayPhoneNumber,
    callback_url: row.provider === 'meta' ? null : callbackUrl(c, row),
    widget: row.widget
      ? {
          allowed_origins: row.widget.allowedOrigins,
          title: row.widget.title,
          color: row.widget.color,
          greeting: row.widget.greeting,
        }
      : null,
    created_at: row.createdAt.toISOString(),
  };
}

/** Gupshup's secret is ours to make: 32 random bytes, URL-safe. */
function newSecret(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return btoa(String.fromCharCode(...bytes))
    .replaceAll('+', '-')
    .replaceAll('/', '_')
    .replace(/=+$/, '');
}

/** What a widget's API field names are in db/ (only those given). */
function widgetSettings(input: Partial<Record<keyof typeof widgetFields, unknown>>) {
  return Object.fromEntries(
    Object.entries({
      title: input.title,
      allowedOrigins: input.allowed_origins,
      color: input.color,
      greeting: input.greeting,
    }).filter(([, v]) => v !== undefined),
  );
}

export function registerChannels(app: App) {
  app.openapi(createWidgetRoute, async (c) => {
    const body = c.req.valid('json');
    // Public by design (it is in the site's HTML): it only names the widget.
    const publicKey = `pk_live_${crypto.randomUUID().replaceAll('-', '')}`;
    const row = await asCurrentOperator(c, ({ ctx }) =>
      createWidget(ctx, {
        publicKey,
        displayName: `${body.title} website`,
        settings: {
          title: body.title,
          allowedOrigins: body.allowed_origins,
          color: body.color ?? '#0b6e4f',
          greeting: body.greeting ?? '',
        },
      }),
    );
    const script = new URL('/widget.js', c.var.env.PUBLIC_BASE_URL);
    const scriptTag = `<script src="${script}" data-key="${publicKey}" async></script>`;
    return c.json({ account: toView(c, row), script_tag: scriptTag }, 201);
  });

  app.openapi(updateWidgetRoute, async (c) => {
    const { id } = c.req.valid('param');
    const row = await asCurrentOperator(c, ({ ctx }) =>
      updateWidget(ctx, id, widgetSettings(c.req.valid('json'))),
    );
    return c.json(toView(c, row), 200);
  });

  app.openapi(listRoute, async (c) => {
    const rows = await asCurrentOperator(c, ({ ctx }) => listChannelAccounts(ctx));
    return c.json({ items: rows.map((row) => toView(c, row)) }, 200);
  });

  app.openapi(connectRoute, async (c) => {
    const body = c.req.valid('json');
    const { services, env, operator } = c.var;
    const secret = body.webhook_secret ?? newSecret();
    const key = env.CREDENTIALS_ENCRYPTION_KEY;
    const sealedApiKey = await encryptSecret(body.api_key, key);
    const sealedWebhookSecret = await encryptSecret(secret, key);
    // Operators cannot reach `private`: the tenant handle writes, for the tenant the verified
    // owner or admin acts on (checked above).
    const row = await asTenant(services.db, operator.tenantId, (ctx) =>
      connectProviderAccount(ctx, {
        provider: body.provider,
        externalId: body.external_id,
        displayName: body.display_name,
        displayPhoneNumber: body.display_phone_number,
        wabaId: body.waba_id,
        sealedApiKey,
        sealedWebhookSecret,
      }),
    );
    c.var.logger.info('provider number connected', { channelAccountId: row.id });
    const url = callbackUrl(c, row, body.provider === 'gupshup' ? secret : undefined);
    return c.json({ account: toView(c, row), callback_url: url }, 201);
  });

  app.openapi(rotateRoute, async (c) => {
    const { id } = c.req.valid('param');
    const body = c.req.valid('json');
    const { services, env, operator } = c.var;
    const now = services.clock.now();
    const graceUntil = new Date(now.getTime() + PREVIOUS_SECRET_GRACE_MS);
    const secret = body.webhook_secret ?? newSecret();
    const sealedSecret = await encryptSecret(secret, env.CREDENTIALS_ENCRYPTION_KEY);
    const provider = await asTenant(services.db, operator.tenantId, async (ctx) => {
      const rotatedFor = await rotateWebhookSecret(ctx, { id, sealedSecret, graceUntil });
      if (rotatedFor === 'ycloud' && !body.webhook_secret) {
        // Thrown inside the transaction, so nothing changes; after the lookup, so another
        // business's id is a 404 rather than a hint.
        throw new ApiError(
          'UNPROCESSABLE',
          'YCloud signs callbacks with the endpoint secret it shows: send it as webhook_secret.',
        );
      }
      return rotatedFor;
    });
    c.var.logger.info('provider callback secret rotated', { channelAccountId: id });
    const url = callbackUrl(c, { id, provider }, provider === 'gupshup' ? secret : undefined);
    return c.json(
      { callback_url: url, previous_secret_valid_until: graceUntil.toISOString() },
      200,
    );
  });

  app.openapi(apiKeyRoute, async (c) => {
    const { id } = c.req.valid('param');
    const { services, env, operator } = c.var;
    const sealedApiKey = await encryptSecret(
      c.req.valid('json').api_key,
      env.CREDENTIALS_ENCRYPTION_KEY,
    );
    await asTenant(services.db, operator.tenantId, (ctx) =>
      setProviderApiKey(ctx, { id, sealedApiKey }),
    );
    c.var.logger.info('provider API key replaced', { channelAccountId: id });
    return c.body(null, 204);
  });
}
