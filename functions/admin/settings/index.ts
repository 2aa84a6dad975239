import { z } from '@hono/zod-openapi';
import { aiSpendThisMonth } from '../../../db/agent';
import { asTenant } from '../../../db/client';
import {
  getTenantSettings,
  type SettingsPatch,
  setModelApiKey,
  type TenantSettings,
  updateTenantSettings,
} from '../../../db/settings';
import { setTraceExport } from '../../../db/trace-export';
import { safeTimeZone } from '../../agent/instructions';
import { langfuseAuthorization } from '../../agent/trace-export';
import type { App } from '../../app';
import { HEADER_NAME } from '../../env';
import { encryptSecret } from '../../lib/crypto';
import { asCurrentOperator, requireRole } from '../../middleware/operator-auth';
import { field, jsonBody, jsonResponse, operatorRoutes } from '../route';

/**
 * `/admin/settings`: how the agent and the send path behave for this business. Every member reads;
 * owners and admins change. A tenant's own model API key is write-only: it is encrypted
 * (functions/lib/crypto.ts) into the `private` schema, and only its last four characters come back.
 * So are the headers of the business's own trace export (docs/observability.md, "Traces out"):
 * only their names come back.
 */

const route = operatorRoutes('settings');

const DAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
const hhmm = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'must be HH:MM (24 h)');
const businessHours = z
  .partialRecord(
    z.enum(DAYS),
    z
      .array(
        z.tuple([hhmm, hhmm]).refine(([from, to]) => from < to, 'a range must end after it starts'),
      )
      .max(4)
      .openapi({
        description: "That day's opening ranges [from, to] (HH:MM, at most 4); [] = closed",
        example: [['09:00', '14:00']],
      }),
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
  name: z
    .string()
    .trim()
    .min(1)
    .max(80)
    .openapi({ description: 'Who to hand conversations to', example: 'Ana (front desk)' }),
  whatsapp: z
    .string()
    .trim()
    .regex(/^\+?\d{8,15}$/, 'must be a phone number in international format, digits only')
    .optional()
    .openapi({
      description: 'Their WhatsApp number, international format',
      example: '34600000001',
    }),
  email: z
    .email()
    .optional()
    .openapi({ description: 'Their email address', example: 'ana@example.com' }),
});

const escalationContactsDoc = {
  description: 'Who is told when the agent hands a conversation to a person',
  example: [{ name: 'Ana (front desk)', whatsapp: '34600000001' }],
};
const replyMode = z.enum(['auto', 'approval', 'off']);
const replyModeDoc = {
  description: 'auto: the agent answers; approval: its replies wait as drafts; off: no agent',
  example: 'approval' as const,
};
const personaDoc = {
  description: 'Who the agent is and how it speaks',
  example: 'You are Sol, the friendly assistant of Clínica Sol.',
};
const instructionsDoc = {
  description: "Policies and rules for the agent's answers",
  example: 'Never quote prices for treatments; offer an appointment instead.',
};
const businessDescriptionDoc = {
  description: 'What the business does, for the agent',
  example: 'A dental clinic in Madrid.',
};
const timeZoneDoc = { description: 'IANA time zone of the business', example: 'Europe/Madrid' };
const debounceDoc = {
  description: 'Seconds the agent waits for more customer messages before answering',
  example: 8,
};
const spacingDoc = { description: 'Seconds between messages we send one customer', example: 2 };
const lockOnReplyDoc = {
  description: "An operator's reply takes the conversation over from the bot",
  example: true,
};
const slotStepDoc = {
  description: 'Minutes between the start times of the appointment slots offered (5–240)',
  example: 15,
};
const minNoticeDoc = {
  description: 'Minutes ahead at least that a slot must start to be offered (0–43200)',
  example: 120,
};
const horizonDoc = {
  description: 'Days ahead at most that slots are offered (1–366)',
  example: 60,
};
const reminderOffsetsDoc = {
  description:
    'Appointment reminders: minutes before the start each one goes out (at most 5, 5–43200); [] turns them off',
  example: [1440, 120],
};
const followUpDaysDoc = {
  description:
    'Follow-ups: at most one per customer in this many days; another accepted, drafted or sent in that time refuses the next (1–90)',
  example: 7,
};
const modelDoc = { description: 'The AI model; null: the deployment default', example: null };
const budgetDoc = {
  description:
    "The AI's monthly budget in US dollars (this calendar month's runs in the tenant's time zone, at its model prices); null: none",
  example: 50,
};
const hardStopDoc = {
  description:
    'With the budget spent, the agent hands each conversation to a person instead of calling the model',
  example: false,
};

