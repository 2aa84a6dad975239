import { z } from 'zod';
import { formatInteractiveId } from '../../core/agent/ids';
import { type AgentLanguage, conversationLanguage } from '../../core/agent/language';
import { longTimeLabel } from '../../core/appointments/offer';
import { SendRefusedError } from '../../core/errors';
import { type OutboundMessage, parseOutboundMessage } from '../../core/messaging/kinds';
import { buildTemplateMessage, templatePlaceholders } from '../../core/messaging/templates';
import { recentMessages } from '../../db/agent';
import {
  checkReminder,
  type DueReminder,
  REMINDER_JOB_KIND,
  recordReminder,
  reminderKey,
} from '../../db/appointment-reminders';
import { asTenant, type TenantContext } from '../../db/client';
import { queueOutboundMessage } from '../../db/outbound';
import type { OutboxJob } from '../../db/outbox';
import { listTemplates, type TemplateRow } from '../../db/templates';
import { serviceName } from '../agent/booking';
import { publishJobs } from '../lib/jobs';
import { defineJob } from './define';

/**
 * An appointment reminder (db/appointment-reminders.ts schedules it). When it fires it re-reads the
 * appointment under a row lock: cancelled or moved → nothing is sent; already recorded (QStash
 * redelivered it) → nothing is sent. Otherwise it queues one message through the send path and
 * records it in the same transaction: inside the window a session message with the buttons
 * `appt:{id}:confirm|reschedule|cancel`, outside it (WhatsApp) the tenant's approved UTILITY
 * template `appointment_reminder`. Anything that cannot go out is recorded as skipped with why.
 */

/** The synced template a reminder outside the 24 h window uses (any language; the customer's first). */
export const REMINDER_TEMPLATE = 'appointment_reminder';

const payload = z.object({
  appointmentId: z.uuid(),
  startsAt: z.iso.datetime(),
  offsetMinutes: z.number().int(),
});

const SAID: Record<
  AgentLanguage,
  {
    reminder: (service: string, when: string, staff: string) => string;
    confirm: string;
    change: string;
    cancel: string;
    /** The template's `first_name` when the contact has no name. */
    customer: string;
  }
> = {
  es: {
    reminder: (s, w, p) =>
      `Te recordamos tu cita de ${s} el ${w} con ${p}. ¿Nos confirmas que vienes?`,
    confirm: 'Confirmar',
    change: 'Cambiar hora',
    cancel: 'Cancelar cita',
    customer: 'cliente',
  },
  en: {
    reminder: (s, w, p) =>
      `A reminder of your ${s} on ${w} with ${p}. Can you confirm you're coming?`,
    confirm: 'Confirm',
    change: 'Change time',
    cancel: 'Cancel booking',
    customer: 'there',
  },
  ar: {
    reminder: (s, w, p) => `نذكّرك بموعدك لـ${s} يوم ${w} مع ${p}. هل تؤكد حضورك؟`,
    confirm: 'تأكيد',
    change: 'تغيير الموعد',
    cancel: 'إلغاء الموعد',
    customer: 'عميلنا',
  },
};

/** The customer's language from what they wrote; Spanish when they wrote nothing (as taps do). */
async function languageOf(ctx: TenantContext, conversationId: string): Promise<AgentLanguage> {
  const rows = await recentMessages(ctx, conversationId, 20);
  const texts = rows
    .filter((r) => r.direction === 'inbound' && r.type === 'text')
    .map((r) => r.content)
    .reverse();
  return conversationLanguage(texts, 'es');
}

/** The session message: the reminder with its three buttons (plain text where buttons do not fit). */
export function reminderMessage(
  reminder: DueReminder,
  language: AgentLanguage,
  channel: 'whatsapp' | 'messenger' | 'instagram',
): OutboundMessage {
  const said = SAID[language];
  const text = said.reminder(
    serviceName({ name: reminder.serviceName, names: reminder.serviceNames }, language),
    longTimeLabel(reminder.startsAt, reminder.timeZone, language),
    reminder.staffName,
  );
  const id = (action: string) => formatInteractiveId('appt', reminder.appointmentId, action);
  const parsed = parseOutboundMessage(channel, {
    type: 'buttons',
    body: text,
    buttons: [
      { id: id('confirm'), title: said.confirm },
      { id: id('reschedule'), title: said.change },
      { id: id('cancel'), title: said.cancel },
    ],
  });
  return parsed.ok ? parsed.message : { type: 'text', text };
}

