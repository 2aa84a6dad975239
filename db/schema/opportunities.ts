import { sql } from 'drizzle-orm';
import { index, jsonb, pgEnum, text, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { agentDrafts } from './agent';
import { at, createdAt, parentRef } from './columns';
import { contacts, conversations, messages } from './conversations';
import { tenantTable } from './tenants';

/**
 * Why a customer is worth a follow-up (db/opportunities.ts has each detector's rule):
 * - `price_no_booking`: asked about a price or a service and did not book;
 * - `recall_due`: the service's "recall after N days" has passed since their last completed visit;
 * - `no_show_or_cancelled`: missed or cancelled an appointment and did not book again;
 * - `quiet_after_handoff`: handed to a person, and their last message is still unanswered.
 */
export const opportunityKind = pgEnum('opportunity_kind', [
  'price_no_booking',
  'recall_due',
  'no_show_or_cancelled',
  'quiet_after_handoff',
]);
export type OpportunityKind = (typeof opportunityKind.enumValues)[number];

/**
 * `open` until someone decides; `skipped` (nothing is sent: by staff, or refused by a sending rule);
 * `accepted` (the agent is writing the follow-up), `drafted` (a pending agent draft waits for
 * approval on the usual `msg:` card), `sent` (the approved message went out); `expired` when nobody
 * decided in time.
 */
export const opportunityStatus = pgEnum('opportunity_status', [
  'open',
  'accepted',
  'skipped',
  'drafted',
  'sent',
  'expired',
]);
export type OpportunityStatus = (typeof opportunityStatus.enumValues)[number];

/**
 * A follow-up the daily scan found (functions/jobs/opportunities-scan.ts). Staff decide on it
 * before anything is sent; the decision is recorded here. `evidence_id` is the message (price
 * question, unanswered message) or the appointment (recall, no-show, cancellation) it was found
 * from: no foreign key, since it points at either table by `kind`. One opportunity per kind and
 * evidence, so a scan that runs twice (QStash redelivers, an owner triggers it by hand) finds
 * nothing new the second time.
 */
export const opportunities = tenantTable(
  'opportunities',
  'read-write',
  {
    contactId: parentRef('contact_id', () => contacts.id),
    conversationId: uuid('conversation_id').references(() => conversations.id, {
      onDelete: 'set null',
    }),
    kind: opportunityKind('kind').notNull(),
    evidenceId: uuid('evidence_id').notNull(),
    /** What the evidence says, short: the customer's words, or the appointment's service and date. */
    evidenceText: text('evidence_text').notNull(),
    /** What staff could do, as a code the cards and the page word in the tenant's language. */
    suggestedAction: text('suggested_action').notNull(),
    status: opportunityStatus('status').notNull().default('open'),
    /** The operator who decided; null while open, or when the system did (expiry). */
    decidedByUserId: uuid('decided_by_user_id'),
    decidedAt: at('decided_at'),
    /** How it was decided: `operator_api`, or `whatsapp:<phone>` (a staff card's button). */
    decidedVia: text('decided_via'),
    /** When its card went to the staff contacts on WhatsApp (at most a few per day; db/opportunities.ts). */
    cardedAt: at('carded_at'),
    /** The agent draft written for it (accept / draft), approved or not on the usual `msg:` card. */
    draftId: uuid('draft_id').references(() => agentDrafts.id, { onDelete: 'set null' }),
    /** The customer's message queued when that draft was approved: its send makes this `sent`. */
    messageId: uuid('message_id').references(() => messages.id, { onDelete: 'set null' }),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex('opportunities_evidence').on(t.tenantId, t.kind, t.evidenceId),
    // The operator listing, newest first (keyset on created_at, id).
    index('opportunities_tenant_recent').on(
      t.tenantId,
      t.createdAt.desc().nullsLast(),
      t.id.desc().nullsFirst(),
    ),
    // "Does this customer already have an open one of this kind": the scan asks per candidate.
    index('opportunities_contact_open').on(t.contactId, t.kind).where(sql`${t.status} = 'open'`),
    // The frequency cap: this contact's recent proactive follow-ups.
    index('opportunities_contact_decided').on(t.contactId, t.decidedAt),
    // Approval finds the opportunity of a draft; the send job, the opportunity of a message.
    index('opportunities_draft').on(t.draftId).where(sql`${t.draftId} is not null`),
    index('opportunities_message').on(t.messageId).where(sql`${t.messageId} is not null`),
    // The daily card budget: cards sent today.
    index('opportunities_carded').on(t.tenantId, t.cardedAt).where(sql`${t.cardedAt} is not null`),
  ],
);

/**
 * The audit trail of follow-ups: every decision (carded, skipped, accepted, refused by a rule,
 * drafted, approved and queued, sent) with who or what made it and why. Append-only.
 */
export const opportunityEvents = tenantTable(
  'opportunity_events',
  'read-write',
  {
    opportunityId: parentRef('opportunity_id', () => opportunities.id),
    event: text('event').notNull(),
    /** `operator:<user id>`, `whatsapp:<phone>`, `system`. */
    actor: text('actor').notNull(),
    detail: jsonb('detail').$type<Record<string, unknown>>().notNull().default({}),
    createdAt: createdAt(),
  },
  (t) => [index('opportunity_events_opportunity').on(t.opportunityId, t.createdAt)],
);
