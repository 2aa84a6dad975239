import { generateText } from 'ai';
import {
  type AgentLanguage,
  conversationLanguage,
  OPPORTUNITY_CARD,
  tenantLanguage,
} from '../../core/agent/language';
import { localDateOf, zonedInstant } from '../../core/appointments/availability';
import { loadTurnConversation, phoneDigits, recentMessages } from '../../db/agent';
import { asTenant, type TenantContext } from '../../db/client';
import {
  type Decision,
  decideOpportunity,
  followUpRefusal,
  lockOpportunity,
  markOpportunityDrafted,
  type OpportunityRow,
  recordOpportunityEvent,
  refuseOpportunity,
  takeOpportunitiesToCard,
} from '../../db/opportunities';
import { schedulableServices } from '../../db/opportunity-schedule';
import { enqueueJob, type OutboxJob } from '../../db/outbox';
import { getTenantSettings, modelApiKeyCiphertext, type TenantSettings } from '../../db/settings';
import type { JobContext, JobOutcome } from '../jobs/define';
import { JOB_RETRIES, publishJobs } from '../lib/jobs';
import { type Logger, safeErrorFields } from '../lib/logger';
import { draftReplies } from './approval';
import { draftFollowUpTemplate, proposeFollowUpTemplate } from './follow-up-templates';
import { notifyStaff, notifyStaffCard, whatsappContacts } from './handoff';
import { buildHistory } from './history';
import { buildInstructions, safeTimeZone } from './instructions';
import type { AgentModelResolver } from './models';
import { opportunityCardActions } from './opportunity-schedule';
import { resolveAgentModels } from './turn';

/**
 * Follow-ups, phase 2 (docs/follow-ups.md): the scan's opportunities go to the staff on WhatsApp
 * as cards (`opp:{id}:accept|skip|draft`, a few per day); accepting one (a tap, or the operator
 * API) has the agent write a follow-up in the customer's language as an ordinary pending draft,
 * which goes through the usual `msg:{draft_id}:approve|edit|cancel` card and approval path. Nothing
 * reaches a customer without that approval, and the sending rules (db/opportunities.ts
 * followUpRefusal, quiet hours in approval.ts) are checked when the draft is written and again
 * when it is approved. Every decision is in opportunity_events.
 */

export const OPPORTUNITY_DRAFT_JOB = 'opportunity-draft';

/** The staff's language: the tenant's own texts decide, else `fallback` (the card's content). */
export function staffLanguage(settings: TenantSettings, fallback: AgentLanguage): AgentLanguage {
  return tenantLanguage(
    [settings.businessDescription, settings.persona, settings.agentInstructions],
    fallback,
  );
}

function clip(text: string, max: number): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return [...flat].length > max ? `${[...flat].slice(0, max - 1).join('')}…` : flat;
}

/**
 * After a scan: cards for the newest open opportunities not carded yet, within today's budget
 * (OPPORTUNITY_CARDS_PER_DAY, the business's local day); the rest wait in the page. A business
 * with no staff contact on WhatsApp spends no budget.
 */
export async function sendOpportunityCards(
  ctx: TenantContext,
  input: { settings: TenantSettings; now: Date; logger: Logger },
): Promise<OutboxJob[]> {
  const { settings, now, logger } = input;
  const contacts = whatsappContacts(settings.escalationContacts);
  if (contacts.length === 0) return [];
  const zone = safeTimeZone(settings.timeZone);
  const dayStart = new Date(zonedInstant(localDateOf(now, zone), 0, zone));
  const picked = await takeOpportunitiesToCard(ctx, { now, dayStart });
  const jobs: OutboxJob[] = [];
  // opp-schedule: the opportunities whose service is known get a fourth action (a list card).
  const schedulable = await schedulableServices(
    ctx,
    picked.map((o) => o.id),
  );
  for (const o of picked) {
    const language = staffLanguage(settings, conversationLanguage([o.evidenceText], 'en'));
    const card = OPPORTUNITY_CARD[language];
    const who = o.contactName || o.contactPhone || '—';
    const body = [
      card.heading,
      `${card.customer}: ${who}`,
      `${card.reason}: ${card.kinds[o.kind]}`,
      `${card.evidence}: "${clip(o.evidenceText, 300)}"`,
    ].join('\n');
    jobs.push(
      ...(await notifyStaffCard(ctx, {
        contacts,
        kind: 'opp',
        targetId: o.id,
        body,
        ...opportunityCardActions(language, schedulable.has(o.id)),
        correlationId: `opp-${o.id}`,
        now,
        logger,
      })),
    );
    await recordOpportunityEvent(ctx, {
      opportunityId: o.id,
      event: 'carded',
      actor: 'system',
      detail: { staff: contacts.map((c) => c.name) },
    });
  }
  return jobs;
}

