import {
  chooseFollowUpTemplate,
  type FollowUpTemplateChoice,
  serviceOfEvidence,
  TEMPLATE_NOTE,
} from '../../core/agent/follow-up-templates';
import type { AgentLanguage } from '../../core/agent/language';
import { conversationWindow } from '../../core/messaging/window';
import { loadTurnConversation, type TurnConversation } from '../../db/agent';
import type { TenantContext } from '../../db/client';
import { markOpportunityDrafted, type OpportunityRow } from '../../db/opportunities';
import { consentFacts } from '../../db/opt-ins-ledger';
import type { OutboxJob } from '../../db/outbox';
import type { EscalationContact } from '../../db/schema';
import { listTemplates } from '../../db/templates';
import type { Logger } from '../lib/logger';
import { draftReplies } from './approval';

/**
 * Follow-ups outside WhatsApp's 24-hour window (docs/follow-ups.md): a free-form message cannot
 * reach the customer there, so the follow-up's draft proposes one of the business's approved
 * follow-up templates, filled from the contact and the opportunity (no model call: the text is the
 * one Meta approved), or the follow-up is refused with why. The choice and its rules are in
 * core/agent/follow-up-templates.ts; this reads what they need and stores the draft.
 */

export type FollowUpProposal =
  /** The window is open (or it is not WhatsApp): the agent writes free text, as before. */
  | { kind: 'free_text' }
  | (Exclude<FollowUpTemplateChoice, { ok: true }> & { kind: 'refused' })
  | (Extract<FollowUpTemplateChoice, { ok: true }> & { kind: 'template' });

/** Whether the follow-up must be a template, and which one (or why none may be sent). */
export async function proposeFollowUpTemplate(
  ctx: TenantContext,
  input: {
    opportunity: OpportunityRow;
    conversation: TurnConversation;
    customerLanguage: AgentLanguage;
    businessLanguage: AgentLanguage;
    now: Date;
  },
): Promise<FollowUpProposal> {
  const { opportunity, conversation } = input;
  if (conversation.channel !== 'whatsapp') return { kind: 'free_text' };
  const window = conversationWindow('whatsapp', conversation.lastInboundAt, input.now);
  if (window.open) return { kind: 'free_text' };
  const [templates, consent] = await Promise.all([
    listTemplates(ctx, { status: 'APPROVED' }),
    consentFacts(ctx, opportunity.contactId),
  ]);
  const choice = chooseFollowUpTemplate({
    templates,
    channelAccountId: conversation.channelAccountId,
    facts: {
      kind: opportunity.kind,
      contactName: conversation.contact.name,
      businessName: conversation.tenantName,
      service: serviceOfEvidence(opportunity.kind, opportunity.evidenceText),
    },
    consent,
    customerLanguage: input.customerLanguage,
    businessLanguage: input.businessLanguage,
  });
  return choice.ok ? { ...choice, kind: 'template' } : { ...choice, kind: 'refused' };
}

/**
 * Stores the template as the follow-up's pending draft (its preview is the filled-in text, so the
 * staff approve what the customer will read) with the usual `msg:` card, and marks the
 * opportunity drafted. Approval sends it through the normal send path (consent checked again).
 */
export async function draftFollowUpTemplate(
  ctx: TenantContext,
  input: {
    opportunity: OpportunityRow;
    proposal: Extract<FollowUpProposal, { kind: 'template' }>;
    escalationContacts: EscalationContact[];
    staffLanguage: AgentLanguage;
    now: Date;
    logger: Logger;
  },
): Promise<OutboxJob[] | null> {
  const { opportunity, proposal } = input;
  // Locked as the agent's drafts are stored: no inbound message commits meanwhile.
  const conversation = await loadTurnConversation(ctx, opportunity.conversationId as string, {
    forUpdate: true,
  });
  if (!conversation) return null;
  const drafted = await draftReplies(ctx, {
    conversation,
    runId: null,
    correlationId: `opp-${opportunity.id}`,
    replies: [proposal.message],
    previews: [proposal.preview],
    cardNote: TEMPLATE_NOTE[input.staffLanguage](
      proposal.template.name,
      proposal.template.language,
    ),
    escalationContacts: input.escalationContacts,
    staffLanguage: input.staffLanguage,
    now: input.now,
    logger: input.logger,
  });
  const [draft] = drafted.drafts;
  if (draft) {
    await markOpportunityDrafted(ctx, {
      id: opportunity.id,
      draftId: draft.id,
      template: `${proposal.template.name}/${proposal.template.language}`,
    });
  }
  return drafted.jobs;
}