/**
 * The reminder as the tenant's approved UTILITY `appointment_reminder` template of the
 * conversation's number, in the customer's language when there is one. Named placeholders
 * `first_name`, `date`, `service`, `staff` are filled; a positional template with one placeholder
 * gets the date. Anything else cannot be filled: null.
 */
function templateMessage(
  reminder: DueReminder,
  language: AgentLanguage,
  templates: TemplateRow[],
): { message: OutboundMessage; template: TemplateRow } | null {
  const candidates = templates
    .filter(
      (t) =>
        t.name === REMINDER_TEMPLATE &&
        t.status === 'APPROVED' &&
        t.category === 'UTILITY' &&
        t.channelAccountId === reminder.channelAccountId,
    )
    .sort(
      (a, b) => Number(b.language.startsWith(language)) - Number(a.language.startsWith(language)),
    );
  const template = candidates[0];
  if (!template) return null;
  const locale = template.language.slice(0, 2);
  const wordsIn: AgentLanguage = locale === 'en' || locale === 'ar' ? locale : 'es';
  const date = longTimeLabel(reminder.startsAt, reminder.timeZone, wordsIn);
  const placeholders = templatePlaceholders(template);
  const known: Record<string, string> = {
    first_name: reminder.contactName?.trim().split(/\s+/)[0] || SAID[wordsIn].customer,
    date,
    service: serviceName({ name: reminder.serviceName, names: reminder.serviceNames }, wordsIn),
    staff: reminder.staffName,
  };
  const body =
    placeholders.format === 'NAMED'
      ? Object.fromEntries(placeholders.body.map((name) => [name, known[name] ?? '']))
      : placeholders.body.length === 1
        ? [date]
        : null;
  if (body === null) return null;
  const built = buildTemplateMessage(template, { body });
  return built.ok ? { message: built.message, template } : null;
}

type Outcome = { job?: OutboxJob; messageId?: string; template?: string; skipped?: string };

/** Queues the reminder through the send path, or says why it cannot go out. */
async function queueReminder(
  ctx: TenantContext,
  reminder: DueReminder,
  now: Date,
): Promise<Outcome> {
  const { conversationId } = reminder;
  if (!conversationId) return { skipped: 'no_conversation' };
  // A reminder is the business writing first: someone who asked us to stop gets none.
  if (reminder.contactOptedOut) return { skipped: 'opted_out' };
  const language = await languageOf(ctx, conversationId);
  const channel = reminder.channel ?? 'whatsapp';
  const queue = (message: OutboundMessage) =>
    queueOutboundMessage(ctx, { conversationId, sender: 'system', message, now });
  try {
    const queued = await queue(reminderMessage(reminder, language, channel));
    return { job: queued.job, messageId: queued.message.id };
  } catch (err) {
    if (!(err instanceof SendRefusedError)) throw err;
    const windowShut = err.reasonCode === 'window_closed' || err.reasonCode === 'never_wrote';
    if (!windowShut || channel !== 'whatsapp') return { skipped: err.reasonCode };
  }
  const templated = templateMessage(
    reminder,
    language,
    await listTemplates(ctx, { status: 'APPROVED' }),
  );
  if (!templated) return { skipped: 'no_reminder_template' };
  try {
    const queued = await queue(templated.message);
    return {
      job: queued.job,
      messageId: queued.message.id,
      template: `${templated.template.name}/${templated.template.language}`,
    };
  } catch (err) {
    if (!(err instanceof SendRefusedError)) throw err;
    return { skipped: err.reasonCode };
  }
}

export const appointmentReminderJob = defineJob({
  kind: REMINDER_JOB_KIND,
  payload,
  async handle(job, input) {
    const now = job.services.clock.now();
    const result = await asTenant(job.services.db, job.tenantId, async (ctx) => {
      const check = await checkReminder(ctx, input);
      if (check.kind !== 'due') return { detail: check.kind, jobs: [] as OutboxJob[] };
      const { job: sendJob, ...outcome } = await queueReminder(ctx, check.reminder, now);
      await recordReminder(ctx, {
        appointmentId: input.appointmentId,
        key: reminderKey(input.startsAt, input.offsetMinutes),
        outcome: { at: now.toISOString(), ...outcome },
      });
      return {
        detail: outcome.skipped ? `skipped: ${outcome.skipped}` : 'queued',
        jobs: sendJob ? [sendJob] : [],
      };
    });
    await publishJobs(job.services, job.env, result.jobs);
    return { status: 'done', detail: result.detail };
  },
});