/**
 * Accepts an open opportunity (a card's Accept or Draft, or `POST /admin/opportunities/{id}/draft`)
 * and queues the job that writes its follow-up draft. A second decision finds it decided already:
 * one draft per opportunity (the job's dedupe key says the same).
 */
export async function acceptOpportunity(
  ctx: TenantContext,
  input: { id: string; userId: string | null; via: string; now: Date },
): Promise<{ decision: Decision; jobs: OutboxJob[] }> {
  const decision = await decideOpportunity(ctx, { ...input, status: 'accepted' });
  if (decision.kind !== 'decided') return { decision, jobs: [] };
  const job = await enqueueJob(ctx, {
    kind: OPPORTUNITY_DRAFT_JOB,
    payload: { opportunityId: input.id },
    dedupeKey: `${OPPORTUNITY_DRAFT_JOB}:${input.id}`,
  });
  return { decision, jobs: job ? [job] : [] };
}

export type FollowUpDeps = {
  models: AgentModelResolver;
  /** The model call's budget. */
  timeoutMs: number;
  /** Messages of the conversation the agent reads before writing. */
  historyRows: number;
};

/** What the agent is asked to write, after its usual instructions. */
function followUpTask(opportunity: OpportunityRow, language: AgentLanguage): string {
  const why: Record<OpportunityRow['kind'], string> = {
    price_no_booking: 'asked about a price or a service and did not book; offer to book',
    recall_due: 'is due back for a service they had; offer a new appointment',
    no_show_or_cancelled: 'missed or cancelled an appointment; offer a new one',
    quiet_after_handoff: 'has been waiting for an answer since they were handed to a person',
  };
  return [
    'Task: the business wants to follow up with this customer, who wrote last time and has gone quiet.',
    `The customer ${why[opportunity.kind]} (evidence: "${clip(opportunity.evidenceText, 200)}").`,
    `Write ONE short, friendly follow-up message to the customer in their language (${language}), plain text, no markdown. It is a draft a person approves before it is sent. Reply with the message only.`,
  ].join('\n');
}

/** The follow-up reads the conversation's words only. */
const NO_MEDIA_TEXT = { mediaText: () => null, textOf: () => null };

type Prepared =
  | { kind: 'done'; detail: string; jobs: OutboxJob[] }
  | {
      kind: 'write';
      opportunity: OpportunityRow;
      settings: TenantSettings;
      conversation: NonNullable<Awaited<ReturnType<typeof loadTurnConversation>>>;
      rows: Awaited<ReturnType<typeof recentMessages>>;
      sealedKey: string | null;
    };

/**
 * `opportunity-draft`: writes an accepted opportunity's follow-up. Three steps like the agent's
 * turn, so the model call holds no transaction: check the opportunity and the sending rules and
 * read the conversation; the model writes; then, checking again, store it as a pending draft with
 * its `msg:` card and mark the opportunity drafted. Idempotent: a redelivery finds it drafted.
 * A rule that refuses skips the opportunity with the reason (audit trail), and the staff member
 * who tapped is told.
 */
