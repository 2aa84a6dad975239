import { formatInteractiveId } from '../../core/agent/ids';
import { type AgentLanguage, HANDOFF_NOTICE } from '../../core/agent/language';
import { type OutboundMessage, REPLY_BUTTONS_MAX } from '../../core/messaging/kinds';
import {
  ensureStaffConversation,
  insertSystemNote,
  loadTurnConversation,
  type TurnConversation,
} from '../../db/agent';
import type { TenantContext } from '../../db/client';
import { setConversationLock } from '../../db/conversations';
import { queueOutboundMessage } from '../../db/outbound';
import type { OutboxJob } from '../../db/outbox';
import type { EscalationContact } from '../../db/schema';
import type { TenantSettings } from '../../db/settings';
import { type Logger, safeErrorFields } from '../lib/logger';

const CHANNEL_NAMES = {
  whatsapp: 'WhatsApp',
  messenger: 'Messenger',
  instagram: 'Instagram',
  web: 'the website chat',
};

function clip(text: string, max: number): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return [...flat].length > max ? `${[...flat].slice(0, max - 1).join('')}…` : flat;
}

/** Escalation contacts reachable on WhatsApp (the staff numbers buttons go to). */
export function whatsappContacts(contacts: EscalationContact[]) {
  return contacts.filter((c): c is EscalationContact & { whatsapp: string } =>
    Boolean(c.whatsapp?.replace(/\D/g, '')),
  );
}

/**
 * Queues a message to every escalation contact with a WhatsApp number, in their conversation with
 * the tenant's number (created on first use). Sent as `system`, so a lock on the staff thread never
 * silences it. The window is not checked at queueing: a staff member who has not written to the
 * number in 24 hours gets a failed message with Meta's reason in that thread, visible in the inbox.
 */
export async function notifyStaff(
  ctx: TenantContext,
  input: {
    contacts: EscalationContact[];
    message: OutboundMessage;
    correlationId: string | null;
    now: Date;
    logger: Logger;
  },
): Promise<OutboxJob[]> {
  const jobs: OutboxJob[] = [];
  for (const contact of whatsappContacts(input.contacts)) {
    const thread = await ensureStaffConversation(ctx, {
      phone: contact.whatsapp,
      name: contact.name,
    });
    if (!thread) {
      input.logger.warn('agent: no WhatsApp account to notify staff from');
      return jobs;
    }
    try {
      const queued = await queueOutboundMessage(ctx, {
        conversationId: thread.conversationId,
        sender: 'system',
        message: input.message,
        now: input.now,
        correlationId: input.correlationId,
        checkWindow: false,
      });
      jobs.push(queued.job);
    } catch (err) {
      input.logger.warn('agent: staff notification refused', safeErrorFields(err));
    }
  }
  return jobs;
}

/** Clips a card's body to Meta's 1024 characters, keeping its line breaks. */
function clipBody(text: string, max: number): string {
  const chars = [...text];
  return chars.length > max ? `${chars.slice(0, max - 1).join('')}…` : text;
}

export type StaffCard = {
  kind: string;
  targetId: string;
  body: string;
  buttons: Array<{ action: string; title: string; description?: string }>;
  /** The list's button label (≤ 20), needed when there are more actions than reply buttons. */
  listButton?: string;
};

/**
 * A staff card's message: reply buttons `kind:{targetId}:action` for up to 3 actions (titles ≤
 * 20 characters); more than 3 make a WhatsApp list of one section, a row per action (titles ≤ 24,
 * an optional description ≤ 72) behind `listButton` (opp-schedule: `opp:{id}:schedule` is the
 * fourth). Both within the limits core/messaging/kinds.ts enforces at queueing.
 */
export function staffCardMessage(card: StaffCard): OutboundMessage {
  const body = clipBody(card.body, 1024);
  const options = card.buttons.map((b) => ({
    id: formatInteractiveId(card.kind, card.targetId, b.action),
    title: b.title,
    ...(b.description ? { description: b.description } : {}),
  }));
  if (options.length <= REPLY_BUTTONS_MAX) {
    return { type: 'buttons', body, buttons: options.map(({ id, title }) => ({ id, title })) };
  }
  if (!card.listButton) throw new Error('a staff card with more than 3 actions needs listButton');
  return { type: 'list', body, button: card.listButton, sections: [{ rows: options }] };
}

