import { wordsOf } from '../text';
/**
 * Which of the agent's languages a customer writes in, so replies (including the canned ones sent
 * without a model: handoff notices, the offline demo model) mirror it. A cheap heuristic is enough
 * here: the model itself is also told to answer in the customer's language, whatever it is.
 */
export type AgentLanguage = 'es' | 'en' | 'ar';

const SPANISH_WORDS = new Set(
  `hola buenas buenos dias tardes noches gracias quiero queria necesito tengo tienen teneis tienes
  puedo puede pueden podria cita citas horario hora horas abris abren abierto cerrado cuando donde
  cuanto cuesta precio precios por para que como esta estan usted ustedes vosotros mañana manana
  hoy semana lunes martes miercoles jueves viernes sabado domingo si claro vale perfecto ayuda
  hablar con una uno el la los las del al mi me te se le nos es son hay muy bien mal favor
  humano asesor asesora agente persona alguien`.split(/\s+/),
);
const ENGLISH_WORDS = new Set(
  `hello hi hey thanks thank you want would need have has can could appointment booking hours
  hour open opening closed when where how much price prices for what is are the a an my me your
  today tomorrow week monday tuesday wednesday thursday friday saturday sunday yes please help
  speak talk with to of and do does it this that there good morning afternoon evening
  human agent operator person someone somebody`.split(/\s+/),
);

/**
 * The language of a text, or null when it gives no signal (an emoji, "ok", a number). Arabic script
 * decides at once; Latin text is Spanish or English by its common words and Spanish-only
 * characters (ñ ¿ ¡ and accented vowels).
 */
export function detectLanguage(text: string | null | undefined): AgentLanguage | null {
  if (!text) return null;
  const arabic = (text.match(/[\u0600-\u06FF\u0750-\u077F]/g) ?? []).length;
  const latin = (text.match(/[A-Za-zÀ-ÿ]/g) ?? []).length;
  if (arabic > 0 && arabic >= latin) return 'ar';
  let es = /[ñ¿¡áéíóú]/i.test(text) ? 2 : 0;
  let en = 0;
  for (const word of wordsOf(text)) {
    if (SPANISH_WORDS.has(word)) es++;
    if (ENGLISH_WORDS.has(word)) en++;
  }
  if (es === 0 && en === 0) return null;
  return es >= en ? 'es' : 'en';
}

/** The language of the newest customer text that says something, else `fallback`. */
export function conversationLanguage(
  customerTextsNewestFirst: Array<string | null | undefined>,
  fallback: AgentLanguage = 'en',
): AgentLanguage {
  for (const text of customerTextsNewestFirst) {
    const language = detectLanguage(text);
    if (language) return language;
  }
  return fallback;
}

export const LANGUAGE_NAMES: Record<AgentLanguage, string> = {
  es: 'Spanish',
  en: 'English',
  ar: 'Arabic',
};

/** The short notice a customer gets when a person takes over (never silence: peers.md). */
export const HANDOFF_NOTICE: Record<AgentLanguage, string> = {
  es: 'Te paso con una persona de nuestro equipo; te responderá en breve.',
  en: "I'm passing you to a member of our team; they'll reply shortly.",
  ar: 'سأحوّلك إلى أحد أعضاء فريقنا، وسيرد عليك قريباً.',
};

/**
 * The tenant's own language, for what its staff read (the approval card): there is no language
 * setting, so the texts the tenant wrote itself (business description, persona, instructions)
 * decide; a tenant that wrote none gets the conversation's language.
 */
export function tenantLanguage(
  tenantTexts: Array<string | null | undefined>,
  conversation: AgentLanguage,
): AgentLanguage {
  return detectLanguage(tenantTexts.filter(Boolean).join('\n')) ?? conversation;
}

/**
 * The staff approval card (WhatsApp reply buttons): button titles are at most 20 characters,
 * Meta's limit for reply buttons (words.test.ts checks).
 */
export const APPROVAL_CARD: Record<
  AgentLanguage,
  {
    heading: (who: string, channel: string) => string;
    approve: string;
    edit: string;
    cancel: string;
  }
> = {
  es: {
    heading: (who, channel) => `Borrador de respuesta a ${who} en ${channel}:`,
    approve: 'Aprobar',
    edit: 'Editar',
    cancel: 'Cancelar',
  },
  en: {
    heading: (who, channel) => `Draft reply to ${who} on ${channel}:`,
    approve: 'Approve',
    edit: 'Edit',
    cancel: 'Cancel',
  },
  ar: {
    heading: (who, channel) => `مسودة رد على ${who} عبر ${channel}:`,
    approve: 'اعتماد',
    edit: 'تعديل',
    cancel: 'إلغاء',
  },
};

/**
 * The staff's opportunity card (docs/follow-ups.md): a short brief and three reply buttons
 * `opp:{id}:accept|skip|draft`, titles at most 20 characters (words.test.ts checks), and the short
 * answers a tap gets on WhatsApp.
 */