const traceMessageTextDoc = {
  description:
    "Exported traces carry the conversation's text (the customer's message, the replies, tool inputs and outputs); off: only names, times, models, tokens and costs",
  example: false,
};
const traceEndpointDoc = {
  description:
    'OTLP/HTTP traces URL this business exports its agent runs to (https; http only to localhost), e.g. Langfuse',
  example: 'https://cloud.langfuse.com/api/public/otel/v1/traces',
};
/** Set by the exporter itself, or not a header a client may choose. */
const RESERVED_HEADERS = new Set(['content-type', 'content-length', 'content-encoding', 'host']);
const traceExportPatch = z
  .object({
    endpoint: z
      .url({ protocol: /^https?$/ })
      .max(500)
      .refine((v) => {
        // Runs after a failed URL check too (zod reports every problem): not a URL is that one.
        if (!URL.canParse(v)) return true;
        const url = new URL(v);
        return (
          url.protocol === 'https:' || ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname)
        );
      }, 'must be an https URL (http only to localhost)')
      .openapi(traceEndpointDoc),
    headers: z
      .record(
        z.string(),
        z
          .string()
          .min(1)
          .max(4096)
          .regex(/^[^\r\n]*$/, 'must be one line'),
      )
      .superRefine((headers, ctx) => {
        const names = Object.keys(headers);
        if (names.length > 10) ctx.addIssue({ code: 'custom', message: 'at most 10 headers' });
        for (const name of names) {
          const problem = !HEADER_NAME.test(name)
            ? 'must be an HTTP header name'
            : RESERVED_HEADERS.has(name.toLowerCase())
              ? 'is set by the exporter'
              : null;
          if (problem) ctx.addIssue({ code: 'custom', path: [name], message: problem });
        }
      })
      .optional()
      .openapi({
        description: 'Headers sent with each export (write-only: never returned)',
        example: { 'x-api-key': 'secret-value' },
      }),
    langfuse: z
      .object({
        public_key: z
          .string()
          .trim()
          .min(1)
          .max(200)
          .openapi({ description: 'Langfuse public key', example: 'pk-lf-0123' }),
        secret_key: z
          .string()
          .trim()
          .min(1)
          .max(200)
          .openapi({ description: 'Langfuse secret key (write-only)', example: 'sk-lf-0123' }),
      })
      .optional()
      .openapi({
        description: "Langfuse's keys: sent as its Basic authorization (write-only)",
        example: { public_key: 'pk-lf-0123', secret_key: 'sk-lf-0123' },
      }),
  })
  .strict()
  .refine(
    (v) =>
      !(
        v.langfuse && Object.keys(v.headers ?? {}).some((n) => n.toLowerCase() === 'authorization')
      ),
    {
      message: 'give either Langfuse keys or an Authorization header, not both',
      path: ['headers'],
    },
  )
  .nullable()
  .openapi({
    description:
      "This business's own trace export, replacing the deployment's: the endpoint and its headers (all replaced at once); null removes it",
    example: {
      endpoint: 'https://cloud.langfuse.com/api/public/otel/v1/traces',
      langfuse: { public_key: 'pk-lf-0123', secret_key: 'sk-lf-0123' },
    },
  });