export async function writeFollowUpDraft(
  job: JobContext,
  payload: { opportunityId: string },
  deps: FollowUpDeps,
): Promise<JobOutcome> {
  const { services, env, tenantId } = job;
  const log = job.logger.child({ opportunityId: payload.opportunityId });
  const now = services.clock.now();
  const prepared = await asTenant(services.db, tenantId, (ctx) =>
    prepare(ctx, payload.opportunityId, now, deps, log),
  );
  if (prepared.kind === 'done') {
    await publishJobs(services, env, prepared.jobs);
    return { status: 'done', detail: prepared.detail };
  }
  const { opportunity, settings, conversation, rows } = prepared;
  const history = buildHistory(rows, NO_MEDIA_TEXT);
  const language = conversationLanguage(history.customerTexts);
  let text = '';
  let failure: string | null = null;
  try {
    const models = await resolveAgentModels(env, deps.models, settings, prepared.sealedKey);
    const instructions = `${buildInstructions({
      tenantName: conversation.tenantName,
      settings,
      channel: conversation.channel,
      language,
      now,
      customerName: conversation.contact.name,
    })}\n\n${followUpTask(opportunity, language)}`;
    const result = await generateText({
      model: models.chat,
      instructions,
      messages: history.messages,
      abortSignal: AbortSignal.timeout(deps.timeoutMs),
      maxRetries: 1,
    });
    text = result.text.trim();
    if (!text) failure = 'the AI wrote no message';
  } catch (err) {
    log.warn('follow-up: model failed', safeErrorFields(err));
    failure = err instanceof Error ? err.message.slice(0, 300) : String(err).slice(0, 300);
  }
  // Earlier deliveries: QStash retries. The last one records the failure and tells the staff.
  if (failure && job.retried < JOB_RETRIES) return { status: 'retry', detail: failure };
  const jobs = await asTenant(services.db, tenantId, (ctx) =>
    store(ctx, { opportunityId: opportunity.id, text, failure, language, now, log }),
  );
  await publishJobs(services, env, jobs);
  return { status: 'done', detail: failure ? `not drafted: ${failure}` : 'drafted' };
}

async function prepare(
  ctx: TenantContext,
  opportunityId: string,
  now: Date,
  deps: FollowUpDeps,
  log: Logger,
): Promise<Prepared> {
  const [opportunity, settings] = await Promise.all([
    lockOpportunity(ctx, opportunityId),
    getTenantSettings(ctx),
  ]);
  if (opportunity?.status !== 'accepted' || opportunity.draftId) {
    return {
      kind: 'done',
      detail: `nothing to draft (${opportunity?.status ?? 'gone'})`,
      jobs: [],
    };
  }
  const refusal = await checkRules(ctx, opportunity, now);
  if (refusal) return refuse(ctx, { opportunity, settings, reason: refusal, now, log });
  const conversationId = opportunity.conversationId as string;
  const [conversation, rows, sealedKey] = await Promise.all([
    loadTurnConversation(ctx, conversationId),
    recentMessages(ctx, conversationId, deps.historyRows),
    modelApiKeyCiphertext(ctx),
  ]);
  if (!conversation) {
    return refuse(ctx, { opportunity, settings, reason: 'the conversation is gone', now, log });
  }
  // Outside WhatsApp's 24-hour window only an approved template may go out: propose one, filled
  // in (no model call), or refuse with why (functions/agent/follow-up-templates.ts).
  const language = conversationLanguage(buildHistory(rows, NO_MEDIA_TEXT).customerTexts);
  const proposal = await proposeFollowUpTemplate(ctx, {
    opportunity,
    conversation,
    customerLanguage: language,
    businessLanguage: staffLanguage(settings, language),
    now,
  });
  if (proposal.kind === 'refused') {
    return refuse(ctx, {
      opportunity,
      settings,
      reason: proposal.reason,
      code: proposal.code,
      now,
      log,
    });
  }
  if (proposal.kind === 'template') {
    const jobs = await draftFollowUpTemplate(ctx, {
      opportunity,
      proposal,
      escalationContacts: settings.escalationContacts,
      staffLanguage: staffLanguage(settings, language),
      now,
      logger: log,
    });
    if (!jobs) {
      return refuse(ctx, { opportunity, settings, reason: 'the conversation is gone', now, log });
    }
    const template = `${proposal.template.name}/${proposal.template.language}`;
    return { kind: 'done', detail: `drafted template ${template}`, jobs };
  }
  return { kind: 'write', opportunity, settings, conversation, rows, sealedKey };
}

