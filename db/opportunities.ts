import { and, desc, eq, getTableColumns, inArray, lt, or, type SQL, sql } from 'drizzle-orm';
import { PRICE_QUESTION_PATTERN } from '../core/agent/price-words';
import { type IntakeContext, type Pipelined, pipelined, type TenantContext } from './client';
import {
  type Channel,
  contacts,
  type OpportunityKind,
  type OpportunityStatus,
  opportunities,
  opportunityEvents,
  opportunityKind,
  opportunityStatus,
} from './schema';

/**
 * Follow-up opportunities (docs/follow-ups.md): the daily scan finds customers worth writing to
 * again, and staff decide on each before anything is sent. Each detector is one set-based SELECT
 * over the tenant's history, and the scan inserts what they find in one statement; the unique
 * (tenant, kind, evidence) key makes a second scan of the same day, or of the next, find nothing
 * twice.
 *
 * "N days" are calendar days in the business's time zone: a customer who asked at 23:30 on Monday
 * in Madrid asked on Monday, whatever UTC says, so "3 days later" is Thursday there.
 */

export const SCAN_JOB_KIND = 'opportunities-scan';
/**
 * Each business is scanned daily at this hour of its own clock: early enough that staff find the
 * day's follow-ups when they start, late enough that yesterday (in their time zone) is over.
 */
export const SCAN_LOCAL_HOUR = 8;

/** A price question is a lost sale once this many local days pass without a booking. */
export const PRICE_FOLLOW_UP_DAYS = 3;
/** A cancelled or missed appointment: a day for the customer to rebook by themselves first. */
export const REBOOK_GRACE_DAYS = 1;
/** A handed-off conversation is "quiet" when the customer has waited this long for a person. */
export const QUIET_AFTER_HANDOFF_HOURS = 24;
/**
 * Evidence older than this is history, not an opportunity: the first scan of a business does not
 * dig up years of chats, and a recall overdue for a month is not proposed out of the blue.
 */
export const LOOKBACK_DAYS = 30;
/** An open opportunity nobody decided on in this many days is expired by the next scan. */
export const EXPIRE_AFTER_DAYS = 14;

/** What staff could do about each kind: codes the page and the cards word in the tenant's language. */
export const SUGGESTED_ACTION: Record<OpportunityKind, string> = {
  price_no_booking: 'offer_booking',
  recall_due: 'offer_recall_appointment',
  no_show_or_cancelled: 'offer_new_appointment',
  quiet_after_handoff: 'reply_to_customer',
};

/**
 * Who may be followed up at all, for contact `c` and the opportunity kind `kind`:
 * - they wrote to the business at least once (no cold outreach: the business never starts);
 * - they have not opted out (contacts.opted_out_at, set by STOP and its es/ar words, db/opt-ins.ts);
 * - they are not the business's own staff (escalation contacts talk to the business number too;
 *   digits against digits, as db/chats.ts recognises them);
 * - they have no open opportunity of this kind already: one waiting decision is enough.
 */
function mayFollowUp(kind: OpportunityKind): SQL {
  return sql`c.opted_out_at is null
    and exists (select 1 from conversations cv join messages cm on cm.conversation_id = cv.id
      where cv.contact_id = c.id and cm.direction = 'inbound' and cm.sender = 'user')
    and not (c.channel = 'whatsapp' and exists (
      select 1 from tenant_settings ts, jsonb_array_elements(ts.escalation_contacts) e
      where ts.tenant_id = c.tenant_id
        and regexp_replace(coalesce(e->>'whatsapp', ''), '\\D', '', 'g') in (c.phone, c.external_user_id)))
    and not exists (select 1 from opportunities o
      where o.contact_id = c.id and o.kind = ${kind} and o.status = 'open')`;
}

/** The conversation to follow up in: the appointment's, else the customer's latest. */
const appointmentConversation = sql`coalesce(a.conversation_id, (select cv.id from conversations cv
  where cv.contact_id = a.contact_id order by cv.last_inbound_at desc nulls last limit 1))`;

