import { createRoute, z } from '@hono/zod-openapi';
import { asTenant } from '../../../db/client';
import {
  getTenantSettings,
  type SettingsPatch,
  setModelApiKey,
  type TenantSettings,
  updateTenantSettings,
} from '../../../db/settings';
import { safeTimeZone } from '../../agent/instructions';
import type { App } from '../../app';
import { errorResponses } from '../../errors';
import { encryptSecret } from '../../lib/crypto';
import { asCurrentOperator, requireRole } from '../../middleware/operator-auth';

/**
 * `/admin/settings`: how the agent and the send path behave for this business. Every member reads;
 * owners and admins change. A tenant's own model API key is write-only: it is encrypted
 * (functions/lib/crypto.ts) into the `private` schema, and only its last four characters come back.
 */

const DAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
const hhmm = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'must be HH:MM (24 h)');
const businessHours = z
  .partialRecord(
    z.enum(DAYS),
    z
      .array(
        z.tuple([hhmm, hhmm]).refine(([from, to]) => from < to, 'a range must end after it starts'),
      )
      .max(4),
  )
  .openapi({
    description: 'Per day, opening ranges in the business time zone; [] = closed that day',
    example: {
      mon: [
        ['09:00', '14:00'],
        ['16:00', '20:00'],
      ],
      sun: [],
    },
  });

const escalationContact = z.object({
  name: z.string().trim().min(1).max(80),
  whatsapp: z
    .string()
    .trim()
    .regex(/^\+?\d{8,15}$/, 'must be a phone number in international format, digits only')
    .optional(),
  email: z.email().optional(),
});

const settings = z
  .object({
    persona: z.string(),
    instructions: z.string().openapi({ description: "Policies and rules for the agent's answers" }),
    business_description: z.string(),
    business_hours: businessHours,
    time_zone: z.string(),
    debounce_seconds: z.number().int(),
    reply_mode: z.enum(['auto', 'approval', 'off']),
    send_spacing_seconds: z.number().int(),
    lock_on_operator_reply: z.boolean(),
    escalation_contacts: z.array(escalationContact),
    model: z.string().nullable().openapi({ description: 'null: the deployment default' }),
    api_key: z.object({
      set: z.boolean(),
      hint: z.string().nullable().openapi({ description: 'Last four characters, when set' }),
    }),
    updated_at: z.string().nullable(),
  })
  .openapi('TenantSettings');

const settingsPatch = z
  .object({
    persona: z.string().max(2000),
    instructions: z.string().max(10_000),
    business_description: z.string().max(4000),
    business_hours: businessHours,
    time_zone: z
      .string()
      .min(1)
      .max(64)
      .refine(
        (zone) => safeTimeZone(zone) === zone,
        'must be an IANA time zone, e.g. Europe/Madrid',
      ),
    debounce_seconds: z.number().int().min(0).max(300),
    reply_mode: z.enum(['auto', 'approval', 'off']),
    send_spacing_seconds: z.number().int().min(0).max(60),
    lock_on_operator_reply: z.boolean(),
    escalation_contacts: z.array(escalationContact).max(10),
    model: z.string().trim().min(1).max(100).nullable(),
    api_key: z
      .string()
      .trim()
      .min(20)
      .max(400)
      .nullable()
      .openapi({ description: 'Your own OpenAI (or compatible) key; null removes it' }),
  })
  .partial()
  .strict()
  .refine((v) => Object.keys(v).length > 0, 'give at least one setting to change')
  .openapi('TenantSettingsPatch');

function toView(s: TenantSettings): z.infer<typeof settings> {
  return {
    persona: s.persona,
    instructions: s.agentInstructions,
    business_description: s.businessDescription,
    business_hours: s.businessHours,
    time_zone: s.timeZone,
    debounce_seconds: s.debounceSeconds,
    reply_mode: s.replyMode,
    send_spacing_seconds: s.sendSpacingSeconds,
    lock_on_operator_reply: s.lockOnOperatorReply,
    escalation_contacts: s.escalationContacts,
    model: s.model,
    api_key: { set: s.apiKeyHint !== null, hint: s.apiKeyHint },
    updated_at: s.updatedAt?.toISOString() ?? null,
  };
}

const getRoute = createRoute({
  method: 'get',
  path: '/settings',
  tags: ['settings'],
  operationId: 'getSettings',
  summary: 'The business settings: agent persona and instructions, hours, reply mode, …',
  security: [{ bearer: [] }],
  responses: {
    200: { description: 'The settings', content: { 'application/json': { schema: settings } } },
    ...errorResponses,
  },
});

const patchRoute = createRoute({
  method: 'patch',
  path: '/settings',
  tags: ['settings'],
  operationId: 'updateSettings',
  summary: 'Change some settings (owners and admins)',
  security: [{ bearer: [] }],
  middleware: [requireRole('owner', 'admin')] as const,
  request: {
    body: { content: { 'application/json': { schema: settingsPatch } }, required: true },
  },
  responses: {
    200: { description: 'The settings', content: { 'application/json': { schema: settings } } },
    ...errorResponses,
  },
});

export function registerSettings(app: App) {
  app.openapi(getRoute, async (c) => {
    const current = await asCurrentOperator(c, (ctx) => getTenantSettings(ctx));
    return c.json(toView(current), 200);
  });

  app.openapi(patchRoute, async (c) => {
    const body = c.req.valid('json');
    const { services, env, operator } = c.var;
    const { api_key: apiKey, ...rest } = body;
    if (apiKey !== undefined) {
      const sealed = apiKey
        ? {
            ciphertext: await encryptSecret(apiKey, env.CREDENTIALS_ENCRYPTION_KEY),
            hint: apiKey.slice(-4),
          }
        : null;
      // Operators cannot reach `private` at all; the tenant handle writes the key, for the tenant
      // the verified operator acts on (owner/admin, checked above).
      await asTenant(services.db, operator.tenantId, (tx) =>
        setModelApiKey({ tx, tenantId: operator.tenantId }, sealed),
      );
    }
    const patch: SettingsPatch = {
      ...(rest.persona !== undefined ? { persona: rest.persona } : {}),
      ...(rest.instructions !== undefined ? { agentInstructions: rest.instructions } : {}),
      ...(rest.business_description !== undefined
        ? { businessDescription: rest.business_description }
        : {}),
      ...(rest.business_hours !== undefined ? { businessHours: rest.business_hours } : {}),
      ...(rest.time_zone !== undefined ? { timeZone: rest.time_zone } : {}),
      ...(rest.debounce_seconds !== undefined ? { debounceSeconds: rest.debounce_seconds } : {}),
      ...(rest.reply_mode !== undefined ? { replyMode: rest.reply_mode } : {}),
      ...(rest.send_spacing_seconds !== undefined
        ? { sendSpacingSeconds: rest.send_spacing_seconds }
        : {}),
      ...(rest.lock_on_operator_reply !== undefined
        ? { lockOnOperatorReply: rest.lock_on_operator_reply }
        : {}),
      ...(rest.escalation_contacts !== undefined
        ? { escalationContacts: rest.escalation_contacts }
        : {}),
      ...(rest.model !== undefined ? { model: rest.model } : {}),
    };
    const updated = await asCurrentOperator(c, (ctx) => updateTenantSettings(ctx, patch));
    return c.json(toView(updated), 200);
  });
}
