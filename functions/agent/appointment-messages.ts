import { formatInteractiveId } from '../../core/agent/ids';
import { type AgentLanguage, conversationLanguage } from '../../core/agent/language';
import { longTimeLabel } from '../../core/appointments/offer';
import { SendRefusedError } from '../../core/errors';
import {
  type MessageChannel,
  type OutboundMessage,
  parseOutboundMessage,
} from '../../core/messaging/kinds';
import { buildTemplateMessage, templatePlaceholders } from '../../core/messaging/templates';
import { recentMessages } from '../../db/agent';
import type { DueReminder } from '../../db/appointment-reminders';
import type { TenantContext } from '../../db/client';
import { queueOutboundMessage } from '../../db/outbound';
import type { OutboxJob } from '../../db/outbox';
import { listTemplates, type TemplateRow } from '../../db/templates';
import { serviceName } from './booking';

/**
 * The business writing to an appointment's customer first: a reminder (jobs/appointment-reminder),
 * or an operator's move or cancellation (admin/appointments). One path for all three, so they
 * follow the same rules: the appointment's conversation (else the contact's latest), the
 * customer's language, the time in the tenant's zone; nothing to someone who opted out; inside the
 * window a session message, outside it (WhatsApp) the tenant's approved UTILITY template; anything
 * that cannot go out is a reason, never an error.
 */

export type AppointmentNotice = 'reminder' | 'moved' | 'cancelled';

/** The synced template a reminder outside the 24 h window uses (any language; the customer's first). */
export const REMINDER_TEMPLATE = 'appointment_reminder';

/**
 * Which template stands in for each notice outside the window, and the skip reason without one.
 * A move is told with the reminder template (it states the new date and asks to confirm); a
 * cancellation cannot be: a "reminder" of a cancelled appointment would say the opposite.
 */
const TEMPLATES: Record<AppointmentNotice, { name: string; missing: string }> = {
  reminder: { name: REMINDER_TEMPLATE, missing: 'no_reminder_template' },
  moved: { name: REMINDER_TEMPLATE, missing: 'no_reminder_template' },
  cancelled: { name: 'appointment_cancelled', missing: 'no_cancellation_template' },
};

type Said = (service: string, when: string, staff: string) => string;