/** "Haircut · 2027-01-05 09:30", local time, for the appointment-based kinds. */
const appointmentEvidence = sql`s.name || ' · ' || to_char(a.starts_at at time zone p.zone, 'YYYY-MM-DD HH24:MI')`;

/**
 * (a) Asked about a price or a service and did not book: the customer's latest message that asks
 * a price (core/agent/price-words.ts) or names one of the business's services (4 letters or more,
 * in any of its languages), at least PRICE_FOLLOW_UP_DAYS local days ago, with no appointment
 * booked since.
 */
const priceNoBooking = sql`(select distinct on (v.contact_id)
    v.contact_id, v.id, 'price_no_booking'::opportunity_kind, m.id, left(m.content, 200)
  from conversations v
  join contacts c on c.id = v.contact_id
  cross join params p
  join messages m on m.conversation_id = v.id
  where v.tenant_id = p.tenant_id
    and v.last_message_at >= p.lookback
    and m.provider_timestamp >= p.lookback
    and m.direction = 'inbound' and m.sender = 'user' and m.content is not null
    and (m.provider_timestamp at time zone p.zone)::date + ${PRICE_FOLLOW_UP_DAYS}::int <= p.today
    and (app.search_normalize(m.content) ~ ${PRICE_QUESTION_PATTERN}
      or exists (select 1 from services s
        cross join lateral (select s.name union all select value from jsonb_each_text(s.names)) n(name)
        where s.tenant_id = p.tenant_id and s.active and char_length(n.name) >= 4
          and position(app.search_normalize(n.name) in app.search_normalize(m.content)) > 0))
    and not exists (select 1 from appointments a
      where a.contact_id = v.contact_id and a.created_at >= m.provider_timestamp)
    and ${mayFollowUp('price_no_booking')}
  order by v.contact_id, m.provider_timestamp desc, m.id desc)`;

/**
 * (b) Recall due: the customer's last completed appointment of a service with
 * `recall_after_days`, that many local days ago or more (within LOOKBACK_DAYS of falling due),
 * and nothing of that service booked or done since. One per customer: the latest.
 */
const recallDue = sql`(select distinct on (a.contact_id)
    a.contact_id, ${appointmentConversation}, 'recall_due'::opportunity_kind, a.id, ${appointmentEvidence}
  from appointments a
  join services s on s.tenant_id = a.tenant_id and s.id = a.service_id
  join contacts c on c.id = a.contact_id
  cross join params p
  where a.tenant_id = p.tenant_id and a.status = 'completed' and s.recall_after_days is not null
    and (a.starts_at at time zone p.zone)::date + s.recall_after_days <= p.today
    and (a.starts_at at time zone p.zone)::date + s.recall_after_days > p.today - ${LOOKBACK_DAYS}::int
    and not exists (select 1 from appointments later
      where later.contact_id = a.contact_id and later.service_id = a.service_id
        and later.starts_at > a.starts_at and later.status in ('pending', 'confirmed', 'completed'))
    and ${mayFollowUp('recall_due')}
  order by a.contact_id, a.starts_at desc)`;

/**
 * (c) A no-show or a cancellation (marked within LOOKBACK_DAYS, at least REBOOK_GRACE_DAYS local
 * days ago) and no booking since: nothing booked after it was, and nothing still ahead. The time it
 * was marked is `updated_at`: a cancelled or missed appointment does not change afterwards.
 */
const noShowOrCancelled = sql`(select distinct on (a.contact_id)
    a.contact_id, ${appointmentConversation}, 'no_show_or_cancelled'::opportunity_kind, a.id,
    ${appointmentEvidence} || ' · ' || a.status::text
  from appointments a
  join services s on s.tenant_id = a.tenant_id and s.id = a.service_id
  join contacts c on c.id = a.contact_id
  cross join params p
  where a.tenant_id = p.tenant_id and a.status in ('cancelled', 'no_show')
    and a.updated_at >= p.lookback
    and (a.updated_at at time zone p.zone)::date + ${REBOOK_GRACE_DAYS}::int <= p.today
    and not exists (select 1 from appointments other
      where other.contact_id = a.contact_id and other.id <> a.id
        and other.status in ('pending', 'confirmed', 'completed')
        and (other.created_at > a.created_at or other.starts_at > p.now))
    and ${mayFollowUp('no_show_or_cancelled')}
  order by a.contact_id, a.updated_at desc)`;