const settings = z
  .object({
    persona: z.string().openapi(personaDoc),
    instructions: z.string().openapi(instructionsDoc),
    business_description: z.string().openapi(businessDescriptionDoc),
    business_hours: businessHours,
    time_zone: z.string().openapi(timeZoneDoc),
    debounce_seconds: z.number().int().openapi(debounceDoc),
    reply_mode: replyMode.openapi(replyModeDoc),
    send_spacing_seconds: z.number().int().openapi(spacingDoc),
    lock_on_operator_reply: z.boolean().openapi(lockOnReplyDoc),
    slot_step_minutes: z.number().int().openapi(slotStepDoc),
    min_notice_minutes: z.number().int().openapi(minNoticeDoc),
    max_horizon_days: z.number().int().openapi(horizonDoc),
    reminder_offsets_minutes: z.array(z.number().int()).openapi(reminderOffsetsDoc),
    follow_up_min_days_apart: z.number().int().openapi(followUpDaysDoc),
    ai_monthly_budget_usd: z.number().nullable().openapi(budgetDoc),
    ai_budget_hard_stop: z.boolean().openapi(hardStopDoc),
    ai_spent_this_month_usd: z.number().openapi({
      description:
        "What this calendar month's AI runs cost so far (the month in the tenant's time zone, at its model prices; runs of unpriced models count nothing)",
      example: 12.37,
    }),
    trace_message_text: z.boolean().openapi(traceMessageTextDoc),
    trace_export: z
      .object({
        endpoint: z.string().openapi(traceEndpointDoc),
        header_names: z.array(z.string()).openapi({
          description: 'The names of the headers sent with it (their values are never returned)',
          example: ['Authorization'],
        }),
      })
      .nullable()
      .openapi({
        description: "This business's own trace export; null: the deployment's, if any",
        example: {
          endpoint: 'https://cloud.langfuse.com/api/public/otel/v1/traces',
          header_names: ['Authorization'],
        },
      }),
    escalation_contacts: z.array(escalationContact).openapi(escalationContactsDoc),
    model: z.string().nullable().openapi(modelDoc),
    api_key: z
      .object({
        set: field.boolean('Whether the business set its own key', true),
        hint: field.nullableString('Last four characters, when set', 'x9Qa'),
      })
      .openapi({
        description: "The business's own model API key: never returned, only whether it is set",
        example: { set: true, hint: 'x9Qa' },
      }),
    updated_at: field.nullableString(
      'When the settings last changed (ISO 8601); null: never',
      '2025-03-14T09:26:53.589Z',
    ),
  })
  .openapi('TenantSettings', { description: 'How the agent and the send path behave' });

const settingsPatch = z
  .object({
    persona: z.string().max(2000).openapi(personaDoc),
    instructions: z.string().max(10_000).openapi(instructionsDoc),
    business_description: z.string().max(4000).openapi(businessDescriptionDoc),
    business_hours: businessHours,
    time_zone: z
      .string()
      .min(1)
      .max(64)
      .refine(
        (zone) => safeTimeZone(zone) === zone,
        'must be an IANA time zone, e.g. Europe/Madrid',
      )
      .openapi(timeZoneDoc),
    debounce_seconds: z.number().int().min(0).max(300).openapi(debounceDoc),
    reply_mode: replyMode.openapi(replyModeDoc),
    send_spacing_seconds: z.number().int().min(0).max(60).openapi(spacingDoc),
    lock_on_operator_reply: z.boolean().openapi(lockOnReplyDoc),
    // The bounds are tenant_settings' checks, said here so a bad value is a 400 naming the field.
    slot_step_minutes: z.number().int().min(5).max(240).openapi(slotStepDoc),
    min_notice_minutes: z.number().int().min(0).max(43_200).openapi(minNoticeDoc),
    max_horizon_days: z.number().int().min(1).max(366).openapi(horizonDoc),
    reminder_offsets_minutes: z
      .array(z.number().int().min(5).max(43_200))
      .max(5)
      .refine((v) => new Set(v).size === v.length, 'each offset once')
      .openapi(reminderOffsetsDoc),
    follow_up_min_days_apart: z.number().int().min(1).max(90).openapi(followUpDaysDoc),
    ai_monthly_budget_usd: z.number().min(0.01).max(1_000_000).nullable().openapi(budgetDoc),
    ai_budget_hard_stop: z.boolean().openapi(hardStopDoc),
    trace_message_text: z.boolean().openapi(traceMessageTextDoc),
    trace_export: traceExportPatch,
    escalation_contacts: z.array(escalationContact).max(10).openapi(escalationContactsDoc),
    model: z.string().trim().min(1).max(100).nullable().openapi(modelDoc),
    api_key: z.string().trim().min(20).max(400).nullable().openapi({
      description: 'Your own OpenAI (or compatible) key; null removes it',
      example: 'sk-proj-0123456789abcdefghijx9Qa',
    }),
  })
  .partial()
  .strict()
  .refine((v) => Object.keys(v).length > 0, 'give at least one setting to change')
  .openapi('TenantSettingsPatch', { description: 'The settings to change; the others stay' });

function toView(s: TenantSettings, spentThisMonth: number): z.infer<typeof settings> {
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
    slot_step_minutes: s.slotStepMinutes,
    min_notice_minutes: s.minNoticeMinutes,
    max_horizon_days: s.maxHorizonDays,
    reminder_offsets_minutes: s.reminderOffsetsMinutes,
    follow_up_min_days_apart: s.followUpMinDaysApart,
    ai_monthly_budget_usd: s.aiMonthlyBudgetUsd,
    ai_budget_hard_stop: s.aiBudgetHardStop,
    ai_spent_this_month_usd: spentThisMonth,
    trace_message_text: s.traceMessageText,
    trace_export: s.traceEndpoint
      ? { endpoint: s.traceEndpoint, header_names: s.traceHeaderNames }
      : null,
    escalation_contacts: s.escalationContacts,
    model: s.model,
    api_key: { set: s.apiKeyHint !== null, hint: s.apiKeyHint },
    updated_at: s.updatedAt?.toISOString() ?? null,
  };
}