/**
 * A staff card (staffCardMessage: reply buttons, or a list for more than 3 actions, in the staff's
 * language), queued to every escalation contact on WhatsApp through notifyStaff. The agent's
 * draft card (`msg:`) and the follow-up opportunity card (`opp:`) are both built here.
 */
export function notifyStaffCard(
  ctx: TenantContext,
  input: StaffCard & {
    contacts: EscalationContact[];
    correlationId: string | null;
    now: Date;
    logger: Logger;
  },
): Promise<OutboxJob[]> {
  return notifyStaff(ctx, {
    contacts: input.contacts,
    message: staffCardMessage(input),
    correlationId: input.correlationId,
    now: input.now,
    logger: input.logger,
  });
}

export type HandoffInput = {
  conversation: TurnConversation;
  /** Shown to operators as the lock reason and in the staff notification. */
  reason: string;
  /** `keyword`: the customer used an escalation word; `escalation`: the agent or a failure decided. */
  source: 'escalation' | 'keyword';
  language: AgentLanguage;
  escalationContacts: EscalationContact[];
  /** The customer's latest words, quoted to the staff. */
  customerText: string | null;
  correlationId: string;
  now: Date;
  logger: Logger;
};

/**
 * Hands a conversation to a person, never silently (peers.md): the human-override lock with the
 * reason (the inbox shows it), a note in the thread for operators, a short notice to the
 * customer in their language, and the escalation contacts notified on WhatsApp with a
 * `conv:{id}:take` button. In the caller's tenant transaction; returns the jobs to publish after
 * commit.
 */
export async function handOff(ctx: TenantContext, input: HandoffInput): Promise<OutboxJob[]> {
  const jobs: OutboxJob[] = [];
  const conv = input.conversation;
  await setConversationLock(ctx, {
    conversationId: conv.id,
    locked: true,
    source: input.source,
    reason: input.reason,
    now: input.now,
  });
  await insertSystemNote(ctx, {
    conversationId: conv.id,
    channelAccountId: conv.channelAccountId,
    text: `Handed over to a person: ${input.reason}`,
    correlationId: input.correlationId,
    now: input.now,
    details: { handoff: { source: input.source, reason: input.reason } },
  });
  try {
    // `system`, not `agent`: the lock just set must not stop the customer from being told.
    const notice = await queueOutboundMessage(ctx, {
      conversationId: conv.id,
      sender: 'system',
      message: HANDOFF_NOTICE[input.language],
      now: input.now,
      correlationId: input.correlationId,
    });
    jobs.push(notice.job);
  } catch (err) {
    input.logger.warn('agent: handoff notice refused', safeErrorFields(err));
  }
  const who = conv.contact.name || conv.contact.phone || conv.contact.externalUserId;
  const body = clip(
    `${who} on ${CHANNEL_NAMES[conv.channel]} needs a person: ${input.reason}` +
      (input.customerText ? `\n\nLast message: "${clip(input.customerText, 300)}"` : ''),
    1024,
  );
  jobs.push(
    ...(await notifyStaff(ctx, {
      contacts: input.escalationContacts,
      message: {
        type: 'buttons',
        body,
        buttons: [{ id: formatInteractiveId('conv', conv.id, 'take'), title: 'Take it' }],
      },
      correlationId: input.correlationId,
      now: input.now,
      logger: input.logger,
    })),
  );
  return jobs;
}

/**
 * The conversation, or null when the agent must leave it alone: a person has it, the bot is
 * disabled for it, or the tenant's replies are off.
 */
export async function conversationInAgentHands(
  ctx: TenantContext,
  conversationId: string,
  settings: Pick<TenantSettings, 'replyMode'>,
): Promise<TurnConversation | null> {
  const conversation = await loadTurnConversation(ctx, conversationId);
  if (
    !conversation ||
    conversation.isLocked ||
    !conversation.botEnabled ||
    settings.replyMode === 'off'
  ) {
    return null;
  }
  return conversation;
}