/**
 * (d) Quiet after a handoff: a conversation handed to a person by an escalation or a keyword
 * (still locked, so the bot stays silent), whose customer's last message has waited
 * QUIET_AFTER_HANDOFF_HOURS or more with no operator or agent reply after it and nothing else
 * said since. Real hours, not local days: the customer is waiting for an answer, not a date.
 */
const quietAfterHandoff = sql`(select distinct on (v.contact_id)
    v.contact_id, v.id, 'quiet_after_handoff'::opportunity_kind, last_in.id,
    left(coalesce(last_in.content, '[' || last_in.type || ']'), 200)
  from conversations v
  join contacts c on c.id = v.contact_id
  cross join params p
  cross join lateral (select m.id, m.content, m.type, m.provider_timestamp from messages m
    where m.conversation_id = v.id and m.direction = 'inbound' and m.sender = 'user'
    order by m.provider_timestamp desc, m.received_at desc, m.id desc limit 1) last_in
  where v.tenant_id = p.tenant_id and v.is_locked and v.locked_by in ('escalation', 'keyword')
    and v.last_message_at >= p.lookback
    and v.last_message_at <= p.now - make_interval(hours => ${QUIET_AFTER_HANDOFF_HOURS}::int)
    and last_in.provider_timestamp <= p.now - make_interval(hours => ${QUIET_AFTER_HANDOFF_HOURS}::int)
    and not exists (select 1 from messages r
      where r.conversation_id = v.id and r.direction = 'outbound' and r.sender in ('operator', 'agent')
        and r.status not in ('failed', 'cancelled') and r.provider_timestamp > last_in.provider_timestamp)
    and ${mayFollowUp('quiet_after_handoff')}
  order by v.contact_id, last_in.provider_timestamp desc)`;

export type ScanResult = {
  /** New opportunities by kind (0 for kinds that found nothing new). */
  found: Record<OpportunityKind, number>;
  /** Open opportunities that were left undecided past EXPIRE_AFTER_DAYS. */
  expired: number;
};

/**
 * Runs every detector for the tenant as of `now` and records what is new. Two statements: the
 * expiry of stale open opportunities, then one INSERT … SELECT over the four detectors (a repeat
 * finds its rows already there: ON CONFLICT DO NOTHING on the evidence key).
 */
export async function scanOpportunities(
  ctx: TenantContext,
  input: { now: Date },
): Promise<ScanResult> {
  const { tx, tenantId } = ctx;
  const now = input.now.toISOString();
  const expired = await tx
    .update(opportunities)
    .set({ status: 'expired', decidedAt: input.now })
    .where(
      and(
        eq(opportunities.tenantId, tenantId),
        eq(opportunities.status, 'open'),
        lt(
          opportunities.createdAt,
          sql`${now}::timestamptz - make_interval(days => ${EXPIRE_AFTER_DAYS}::int)`,
        ),
      ),
    )
    .returning({ id: opportunities.id });
  const rows = await tx.execute<{ kind: OpportunityKind }>(sql`
    with params as (
      select ${tenantId}::uuid as tenant_id, zone, ${now}::timestamptz as now,
        (${now}::timestamptz at time zone zone)::date as today,
        ${now}::timestamptz - make_interval(days => ${LOOKBACK_DAYS}::int) as lookback
      from (select coalesce((select time_zone from tenant_settings where tenant_id = ${tenantId}), 'UTC') as zone) z
    ), found (contact_id, conversation_id, kind, evidence_id, evidence_text) as (
      ${priceNoBooking} union all ${recallDue} union all ${noShowOrCancelled} union all ${quietAfterHandoff}
    )
    insert into opportunities
      (tenant_id, contact_id, conversation_id, kind, evidence_id, evidence_text, suggested_action, created_at)
    select ${tenantId}, contact_id, conversation_id, kind, evidence_id, evidence_text,
      (${JSON.stringify(SUGGESTED_ACTION)}::jsonb)->>kind::text, ${now}::timestamptz
    from found
    on conflict (tenant_id, kind, evidence_id) do nothing
    returning kind`);
  const found = Object.fromEntries(opportunityKind.enumValues.map((k) => [k, 0])) as Record<
    OpportunityKind,
    number
  >;
  for (const row of rows) found[row.kind] += 1;
  return { found, expired: expired.length };
}

