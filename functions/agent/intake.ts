import { matchEscalationWord } from '../../core/agent/escalation-words';
import { type InteractiveId, parseInteractiveId } from '../../core/agent/ids';
import { conversationLanguage } from '../../core/agent/language';
import { DomainError } from '../../core/errors';
import { matchOptOutKeyword } from '../../core/messaging/opt-out';
import {
  type MessageRouting,
  markMessageRouting,
  phoneDigits,
  recordFinishedRun,
} from '../../db/agent';
import type { TenantContext } from '../../db/client';
import { draftAwaitingEditIn } from '../../db/drafts';
import type { OutboxJob } from '../../db/outbox';
import type { EscalationContact } from '../../db/schema';
import type { TenantSettings } from '../../db/settings';
import { createLogger, type Logger } from '../lib/logger';
import { type ActionResult, type IntakeMessage, ignored, interactiveActions } from './actions';
import { decideDraft } from './approval';
import { conversationInAgentHands, handOff } from './handoff';

export type { IntakeMessage };

/** Intake runs inside webhook ingestion, which has no request logger to hand: its own, warn+. */
const defaultLogger = createLogger({ component: 'agent-intake' }, 'warn');

/** The id a customer tapped, whatever the channel calls it. */
export function tappedId(type: string, payload: Record<string, unknown>): string | null {
  const at = (value: unknown, ...path: string[]): unknown =>
    path.reduce<unknown>(
      (node, key) =>
        typeof node === 'object' && node !== null ? Reflect.get(node, key) : undefined,
      value,
    );
  const candidates: unknown[] =
    type === 'interactive'
      ? [
          at(payload, 'interactive', 'button_reply', 'id'),
          at(payload, 'interactive', 'list_reply', 'id'),
        ]
      : type === 'button'
        ? [at(payload, 'button', 'payload')]
        : type === 'quick_reply'
          ? [at(payload, 'quick_reply', 'payload')]
          : type === 'postback'
            ? [at(payload, 'postback', 'payload')]
            : [];
  const found = candidates.find((c): c is string => typeof c === 'string' && c.length > 0);
  return found ?? null;
}

function staffContact(
  message: IntakeMessage,
  contacts: EscalationContact[],
): EscalationContact | null {
  if (message.channel !== 'whatsapp') return null;
  const ids = new Set(
    [phoneDigits(message.contact.phone), phoneDigits(message.contact.externalUserId)].filter(
      Boolean,
    ),
  );
  return contacts.find((c) => c.whatsapp && ids.has(phoneDigits(c.whatsapp))) ?? null;
}

/**
 * The agent's hook into inbound ingestion, called in the webhook's tenant transaction for every new
 * customer message, before its debounced turn runs. It acts on what must not wait for (or depend
 * on) the model, and records on the message (`payload.routing`) whether a turn should still run:
 *
 * - a tapped id of the grammar `kind:{id}:action` is routed to its action (ids.ts, actions.ts);
 *   unknown or stale ids are logged and change nothing;
 * - escalation contacts (staff numbers) are never answered by the agent: their taps decide drafts
 *   and take conversations, and after "Edit" their next text replaces the draft;
 * - an escalation word ("humano", "agent", "موظف", …) hands the conversation to a person at once,
 *   skipping the debounce.
 *
 * Returns the jobs to publish after commit (customer notice, staff notifications, sends), and
 * `turn: false` when the message is handled here, so ingestion schedules no turn for it.
 */
export async function agentIntake(
  ctx: TenantContext,
  message: IntakeMessage,
  logger: Logger = defaultLogger,
): Promise<Intaken> {
  // Read once by the ingest that calls this hook, which also needs them for the debounce.
  const settings = message.settings;
  const staff = staffContact(message, settings.escalationContacts);
  const intake: Intake = { ctx, message, settings, staff, logger };
  const raw = tappedId(message.type, message.payload);
  // Not our grammar (a template's quick reply, a page's own postback): a plain answer the agent
  // reads as the tapped title, unless a staff member tapped it.
  const id = raw === null ? null : parseInteractiveId(raw);
  if (id) return route(intake, await routeTap(intake, id));
  if (staff) return route(intake, await staffMessage(intake, staff));
  if (raw !== null) return { jobs: [], turn: true };
  // An opt-out ("STOP", "BAJA", …) gets its one confirmation from the send path (db/opt-ins.ts);
  // the agent must not chat on top of it.
  if (matchOptOutKeyword(message.content)) {
    return route(intake, { routing: { turn: false, outcome: 'opt_out' }, jobs: [] });
  }
  const word = matchEscalationWord(message.content);
  return word ? escalate(intake, word) : { jobs: [], turn: true };
}

