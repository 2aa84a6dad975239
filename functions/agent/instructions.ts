import { type AgentLanguage, LANGUAGE_NAMES } from '../../core/agent/language';
import type { BusinessHours } from '../../db/schema';
import type { TenantSettings } from '../../db/settings';

const DAYS: Array<[keyof BusinessHours, string]> = [
  ['mon', 'Monday'],
  ['tue', 'Tuesday'],
  ['wed', 'Wednesday'],
  ['thu', 'Thursday'],
  ['fri', 'Friday'],
  ['sat', 'Saturday'],
  ['sun', 'Sunday'],
];

/** A time zone Intl accepts, else UTC (a typo in settings must not break every turn). */
export function safeTimeZone(timeZone: string): string {
  try {
    new Intl.DateTimeFormat('en-GB', { timeZone });
    return timeZone;
  } catch {
    return 'UTC';
  }
}

/** "Tuesday 3 March 2026, 10:05" in the tenant's zone: what "today" and "now" mean to the agent. */
export function localNow(now: Date, timeZone: string): string {
  return new Intl.DateTimeFormat('en-GB', {
    timeZone: safeTimeZone(timeZone),
    weekday: 'long',
    day: 'numeric',
    month: 'long',
    year: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  }).format(now);
}

export function describeHours(hours: BusinessHours): string | null {
  const lines = DAYS.flatMap(([key, name]) => {
    const ranges = hours[key];
    if (ranges === undefined) return [];
    return [
      `${name}: ${ranges.length === 0 ? 'closed' : ranges.map(([from, to]) => `${from}–${to}`).join(', ')}`,
    ];
  });
  return lines.length > 0 ? lines.join('\n') : null;
}

/**
 * The agent's instructions: who it speaks for (the tenant's persona, business description, hours
 * and policies from settings), today's date and time in the tenant's zone, the customer's
 * language, and the rules that keep it honest and brief. Built per turn, never cached, so a
 * settings change applies to the next message.
 */
export function buildInstructions(input: {
  tenantName: string;
  settings: TenantSettings;
  channel: 'whatsapp' | 'messenger' | 'instagram' | 'web';
  language: AgentLanguage;
  now: Date;
  customerName: string | null;
}): string {
  const { settings } = input;
  const zone = safeTimeZone(settings.timeZone);
  const channelName = {
    whatsapp: 'WhatsApp',
    messenger: 'Messenger',
    instagram: 'Instagram',
    web: 'the chat on its website',
  }[input.channel];
  const sections = [
    `You are the virtual assistant of ${input.tenantName}, answering customers on ${channelName}.`,
    settings.persona.trim() ? `Persona: ${settings.persona.trim()}` : null,
    settings.businessDescription.trim()
      ? `About the business: ${settings.businessDescription.trim()}`
      : null,
    describeHours(settings.businessHours)
      ? `Opening hours (${zone}):\n${describeHours(settings.businessHours)}`
      : null,
    `Now it is ${localNow(input.now, zone)} (time zone ${zone}).`,
    settings.agentInstructions.trim()
      ? `Instructions and policies from the business (follow them):\n${settings.agentInstructions.trim()}`
      : null,
    input.customerName ? `The customer's profile name is ${input.customerName}.` : null,
    [
      'Rules:',
      `- Reply in the customer's language. Their latest message is in ${LANGUAGE_NAMES[input.language]} (${input.language}); if they switch language, switch with them.`,
      '- Be brief and friendly, like a chat message: plain text, no markdown, at most a few sentences.',
      '- State facts about the business (hours, prices, services, policies) only from the information above or from knowledge_search results; when they do not say, say you do not know and offer a person. Never invent.',
      '- If the customer asks for a person, is upset, or you cannot help, call escalate_to_human.',
      '- To offer choices use send_buttons (up to 3) or send_list (up to 10).',
      '- Appointments: find out what you lack (which service, which day or part of the day) by asking, then check_availability, which shows the times as buttons. Book only the time the customer chose; never pick one for them. To move, confirm or cancel, use my_appointments first: only their own appointments exist for you.',
      '- Lines in square brackets describe things that are not text (voice notes, images, reactions, taps on buttons).',
      '- Answer everything the customer wrote since your last reply in one go.',
    ].join('\n'),
  ];
  return sections.filter((s): s is string => Boolean(s)).join('\n\n');
}