/**
 * Why a skipped opportunity was refused (its latest `refused` audit line): the code (follow-up
 * templates: `no_approved_template`, `no_marketing_opt_in`) and the reason, for the page. One
 * index lookup per row (opportunity_events_opportunity), in the same statement.
 */
const refusalColumns = {
  refusedCode: sql<string | null>`(select e.detail->>'code' from opportunity_events e
    where e.opportunity_id = ${opportunities.id} and e.event = 'refused'
    order by e.created_at desc limit 1)`,
  refusedReason: sql<string | null>`(select e.detail->>'reason' from opportunity_events e
    where e.opportunity_id = ${opportunities.id} and e.event = 'refused'
    order by e.created_at desc limit 1)`,
};

export type OpportunityView = typeof opportunities.$inferSelect & {
  /** Why a sending rule refused it (skipped); null: not refused. */
  refusedCode: string | null;
  refusedReason: string | null;
  contactName: string | null;
  /** The customer's channel: the page says where the follow-up would go. */
  contactChannel: Channel;
  /** The keyset position: `created_at` at full precision. */
  position: string;
};

/**
 * The tenant's opportunities, newest first, optionally of one status; a keyset page. Pipelined, so
 * the operator's listing is one round trip (readAsCurrentOperator).
 */
export function readOpportunities(
  { tx, tenantId }: TenantContext,
  options: {
    status?: OpportunityStatus;
    limit: number;
    after?: { position: string; id: string };
  },
): Pipelined<OpportunityView[]> {
  const after = options.after;
  const page = tx
    .select({
      ...getTableColumns(opportunities),
      ...refusalColumns,
      contactName: contacts.name,
      contactChannel: contacts.channel,
      // Full-precision text: a JS Date would drop the microseconds the keyset compares on.
      position: sql<string>`${opportunities.createdAt}::text`,
    })
    .from(opportunities)
    .innerJoin(contacts, eq(contacts.id, opportunities.contactId))
    .where(
      and(
        eq(opportunities.tenantId, tenantId),
        options.status ? eq(opportunities.status, options.status) : undefined,
        after
          ? or(
              lt(opportunities.createdAt, sql`${after.position}::timestamptz`),
              and(
                eq(opportunities.createdAt, sql`${after.position}::timestamptz`),
                lt(opportunities.id, after.id),
              ),
            )
          : undefined,
      ),
    )
    .orderBy(desc(opportunities.createdAt), desc(opportunities.id))
    .limit(options.limit);
  return pipelined([page], ([rows]) => rows);
}

/**
 * How many of the tenant's opportunities are in each status (every status present, 0 when none):
 * the page's one-line summary. Pipelined, one round trip; the tenant's rows only, however many.
 */
export function countOpportunitiesByStatus({
  tx,
  tenantId,
}: TenantContext): Pipelined<Record<OpportunityStatus, number>> {
  const counts = tx
    .select({ status: opportunities.status, count: sql<number>`count(*)::int` })
    .from(opportunities)
    .where(eq(opportunities.tenantId, tenantId))
    .groupBy(opportunities.status);
  return pipelined([counts], ([rows]) => {
    const byStatus = Object.fromEntries(opportunityStatus.enumValues.map((s) => [s, 0])) as Record<
      OpportunityStatus,
      number
    >;
    for (const row of rows) byStatus[row.status] = row.count;
    return byStatus;
  });
}

export type Decision =
  | { kind: 'decided'; opportunity: Omit<OpportunityView, 'position'> }
  /** Someone decided first (or it expired): the decision stands, nothing changes. */
  | { kind: 'already_decided'; status: OpportunityStatus }
  | { kind: 'not_found' };