const getRoute = route('get', '/settings', {
  operationId: 'getSettings',
  summary: 'The business settings: agent persona and instructions, hours, reply mode, booking, …',
  responses: { 200: jsonResponse('The settings', settings) },
});

const patchRoute = route('patch', '/settings', {
  operationId: 'updateSettings',
  summary: 'Change some settings (owners and admins)',
  middleware: [requireRole('owner', 'admin')] as const,
  request: {
    body: jsonBody(settingsPatch),
  },
  responses: { 200: jsonResponse('The settings', settings) },
});

export function registerSettings(app: App) {
  app.openapi(getRoute, async (c) => {
    const [current, spent] = await asCurrentOperator(c, ({ ctx }) =>
      Promise.all([getTenantSettings(ctx), aiSpendThisMonth(ctx)]),
    );
    return c.json(toView(current, spent), 200);
  });

  app.openapi(patchRoute, async (c) => {
    const body = c.req.valid('json');
    const { services, env, operator } = c.var;
    const { api_key: apiKey, trace_export: traceExport, ...rest } = body;
    if (apiKey !== undefined) {
      const sealed = apiKey
        ? {
            ciphertext: await encryptSecret(apiKey, env.CREDENTIALS_ENCRYPTION_KEY),
            hint: apiKey.slice(-4),
          }
        : null;
      // Operators cannot reach `private` at all; the tenant handle writes the key, for the tenant
      // the verified operator acts on (owner/admin, checked above).
      await asTenant(services.db, operator.tenantId, (ctx) => setModelApiKey(ctx, sealed));
    }
    if (traceExport !== undefined) {
      const headers: Record<string, string> = { ...traceExport?.headers };
      if (traceExport?.langfuse) {
        const { public_key: publicKey, secret_key: secretKey } = traceExport.langfuse;
        headers.Authorization = langfuseAuthorization(publicKey, secretKey);
      }
      const names = Object.keys(headers);
      const config = traceExport
        ? {
            endpoint: traceExport.endpoint,
            headerNames: names,
            sealedHeaders:
              names.length > 0
                ? await encryptSecret(JSON.stringify(headers), env.CREDENTIALS_ENCRYPTION_KEY)
                : null,
          }
        : null;
      // The headers are credentials: sealed into `private`, through the tenant handle, as the key.
      await asTenant(services.db, operator.tenantId, (ctx) => setTraceExport(ctx, config));
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
      ...(rest.slot_step_minutes !== undefined ? { slotStepMinutes: rest.slot_step_minutes } : {}),
      ...(rest.min_notice_minutes !== undefined
        ? { minNoticeMinutes: rest.min_notice_minutes }
        : {}),
      ...(rest.max_horizon_days !== undefined ? { maxHorizonDays: rest.max_horizon_days } : {}),
      ...(rest.reminder_offsets_minutes !== undefined
        ? { reminderOffsetsMinutes: rest.reminder_offsets_minutes }
        : {}),
      ...(rest.follow_up_min_days_apart !== undefined
        ? { followUpMinDaysApart: rest.follow_up_min_days_apart }
        : {}),
      ...(rest.ai_monthly_budget_usd !== undefined
        ? { aiMonthlyBudgetUsd: rest.ai_monthly_budget_usd }
        : {}),
      ...(rest.ai_budget_hard_stop !== undefined
        ? { aiBudgetHardStop: rest.ai_budget_hard_stop }
        : {}),
      ...(rest.trace_message_text !== undefined
        ? { traceMessageText: rest.trace_message_text }
        : {}),
      ...(rest.escalation_contacts !== undefined
        ? { escalationContacts: rest.escalation_contacts }
        : {}),
      ...(rest.model !== undefined ? { model: rest.model } : {}),
    };
    const [updated, spent] = await asCurrentOperator(c, async ({ ctx }) => [
      await updateTenantSettings(ctx, patch),
      await aiSpendThisMonth(ctx),
    ]);
    return c.json(toView(updated, spent), 200);
  });
}