/** What intake did: jobs to publish after commit, and whether the message still gets a turn. */
type Intaken = { jobs: OutboxJob[]; turn: boolean };

/** One intake: the message and what every step reads. */
type Intake = {
  ctx: TenantContext;
  message: IntakeMessage;
  settings: TenantSettings;
  staff: EscalationContact | null;
  logger: Logger;
};

/** Records on the message whether a turn still runs; unknown and stale taps are logged. */
async function route({ ctx, message, logger }: Intake, result: ActionResult): Promise<Intaken> {
  await markMessageRouting(ctx, message.messageId, result.routing);
  if (result.routing.outcome === 'unknown' || result.routing.outcome === 'stale') {
    logger.warn('agent intake: tapped id ignored', {
      messageId: message.messageId,
      outcome: result.routing.outcome,
      kind: result.routing.kind,
      detail: result.routing.detail,
    });
  }
  return { jobs: result.jobs, turn: result.routing.turn };
}

/** A tapped `kind:{id}:action`: its kind's action, or "unknown" when no action has that kind. */
async function routeTap(intake: Intake, id: InteractiveId): Promise<ActionResult> {
  const action = interactiveActions[id.kind];
  return action
    ? action({ ...intake, id })
    : ignored('unknown', id, `no action for ids of kind "${id.kind}"`);
}

/**
 * A staff member (escalation contact) wrote: never answered by the agent. After "Edit" on a draft
 * card, their next text replaces that draft.
 */
async function staffMessage(
  { ctx, message }: Intake,
  staff: EscalationContact,
): Promise<ActionResult> {
  const text = message.content?.trim();
  const awaiting = text ? await draftAwaitingEditIn(ctx, message.conversationId) : null;
  if (!awaiting || !text) {
    return {
      routing: {
        turn: false,
        outcome: 'staff',
        detail: 'escalation contacts are not answered by the agent',
      },
      jobs: [],
    };
  }
  try {
    const decided = await decideDraft(ctx, {
      draftId: awaiting.id,
      decision: { action: 'edit', text },
      userId: null,
      via: `whatsapp:${staff.whatsapp ?? message.contact.externalUserId}`,
      now: message.now,
    });
    return {
      routing: { turn: false, outcome: 'draft_edited', kind: 'msg', detail: awaiting.id },
      jobs: decided.jobs,
    };
  } catch (err) {
    if (!(err instanceof DomainError)) throw err;
    return {
      routing: { turn: false, outcome: 'stale', kind: 'msg', detail: err.message },
      jobs: [],
    };
  }
}

/**
 * The customer asked for a person: hand off at once, without the model, unless a person already
 * has the conversation or the bot is not in play.
 */
async function escalate(intake: Intake, word: string): Promise<Intaken> {
  const { ctx, message, settings, logger } = intake;
  const conversation = await conversationInAgentHands(ctx, message.conversationId, settings);
  if (!conversation) {
    return { jobs: [], turn: true };
  }
  const correlationId = `keyword-${message.messageId}`;
  const jobs = await handOff(ctx, {
    conversation,
    reason: `The customer asked for a person ("${word}")`,
    source: 'keyword',
    language: conversationLanguage([message.content], 'es'),
    escalationContacts: settings.escalationContacts,
    customerText: message.content,
    correlationId,
    now: message.now,
    logger,
  });
  await recordFinishedRun(ctx, {
    conversationId: message.conversationId,
    correlationId,
    triggerMessageId: message.messageId,
    model: 'none (escalation word)',
    outcome: 'handed_off',
    steps: [
      {
        text: `Escalation word "${word}" in the customer's message: handed to a person without the model.`,
      },
    ],
    now: message.now,
  });
  const routing: MessageRouting = { turn: false, outcome: 'escalated', detail: word };
  await markMessageRouting(ctx, message.messageId, routing);
  return { jobs, turn: false };
}