/**
 * Decides an open opportunity: `skipped` (nothing will be sent) or `accepted` (the agent writes a
 * follow-up draft for approval), recording who (an operator's user id, or null from a staff card
 * on WhatsApp), how (`via`) and when. Only an open one can be decided: the update's condition
 * decides, so of two decisions at once (two operators, a double tap on a card) exactly one wins.
 */
export async function decideOpportunity(
  ctx: TenantContext,
  input: {
    id: string;
    status: 'skipped' | 'accepted';
    userId: string | null;
    via: string;
    now: Date;
  },
): Promise<Decision> {
  const { tx, tenantId } = ctx;
  const [decided] = await tx
    .update(opportunities)
    .set({
      status: input.status,
      decidedByUserId: input.userId,
      decidedVia: input.via,
      decidedAt: input.now,
    })
    .where(
      and(
        eq(opportunities.id, input.id),
        eq(opportunities.tenantId, tenantId),
        eq(opportunities.status, 'open'),
      ),
    )
    .returning({ id: opportunities.id });
  const [current] = await Promise.all([
    readOpportunity(ctx, input.id),
    decided
      ? recordOpportunityEvent(ctx, {
          opportunityId: decided.id,
          event: input.status,
          actor: input.userId ? `operator:${input.userId}` : input.via,
          detail: { via: input.via },
        })
      : null,
  ]);
  if (!current) return { kind: 'not_found' };
  return decided
    ? { kind: 'decided', opportunity: current }
    : { kind: 'already_decided', status: current.status };
}

/** One opportunity of the tenant as the page shows it; null when unknown (or another tenant's). */
export async function readOpportunity(
  { tx, tenantId }: TenantContext,
  id: string,
): Promise<Omit<OpportunityView, 'position'> | null> {
  const [row] = await tx
    .select({
      ...getTableColumns(opportunities),
      ...refusalColumns,
      contactName: contacts.name,
      contactChannel: contacts.channel,
    })
    .from(opportunities)
    .innerJoin(contacts, eq(contacts.id, opportunities.contactId))
    .where(and(eq(opportunities.id, id), eq(opportunities.tenantId, tenantId)));
  return row ?? null;
}

/** Skips an open opportunity from the operator API (decideOpportunity). */
export function skipOpportunity(
  ctx: TenantContext,
  input: { id: string; userId: string; now: Date },
): Promise<Decision> {
  return decideOpportunity(ctx, { ...input, status: 'skipped', via: 'operator_api' });
}

export type OpportunityEvent =
  | 'carded'
  | 'skipped'
  | 'accepted'
  | 'refused'
  | 'drafted'
  | 'draft_failed'
  | 'queued'
  | 'sent'
  /** opp-schedule: `:schedule` found no bookable service or no free time; still open. */
  | 'no_slots';

/** One line of the audit trail (opportunity_events). */
export async function recordOpportunityEvent(
  { tx, tenantId }: TenantContext,
  input: {
    opportunityId: string;
    event: OpportunityEvent;
    actor: string;
    detail?: Record<string, unknown>;
  },
): Promise<void> {
  await tx.insert(opportunityEvents).values({
    tenantId,
    opportunityId: input.opportunityId,
    event: input.event,
    actor: input.actor,
    detail: input.detail ?? {},
  });
}

export type OpportunityRow = typeof opportunities.$inferSelect;

/** The opportunity, locked for the caller's transaction; null when it is not this tenant's. */
export async function lockOpportunity(
  { tx, tenantId }: TenantContext,
  id: string,
): Promise<OpportunityRow | null> {
  const [row] = await tx
    .select()
    .from(opportunities)
    .where(and(eq(opportunities.id, id), eq(opportunities.tenantId, tenantId)))
    .for('update');
  return row ?? null;
}

/** The opportunity a follow-up draft was written for, locked; null for an ordinary agent draft. */
export async function opportunityOfDraft(
  { tx, tenantId }: TenantContext,
  draftId: string,
): Promise<OpportunityRow | null> {
  const [row] = await tx
    .select()
    .from(opportunities)
    .where(and(eq(opportunities.draftId, draftId), eq(opportunities.tenantId, tenantId)))
    .for('update');
  return row ?? null;
}