export const OPPORTUNITY_CARD: Record<
  AgentLanguage,
  {
    heading: string;
    customer: string;
    reason: string;
    evidence: string;
    kinds: Record<
      'price_no_booking' | 'recall_due' | 'no_show_or_cancelled' | 'quiet_after_handoff',
      string
    >;
    accept: string;
    skip: string;
    draft: string;
    skipped: string;
    drafting: string;
    stale: string;
    /** Before the (English) reason a sending rule gave. */
    notDrafted: string;
  }
> = {
  es: {
    heading: 'Oportunidad de seguimiento',
    customer: 'Cliente',
    reason: 'Motivo',
    evidence: 'Evidencia',
    kinds: {
      price_no_booking: 'preguntó un precio y no reservó',
      recall_due: 'le toca volver',
      no_show_or_cancelled: 'no vino o canceló y no volvió a reservar',
      quiet_after_handoff: 'espera respuesta de una persona',
    },
    accept: 'Aceptar',
    skip: 'Omitir',
    draft: 'Redactar',
    skipped: 'Omitida: no se enviará nada.',
    drafting: 'Redactando el mensaje; te llegará para aprobarlo.',
    stale: 'Esta oportunidad ya no está abierta; no se ha hecho nada.',
    notDrafted: 'No se redactó el seguimiento:',
  },
  en: {
    heading: 'Follow-up opportunity',
    customer: 'Customer',
    reason: 'Reason',
    evidence: 'Evidence',
    kinds: {
      price_no_booking: 'asked a price and did not book',
      recall_due: 'is due back',
      no_show_or_cancelled: 'missed or cancelled and did not rebook',
      quiet_after_handoff: 'is waiting for a person to answer',
    },
    accept: 'Accept',
    skip: 'Skip',
    draft: 'Draft',
    skipped: 'Skipped: nothing will be sent.',
    drafting: 'Writing the message; it will come to you for approval.',
    stale: 'This opportunity is no longer open; nothing was done.',
    notDrafted: 'The follow-up was not drafted:',
  },
  ar: {
    heading: 'فرصة متابعة',
    customer: 'العميل',
    reason: 'السبب',
    evidence: 'الدليل',
    kinds: {
      price_no_booking: 'سأل عن السعر ولم يحجز',
      recall_due: 'حان موعد عودته',
      no_show_or_cancelled: 'لم يحضر أو ألغى ولم يحجز مجدداً',
      quiet_after_handoff: 'ينتظر رد أحد الموظفين',
    },
    accept: 'قبول',
    skip: 'تخطي',
    draft: 'رسالة',
    skipped: 'تم التخطي: لن يُرسل شيء.',
    drafting: 'جارٍ كتابة الرسالة؛ ستصلك للموافقة عليها.',
    stale: 'هذه الفرصة لم تعد مفتوحة؛ لم يتم أي إجراء.',
    notDrafted: 'لم تُكتب رسالة المتابعة:',
  },
};

// --- Follow-ups: `opp:{id}:schedule` (issue 12, branch opp-schedule) ---------------------------

/**
 * The fourth action of an opportunity card, `opp:{id}:schedule` (functions/agent/opportunity-schedule.ts):
 * with it the card is a WhatsApp list (reply buttons stop at 3), so the list's button label and
 * the row title are here; and what the staff member is told when no times can be proposed.
 * Titles ≤ 20 characters (list rows allow 24, buttons 20: the same word fits either), the hint
 * ≤ 72 (a row description); core/agent/words.test.ts checks.
 */
export const OPPORTUNITY_SCHEDULE: Record<
  AgentLanguage,
  {
    /** The list's button, which opens the rows. */
    choose: string;
    schedule: string;
    /** Under the schedule row: what it does. */
    scheduleHint: string;
    /** No active, bookable service to propose (none named, or changed since the card). */
    noService: string;
    noSlots: (service: string, days: number) => string;
  }
> = {
  es: {
    choose: 'Decidir',
    schedule: 'Proponer cita',
    scheduleHint: 'Borrador con horas libres para aprobar; no se reserva nada',
    noService:
      'No hay un servicio reservable para proponer horas; no se ha enviado nada. Puedes pulsar Redactar.',
    noSlots: (s, d) =>
      `No hay horas libres de ${s} en los próximos ${d} días; no se ha enviado nada. Puedes pulsar Redactar.`,
  },
  en: {
    choose: 'Choose',
    schedule: 'Propose times',
    scheduleHint: 'A draft with free times for approval; nothing is booked',
    noService:
      'There is no bookable service to propose times for; nothing was sent. You can still tap Draft.',
    noSlots: (s, d) =>
      `No free times for ${s} in the next ${d} days; nothing was sent. You can still tap Draft.`,
  },
  ar: {
    choose: 'اختر',
    schedule: 'اقتراح موعد',
    scheduleHint: 'مسودة بأوقات متاحة للموافقة؛ لا يُحجز شيء',
    noService: 'لا توجد خدمة قابلة للحجز لاقتراح أوقات لها؛ لم يُرسل شيء. يمكنك اختيار رسالة.',
    noSlots: (s, d) =>
      `لا توجد أوقات متاحة لـ${s} خلال ${d} يوماً القادمة؛ لم يُرسل شيء. يمكنك اختيار رسالة.`,
  },
};
// --- end opp-schedule ---------------------------------------------------------------------------