const SAID: Record<
  AgentLanguage,
  {
    reminder: Said;
    moved: Said;
    cancelled: Said;
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
    moved: (s, w, p) =>
      `Hemos cambiado tu cita de ${s}: ahora es el ${w} con ${p}. ¿Nos confirmas que te va bien?`,
    cancelled: (s, w, p) =>
      `Tu cita de ${s} del ${w} con ${p} ha sido cancelada. Si quieres otra hora, escríbenos y te la reservamos.`,
    confirm: 'Confirmar',
    change: 'Cambiar hora',
    cancel: 'Cancelar cita',
    customer: 'cliente',
  },
  en: {
    reminder: (s, w, p) =>
      `A reminder of your ${s} on ${w} with ${p}. Can you confirm you're coming?`,
    moved: (s, w, p) =>
      `Your ${s} appointment has been moved: it is now on ${w} with ${p}. Can you confirm it suits you?`,
    cancelled: (s, w, p) =>
      `Your ${s} appointment on ${w} with ${p} was cancelled. If you'd like another time, just write to us and we'll book it.`,
    confirm: 'Confirm',
    change: 'Change time',
    cancel: 'Cancel booking',
    customer: 'there',
  },
  ar: {
    reminder: (s, w, p) => `نذكّرك بموعدك لـ${s} يوم ${w} مع ${p}. هل تؤكد حضورك؟`,
    moved: (s, w, p) => `تم تغيير موعدك لـ${s}: أصبح يوم ${w} مع ${p}. هل تؤكد أنه يناسبك؟`,
    cancelled: (s, w, p) =>
      `تم إلغاء موعدك لـ${s} يوم ${w} مع ${p}. إذا أردت موعداً آخر، راسلنا وسنحجزه لك.`,
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

/**
 * The session message. A reminder or a move carries the buttons `appt:{id}:confirm|reschedule|
 * cancel` (plain text where buttons do not fit); a cancellation is plain text: nothing to tap.
 */
export function appointmentMessage(
  facts: DueReminder,
  notice: AppointmentNotice,
  language: AgentLanguage,
  channel: MessageChannel,
): OutboundMessage {
  const said = SAID[language];
  const text = said[notice](
    serviceName({ name: facts.serviceName, names: facts.serviceNames }, language),
    longTimeLabel(facts.startsAt, facts.timeZone, language),
    facts.staffName,
  );
  if (notice === 'cancelled') return { type: 'text', text };
  const id = (action: string) => formatInteractiveId('appt', facts.appointmentId, action);
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
 * The notice as the tenant's approved UTILITY template `name` of the conversation's number, in
 * the customer's language when there is one. Named placeholders `first_name`, `date`, `service`,
 * `staff` are filled; a positional template with one placeholder gets the date. Anything else
 * cannot be filled: null.
 */
function templateMessage(
  facts: DueReminder,
  name: string,
  language: AgentLanguage,
  templates: TemplateRow[],
): { message: OutboundMessage; template: TemplateRow } | null {
  const candidates = templates
    .filter(
      (t) =>
        t.name === name &&
        t.status === 'APPROVED' &&
        t.category === 'UTILITY' &&
        t.channelAccountId === facts.channelAccountId,
    )
    .sort(
      (a, b) => Number(b.language.startsWith(language)) - Number(a.language.startsWith(language)),
    );
  const template = candidates[0];
  if (!template) return null;
  const locale = template.language.slice(0, 2);
  const wordsIn: AgentLanguage = locale === 'en' || locale === 'ar' ? locale : 'es';
  const date = longTimeLabel(facts.startsAt, facts.timeZone, wordsIn);
  const placeholders = templatePlaceholders(template);
  const known: Record<string, string> = {
    first_name: facts.contactName?.trim().split(/\s+/)[0] || SAID[wordsIn].customer,
    date,
    service: serviceName({ name: facts.serviceName, names: facts.serviceNames }, wordsIn),
    staff: facts.staffName,
  };
  const body =
    placeholders.format === 'NAMED'
      ? Object.fromEntries(placeholders.body.map((key) => [key, known[key] ?? '']))
      : placeholders.body.length === 1
        ? [date]
        : null;
  if (body === null) return null;
  const built = buildTemplateMessage(template, { body });
  return built.ok ? { message: built.message, template } : null;
}

export type NoticeOutcome = {
  /** The send job to publish after commit. */
  job?: OutboxJob;
  messageId?: string;
  /** `name/language` of the template used outside the window. */
  template?: string;
  skipped?: string;
};

/**
 * Queues the notice through the send path (sender `system`, every window and consent check) in
 * the caller's transaction, or says why it cannot go out.
 */
export async function queueAppointmentNotice(
  ctx: TenantContext,
  facts: DueReminder,
  notice: AppointmentNotice,
  now: Date,
): Promise<NoticeOutcome> {
  const { conversationId } = facts;
  if (!conversationId) return { skipped: 'no_conversation' };
  // The business writing first: someone who asked us to stop gets nothing.
  if (facts.contactOptedOut) return { skipped: 'opted_out' };
  const language = await languageOf(ctx, conversationId);
  const channel = facts.channel ?? 'whatsapp';
  const queue = (message: OutboundMessage) =>
    queueOutboundMessage(ctx, { conversationId, sender: 'system', message, now });
  try {
    const queued = await queue(appointmentMessage(facts, notice, language, channel));
    return { job: queued.job, messageId: queued.message.id };
  } catch (err) {
    if (!(err instanceof SendRefusedError)) throw err;
    const windowShut = err.reasonCode === 'window_closed' || err.reasonCode === 'never_wrote';
    if (!windowShut || channel !== 'whatsapp') return { skipped: err.reasonCode };
  }
  const { name, missing } = TEMPLATES[notice];
  const templated = templateMessage(
    facts,
    name,
    language,
    await listTemplates(ctx, { status: 'APPROVED' }),
  );
  if (!templated) return { skipped: missing };
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