/**
 * At most one proactive message per contact in this many days, unless the business chose another
 * period (`tenant_settings.follow_up_min_days_apart`, 1–90, the settings API): a follow-up
 * accepted, drafted or sent for the same customer within it refuses the next one (a customer who
 * went quiet is not chased by every detector at once). This is the column's default.
 */
export const FOLLOW_UP_MIN_DAYS_APART = 7;

/**
 * Why no follow-up may be written or sent to this opportunity's customer now, or null. Checked
 * when the draft is written and again when it is approved:
 * - the customer never wrote to the business (no cold outreach);
 * - the customer opted out (STOP, BAJA, إيقاف…: db/opt-ins.ts), whenever that was;
 * - another follow-up of theirs was accepted, drafted or sent within the business's frequency cap
 *   (its `follow_up_min_days_apart`, else FOLLOW_UP_MIN_DAYS_APART days).
 */
export async function followUpRefusal(
  { tx, tenantId }: TenantContext,
  opportunity: Pick<OpportunityRow, 'id' | 'contactId'>,
  now: Date,
): Promise<string | null> {
  const [facts] = await tx.execute<{
    opted_out: boolean;
    wrote_first: boolean;
    recent: boolean;
    days: number;
  }>(sql`with cap as (
      select coalesce((select follow_up_min_days_apart from tenant_settings where tenant_id = ${tenantId}),
        ${FOLLOW_UP_MIN_DAYS_APART}::int) as days)
    select
      (select opted_out_at is not null from contacts where id = ${opportunity.contactId}) as opted_out,
      exists (select 1 from conversations cv join messages m on m.conversation_id = cv.id
        where cv.contact_id = ${opportunity.contactId} and m.direction = 'inbound' and m.sender = 'user')
        as wrote_first,
      exists (select 1 from opportunities o where o.contact_id = ${opportunity.contactId}
        and o.id <> ${opportunity.id} and o.status in ('accepted', 'drafted', 'sent')
        and o.decided_at > ${now.toISOString()}::timestamptz - make_interval(days => cap.days))
        as recent,
      cap.days
    from cap`);
  if (!facts || facts.opted_out) return 'the customer opted out of messages';
  if (!facts.wrote_first) return 'the customer never wrote to the business (no cold outreach)';
  if (facts.recent) {
    return `the customer already has a follow-up from the last ${facts.days} days`;
  }
  return null;
}

/**
 * A rule refused the follow-up (or the AI could not write it): skipped, nothing will be sent; why
 * is in the audit trail. Who accepted it stays recorded (decided_by, decided_via).
 */
export async function refuseOpportunity(
  ctx: TenantContext,
  input: {
    id: string;
    reason: string;
    /** A code for the page and metrics (`no_approved_template`, `no_marketing_opt_in`), if any. */
    code?: string;
    now: Date;
    event?: 'refused' | 'draft_failed';
  },
): Promise<void> {
  await Promise.all([
    ctx.tx
      .update(opportunities)
      .set({ status: 'skipped', decidedAt: input.now })
      .where(and(eq(opportunities.id, input.id), eq(opportunities.tenantId, ctx.tenantId))),
    recordOpportunityEvent(ctx, {
      opportunityId: input.id,
      event: input.event ?? 'refused',
      actor: 'system',
      detail: { reason: input.reason, ...(input.code ? { code: input.code } : {}) },
    }),
  ]);
}

/** The follow-up draft is written and waits for approval on the `msg:` card. */
export async function markOpportunityDrafted(
  ctx: TenantContext,
  input: {
    id: string;
    draftId: string;
    /** `name/language` of the approved template it proposes (outside the 24-hour window). */
    template?: string;
  },
): Promise<void> {
  await Promise.all([
    ctx.tx
      .update(opportunities)
      .set({ status: 'drafted', draftId: input.draftId })
      .where(and(eq(opportunities.id, input.id), eq(opportunities.tenantId, ctx.tenantId))),
    recordOpportunityEvent(ctx, {
      opportunityId: input.id,
      event: 'drafted',
      actor: 'system',
      detail: { draft_id: input.draftId, ...(input.template ? { template: input.template } : {}) },
    }),
  ]);
}