/** The sending rules, and a conversation to write in. */
async function checkRules(
  ctx: TenantContext,
  opportunity: OpportunityRow,
  now: Date,
): Promise<string | null> {
  if (!opportunity.conversationId) return 'there is no conversation to write in';
  return followUpRefusal(ctx, opportunity, now);
}

/** Skipped by a rule (or a failure), recorded with why; the staff member who tapped is told. */
async function refuse(
  ctx: TenantContext,
  input: {
    opportunity: OpportunityRow;
    settings: TenantSettings;
    reason: string;
    /** A code for the page (`no_approved_template`, `no_marketing_opt_in`). */
    code?: string;
    now: Date;
    log: Logger;
    event?: 'refused' | 'draft_failed';
  },
): Promise<Prepared & { kind: 'done' }> {
  const { opportunity, settings, reason, now, log } = input;
  log.info('follow-up not drafted', { reason });
  await refuseOpportunity(ctx, {
    id: opportunity.id,
    reason,
    code: input.code,
    now,
    event: input.event,
  });
  const tapped = opportunity.decidedVia?.startsWith('whatsapp:')
    ? phoneDigits(opportunity.decidedVia.slice('whatsapp:'.length))
    : null;
  const contacts = tapped
    ? settings.escalationContacts.filter((c) => phoneDigits(c.whatsapp) === tapped)
    : [];
  const card = OPPORTUNITY_CARD[staffLanguage(settings, 'en')];
  const jobs = await notifyStaff(ctx, {
    contacts,
    message: { type: 'text', text: `${card.notDrafted} ${reason}.` },
    correlationId: `opp-${opportunity.id}`,
    now,
    logger: log,
  });
  return { kind: 'done', detail: `not drafted: ${reason}`, jobs };
}

async function store(
  ctx: TenantContext,
  input: {
    opportunityId: string;
    text: string;
    failure: string | null;
    language: AgentLanguage;
    now: Date;
    log: Logger;
  },
): Promise<OutboxJob[]> {
  const { now, log } = input;
  const [opportunity, settings] = await Promise.all([
    lockOpportunity(ctx, input.opportunityId),
    getTenantSettings(ctx),
  ]);
  // Another delivery drafted it meanwhile, or someone decided otherwise.
  if (opportunity?.status !== 'accepted' || opportunity.draftId) return [];
  if (input.failure) {
    const failed = await refuse(ctx, {
      opportunity,
      settings,
      reason: `the AI could not write it (${input.failure})`,
      now,
      log,
      event: 'draft_failed',
    });
    return failed.jobs;
  }
  const refusal = await checkRules(ctx, opportunity, now);
  if (refusal)
    return (await refuse(ctx, { opportunity, settings, reason: refusal, now, log })).jobs;
  const conversation = await loadTurnConversation(ctx, opportunity.conversationId as string, {
    forUpdate: true,
  });
  if (!conversation) {
    const gone = await refuse(ctx, {
      opportunity,
      settings,
      reason: 'the conversation is gone',
      now,
      log,
    });
    return gone.jobs;
  }
  const drafted = await draftReplies(ctx, {
    conversation,
    runId: null,
    correlationId: `opp-${opportunity.id}`,
    replies: [{ type: 'text', text: input.text }],
    escalationContacts: settings.escalationContacts,
    staffLanguage: staffLanguage(settings, input.language),
    now,
    logger: log,
  });
  const [draft] = drafted.drafts;
  if (draft) await markOpportunityDrafted(ctx, { id: opportunity.id, draftId: draft.id });
  return drafted.jobs;
}
