import type { MessageChannel, OutboundKind } from './kinds';

/**
 * Meta's messaging windows (meta-platform reference §4):
 * - WhatsApp: any message within 24 h of the customer's last message; after that only approved
 *   templates (Meta would answer 131047).
 * - Messenger / Instagram: `messaging_type: RESPONSE` within 24 h; between 24 h and 7 days only a
 *   human operator may reply, tagged `MESSAGE_TAG` + `HUMAN_AGENT`, never a bot or automation.
 * The window is measured from conversations.last_inbound_at (the provider time of the customer's
 * last message). Checked when a message is queued (so the operator hears at once) and again when
 * it is sent (the window may have closed in between).
 */

export const SERVICE_WINDOW_MS = 24 * 60 * 60 * 1000;
export const HUMAN_AGENT_WINDOW_MS = 7 * 24 * 60 * 60 * 1000;

export type WindowState = {
  /** Free-form messages (and bot replies) may be sent now. */
  open: boolean;
  /** When the 24 h window closes (or closed); null when the customer never wrote. */
  closesAt: Date | null;
  /** Messenger / Instagram: until when an operator may still reply with the HUMAN_AGENT tag. */
  humanAgentUntil: Date | null;
  lastInboundAt: Date | null;
};

export function conversationWindow(
  channel: MessageChannel,
  lastInboundAt: Date | null,
  now: Date,
): WindowState {
  if (channel === 'web')
    return { open: true, closesAt: null, humanAgentUntil: null, lastInboundAt };
  if (!lastInboundAt) return { open: false, closesAt: null, humanAgentUntil: null, lastInboundAt };
  const closesAt = new Date(lastInboundAt.getTime() + SERVICE_WINDOW_MS);
  return {
    open: now < closesAt,
    closesAt,
    humanAgentUntil:
      channel === 'whatsapp' ? null : new Date(lastInboundAt.getTime() + HUMAN_AGENT_WINDOW_MS),
    lastInboundAt,
  };
}

/** The operator API's view of a window (snake_case, ISO times). */
export function windowView(window: WindowState) {
  return {
    open: window.open,
    closes_at: window.closesAt?.toISOString() ?? null,
    human_agent_until: window.humanAgentUntil?.toISOString() ?? null,
  };
}

export type OutboundSender = 'operator' | 'agent' | 'system';

export type SendPermission =
  | { allowed: true; messagingType?: 'RESPONSE' | 'MESSAGE_TAG'; tag?: 'HUMAN_AGENT' }
  | { allowed: false; code: 'window_closed' | 'never_wrote'; reason: string };

/**
 * Whether a message of `kind` from `sender` may go out now, and with which Messenger / Instagram
 * messaging type. Refusals carry the reason and the way out, for the operator.
 */
export function windowPermission(input: {
  channel: MessageChannel;
  sender: OutboundSender;
  kind: OutboundKind;
  lastInboundAt: Date | null;
  now: Date;
}): SendPermission {
  // The widget is ours: no platform window, no templates; a visitor reads replies whenever they
  // come back to the page.
  if (input.channel === 'web') return { allowed: true };
  const window = conversationWindow(input.channel, input.lastInboundAt, input.now);
  if (input.channel === 'whatsapp') {
    // Templates are the way to reach a customer outside the window; consent is checked apart.
    if (input.kind === 'template' || window.open) return { allowed: true };
    if (!window.closesAt) {
      return {
        allowed: false,
        code: 'never_wrote',
        reason:
          'This customer has never written to this number, so WhatsApp only accepts an approved ' +
          'template (and only with their opt-in).',
      };
    }
    return {
      allowed: false,
      code: 'window_closed',
      reason: `The 24-hour WhatsApp window closed at ${window.closesAt.toISOString()} (24 hours after the customer's last message). Send an approved template instead.`,
    };
  }

  if (window.open) return { allowed: true, messagingType: 'RESPONSE' };
  const product = input.channel === 'messenger' ? 'Messenger' : 'Instagram';
  if (!window.closesAt || !window.humanAgentUntil) {
    return {
      allowed: false,
      code: 'never_wrote',
      reason: `This customer has never written to this ${product} account; ${product} only allows replies to customers who wrote first.`,
    };
  }
  if (input.now < window.humanAgentUntil) {
    if (input.sender === 'operator') {
      return { allowed: true, messagingType: 'MESSAGE_TAG', tag: 'HUMAN_AGENT' };
    }
    return {
      allowed: false,
      code: 'window_closed',
      reason: `The 24-hour ${product} window closed at ${window.closesAt.toISOString()}. Only a human operator may still reply (with the Human Agent tag) until ${window.humanAgentUntil.toISOString()}; automated replies are not allowed.`,
    };
  }
  return {
    allowed: false,
    code: 'window_closed',
    reason: `The ${product} reply window closed at ${window.humanAgentUntil.toISOString()} (7 days after the customer's last message). Wait for the customer to write again.`,
  };
}