/** Its draft was cancelled: the opportunity is skipped (nothing is sent), and recorded. */
export async function skipDraftedOpportunity(
  ctx: TenantContext,
  input: { id: string; actor: string; now: Date },
): Promise<void> {
  await Promise.all([
    ctx.tx
      .update(opportunities)
      .set({ status: 'skipped', decidedAt: input.now })
      .where(and(eq(opportunities.id, input.id), eq(opportunities.status, 'drafted'))),
    recordOpportunityEvent(ctx, {
      opportunityId: input.id,
      event: 'skipped',
      actor: input.actor,
      detail: { draft: 'cancelled' },
    }),
  ]);
}

/** Its draft was approved: the queued message, whose send makes the opportunity `sent`. */
export async function markOpportunityQueued(
  ctx: TenantContext,
  input: { id: string; messageId: string; notBefore: Date; via: string },
): Promise<void> {
  await Promise.all([
    ctx.tx
      .update(opportunities)
      .set({ messageId: input.messageId })
      .where(and(eq(opportunities.id, input.id), eq(opportunities.tenantId, ctx.tenantId))),
    recordOpportunityEvent(ctx, {
      opportunityId: input.id,
      event: 'queued',
      actor: input.via,
      detail: { message_id: input.messageId, not_before: input.notBefore.toISOString() },
    }),
  ]);
}

/**
 * The send job recorded `messageId` as sent: the opportunity it was queued for (if any) is `sent`.
 * One statement (the event is written by the same one), which finds nothing for ordinary messages
 * through the partial index on message_id.
 */
export async function markOpportunitySent({ tx }: TenantContext, messageId: string): Promise<void> {
  await tx.execute(sql`with sent as (
      update opportunities set status = 'sent'
      where message_id = ${messageId} and status = 'drafted'
      returning id, tenant_id)
    insert into opportunity_events (tenant_id, opportunity_id, event, actor, detail)
    select tenant_id, id, 'sent', 'system', jsonb_build_object('message_id', ${messageId}::uuid)
    from sent`);
}

/**
 * Opportunity cards per business per local day: staff get the few newest on WhatsApp after a scan;
 * the rest wait in the operator page. A handful keeps the staff's chat a to-do list, not a feed.
 */
export const OPPORTUNITY_CARDS_PER_DAY = 3;

/**
 * The open opportunities to card now, newest first: at most what is left of today's budget (the
 * business's local day, from `dayStart`), each marked carded in the same transaction.
 */
export async function takeOpportunitiesToCard(
  { tx, tenantId }: TenantContext,
  input: { now: Date; dayStart: Date },
): Promise<Array<OpportunityRow & { contactName: string | null; contactPhone: string | null }>> {
  const rows = await tx.execute<{ id: string }>(sql`
    with budget as (
      select greatest(0, ${OPPORTUNITY_CARDS_PER_DAY}::int - count(*))::int as left_today
      from opportunities where tenant_id = ${tenantId}
        and carded_at >= ${input.dayStart.toISOString()}::timestamptz
    ), picked as (
      select o.id from opportunities o
      where o.tenant_id = ${tenantId} and o.status = 'open' and o.carded_at is null
      order by o.created_at desc, o.id desc
      limit (select left_today from budget)
      for update
    )
    update opportunities o set carded_at = ${input.now.toISOString()}::timestamptz
    from picked where o.id = picked.id
    returning o.id`);
  if (rows.length === 0) return [];
  const ids = rows.map((r) => r.id);
  return tx
    .select({
      ...getTableColumns(opportunities),
      contactName: contacts.name,
      contactPhone: contacts.phone,
    })
    .from(opportunities)
    .innerJoin(contacts, eq(contacts.id, opportunities.contactId))
    .where(and(eq(opportunities.tenantId, tenantId), inArray(opportunities.id, ids)))
    .orderBy(desc(opportunities.createdAt), desc(opportunities.id));
}

/**
 * Queues each business's next daily scan (`app.schedule_opportunity_scans`, migration 0024): one
 * outbox row per business and local date, due at SCAN_LOCAL_HOUR there, which the outbox sweeper
 * publishes with its not-before. The Worker's cron calls it every minute; it returns how many rows
 * it added (0 once every business has its next scan queued).
 */
export async function scheduleOpportunityScans({ tx }: IntakeContext): Promise<number> {
  const [row] = await tx.execute<{ queued: number }>(
    sql`select app.schedule_opportunity_scans(${SCAN_LOCAL_HOUR}::int) as queued`,
  );
  return row?.queued ?? 0;
}

// ---------------------------------------------------------------------------------------------
// Metrics (issue 12): what the follow-ups came to, for the page's summary.
// ---------------------------------------------------------------------------------------------

/** The metrics' period by default, and at most (the page shows the last 30 days). */
export const METRICS_DEFAULT_DAYS = 30;
export const METRICS_MAX_DAYS = 365;

export type OpportunityMetrics = {
  /** Opportunities the scan found in the period. */
  found: number;
  /** Of those, staff accepted (the agent was asked to write): whatever came of it after. */
  accepted: number;
  /** Of those, the follow-up was sent. */
  sent: number;
  /** Of the sent, the customer wrote to the business (any conversation) after the send. */
  replied: number;
  /** Of the sent, an appointment for the customer was created after the send. */
  booked: number;
};

/**
 * What the opportunities found since `since` came to: a funnel over one cohort (found in the
 * period; each counted at every step it reached, however late), so the steps compare. "Sent" is the
 * time of the `sent` audit line (the send job's success, markOpportunitySent); a reply is the
 * customer's own message after it, a booking an appointment of theirs created after it (by the
 * agent, an operator or anyone: the follow-up is what we measure, not who booked).
 */
function opportunityMetrics({ tx, tenantId }: TenantContext, since: string) {
  // Not awaited here: the pipelined read sends it with the counts (readAsMember).
  return tx.execute<OpportunityMetrics>(sql`with cohort as (
      select o.contact_id,
        o.status in ('accepted', 'drafted', 'sent') or exists (select 1 from opportunity_events e
          where e.opportunity_id = o.id and e.event = 'accepted') as accepted,
        case when o.status = 'sent' then coalesce((select min(e.created_at) from opportunity_events e
          where e.opportunity_id = o.id and e.event = 'sent'), o.decided_at) end as sent_at
      from opportunities o
      where o.tenant_id = ${tenantId} and o.created_at >= ${since}::timestamptz
    )
    select count(*)::int as found,
      (count(*) filter (where accepted))::int as accepted,
      (count(*) filter (where sent_at is not null))::int as sent,
      (count(*) filter (where sent_at is not null and exists (select 1 from conversations cv
        join messages m on m.conversation_id = cv.id
        where cv.tenant_id = ${tenantId} and cv.contact_id = cohort.contact_id
          and m.direction = 'inbound' and m.sender = 'user' and m.provider_timestamp > cohort.sent_at)))::int
        as replied,
      (count(*) filter (where sent_at is not null and exists (select 1 from appointments a
        where a.tenant_id = ${tenantId} and a.contact_id = cohort.contact_id
          and a.created_at > cohort.sent_at)))::int as booked
    from cohort`);
}

export type OpportunitySummary = {
  byStatus: Record<OpportunityStatus, number>;
  metrics: OpportunityMetrics & { days: number; since: string };
};

/**
 * The page's summary: the counts by status (countOpportunitiesByStatus) and the last `days` days'
 * metrics (opportunityMetrics), pipelined: one round trip for both.
 */
export function summarizeOpportunities(
  ctx: TenantContext,
  input: { now: Date; days: number },
): Pipelined<OpportunitySummary> {
  const since = new Date(input.now.getTime() - input.days * 86_400_000).toISOString();
  const counts = countOpportunitiesByStatus(ctx);
  return pipelined([...counts.statements, opportunityMetrics(ctx, since)], (rows) => {
    const [metrics] = rows[rows.length - 1] as OpportunityMetrics[];
    const zero = { found: 0, accepted: 0, sent: 0, replied: 0, booked: 0 };
    return {
      byStatus: counts.result(rows.slice(0, -1)),
      metrics: { ...(metrics ?? zero), days: input.days, since },
    };
  });
}
