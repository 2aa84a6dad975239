import { and, desc, eq, max, sql } from 'drizzle-orm';
import { costOf, type PriceTable, runCost } from '../core/agent/prices';
import type { TenantContext } from './client';
import {
  type AgentStep,
  agentDrafts,
  agentMediaNotes,
  agentRuns,
  channelAccounts,
  contacts,
  conversationLockEvents,
  conversations,
  messages,
  tenants,
} from './schema';
import { tenantTimeZone } from './settings';
import { isOneOf } from './sql';

/**
 * The AI agent's turn in the database: the conversation state it checks (supersede, lock, bot and
 * reply mode), the history it reads, its run record (agent_runs), and small writes around replies.
 * Everything runs under the tenant handle: a turn can only ever see its own tenant's rows.
 */
export type AgentRunRow = typeof agentRuns.$inferSelect;
export type HistoryRow = typeof messages.$inferSelect;

export type RunOutcome = 'replied' | 'superseded' | 'locked' | 'handed_off' | 'failed';

/** What a routed message (escalation word, button id) recorded about itself at intake. */
export type MessageRouting = {
  /** false: the message was fully handled at intake and must not get a model turn. */
  turn: boolean;
  outcome: string;
  kind?: string;
  detail?: string;
};

export type TurnConversation = {
  id: string;
  tenantName: string;
  channel: 'whatsapp' | 'messenger' | 'instagram' | 'web';
  channelAccountId: string;
  isLocked: boolean;
  lockedBy: string | null;
  lockReason: string | null;
  botEnabled: boolean;
  latestInboundMessageId: string | null;
  /** When the customer last wrote (the 24-hour window's start); null: never. */
  lastInboundAt: Date | null;
  contact: { id: string; name: string | null; phone: string | null; externalUserId: string };
};

/**
 * The conversation as the turn sees it. `forUpdate` takes the row lock, so the final re-check and
 * the storing of replies happen while no new inbound message (which updates this row) can commit.
 */
export async function loadTurnConversation(
  ctx: TenantContext,
  conversationId: string,
  options: { forUpdate?: boolean } = {},
): Promise<TurnConversation | null> {
  const query = ctx.tx
    .select({
      id: conversations.id,
      tenantName: tenants.name,
      channel: channelAccounts.channel,
      channelAccountId: channelAccounts.id,
      isLocked: conversations.isLocked,
      lockedBy: conversations.lockedBy,
      lockReason: conversations.lockReason,
      botEnabled: conversations.botEnabled,
      latestInboundMessageId: conversations.latestInboundMessageId,
      lastInboundAt: conversations.lastInboundAt,
      contact: {
        id: contacts.id,
        name: contacts.name,
        phone: contacts.phone,
        externalUserId: contacts.externalUserId,
      },
    })
    .from(conversations)
    .innerJoin(channelAccounts, eq(channelAccounts.id, conversations.channelAccountId))
    .innerJoin(contacts, eq(contacts.id, conversations.contactId))
    .innerJoin(tenants, eq(tenants.id, conversations.tenantId))
    .where(eq(conversations.id, conversationId))
    .$dynamic();
  // One statement: the row lock rides on the read (`FOR UPDATE OF conversations`).
  const [row] = await (options.forUpdate ? query.for('update', { of: conversations }) : query);
  return row ?? null;
}

/**
 * When a person last gave the conversation back to the bot (null: never). A turn must not answer
 * a message that arrived while a person had the conversation: unlocking does not answer the
 * backlog. Read without the trigger, so it is sent together with the reads that find it.
 */
export async function lastUnlockedAt(
  { tx }: TenantContext,
  conversationId: string,
): Promise<Date | null> {
  const [row] = await tx
    .select({ at: max(conversationLockEvents.at) })
    .from(conversationLockEvents)
    .where(
      and(
        eq(conversationLockEvents.conversationId, conversationId),
        eq(conversationLockEvents.locked, false),
      ),
    );
  return row?.at ?? null;
}

/**
 * The newest `limit` messages of the conversation in provider-time order (the ordering key, not
 * arrival), oldest first, as the model reads them. WhatsApp timestamps are whole seconds, so
 * messages of the same second keep the order they arrived in.
 */
export async function recentMessages(
  { tx }: TenantContext,
  conversationId: string,
  limit: number,
): Promise<HistoryRow[]> {
  const rows = await tx
    .select()
    .from(messages)
    .where(eq(messages.conversationId, conversationId))
    .orderBy(desc(messages.providerTimestamp), desc(messages.receivedAt), desc(messages.id))
    .limit(limit);
  return rows.reverse();
}

/** The provider ids' texts a reaction may point to (to tell the agent what was reacted to). */
export async function messagesByProviderId(
  { tx }: TenantContext,
  conversationId: string,
  providerMessageIds: string[],
): Promise<Map<string, { content: string | null; direction: string }>> {
  const found = new Map<string, { content: string | null; direction: string }>();
  if (providerMessageIds.length === 0) return found;
  const rows = await tx
    .select({
      providerMessageId: messages.providerMessageId,
      content: messages.content,
      direction: messages.direction,
    })
    .from(messages)
    .where(
      and(
        eq(messages.conversationId, conversationId),
        isOneOf(messages.providerMessageId, [...new Set(providerMessageIds)]),
      ),
    );
  for (const row of rows) {
    if (row.providerMessageId) found.set(row.providerMessageId, row);
  }
  return found;
}

export async function findRun({ tx }: TenantContext, correlationId: string) {
  const [row] = await tx.select().from(agentRuns).where(eq(agentRuns.correlationId, correlationId));
  return row ?? null;
}

/** A run that ended without calling a model (superseded, locked, escalation word). */
export async function recordFinishedRun(
  ctx: TenantContext,
  run: {
    conversationId: string;
    correlationId: string;
    triggerMessageId: string | null;
    model: string;
    outcome: RunOutcome;
    error?: string | null;
    steps?: AgentStep[];
    now: Date;
  },
): Promise<AgentRunRow | null> {
  return insertRunOnce(ctx, { ...run, latencyMs: 0, finishedAt: run.now });
}

/**
 * Inserts the run of a correlation id; null when that correlation id already has one. Drizzle
 * writes only the table's columns, so callers may pass their input whole (`now`, `staleAfterMs`).
 */
async function insertRunOnce(
  { tx, tenantId }: TenantContext,
  run: Omit<typeof agentRuns.$inferInsert, 'tenantId'>,
): Promise<AgentRunRow | null> {
  const [row] = await tx
    .insert(agentRuns)
    .values({ ...run, tenantId })
    .onConflictDoNothing({ target: agentRuns.correlationId })
    .returning();
  return row ?? null;
}

/**
 * Starts (or, after a crash left it `running` for longer than `staleAfterMs`, takes over) the run
 * of a correlation id, in one statement. Returns null when the run is finished or another
 * delivery is running it: QStash delivers at least once, and a turn must answer once.
 */
export async function startRun(
  { tx, tenantId }: TenantContext,
  run: {
    conversationId: string;
    correlationId: string;
    triggerMessageId: string;
    model: string;
    staleAfterMs: number;
  },
): Promise<AgentRunRow | null> {
  const { staleAfterMs, ...values } = run;
  const [row] = await tx
    .insert(agentRuns)
    .values({ ...values, tenantId, outcome: 'running' })
    .onConflictDoUpdate({
      target: agentRuns.correlationId,
      // started_at is the database's clock (the column default), like messages.received_at,
      // which supersededBy compares it with.
      set: { startedAt: sql`now()`, model: run.model, steps: [], usage: {}, error: null },
      setWhere: and(
        eq(agentRuns.outcome, 'running'),
        sql`${agentRuns.startedAt} < now() - make_interval(secs => ${staleAfterMs / 1000})`,
      ),
    })
    .returning();
  return row ?? null;
}

/**
 * Gives back a running run whose model call failed transiently, so the job's next delivery takes
 * it over at once (startRun) instead of finding it busy until it goes stale: its start is moved
 * back past `staleAfterMs` (the takeover sets it to now again), and the error says why meanwhile.
 */
export async function releaseRun(
  { tx }: TenantContext,
  runId: string,
  input: { error: string; staleAfterMs: number },
): Promise<void> {
  await tx
    .update(agentRuns)
    .set({
      error: input.error,
      startedAt: sql`now() - make_interval(secs => ${input.staleAfterMs / 1000 + 1})`,
    })
    .where(and(eq(agentRuns.id, runId), eq(agentRuns.outcome, 'running')));
}

/**
 * Locks the run row for its final transaction; false when it is not running any more (another
 * delivery finished it): then this delivery must store nothing.
 */
export async function lockRunningRun({ tx }: TenantContext, runId: string): Promise<boolean> {
  const rows = await tx
    .select({ id: agentRuns.id })
    .from(agentRuns)
    .where(and(eq(agentRuns.id, runId), eq(agentRuns.outcome, 'running')))
    .for('update');
  return rows.length > 0;
}

/** Closes a running run; false when it was not running any more (another delivery closed it). */
export async function finishRun(
  { tx }: TenantContext,
  runId: string,
  result: {
    outcome: RunOutcome;
    model?: string;
    steps: AgentStep[];
    usage: Record<string, number | undefined>;
    latencyMs: number;
    error?: string | null;
    now: Date;
    /** The tenant's prices at this moment (tenantPriceTable): the run's cost is fixed with them. */
    prices: PriceTable;
  },
): Promise<boolean> {
  // Each step keeps its own cost beside the run's sum, so what is shown or exported of a step later
  // is what the run was charged, whatever the prices have become since.
  const steps = result.steps.map((step) => {
    const cost = step.model && step.usage ? costOf(step.model, step.usage, result.prices) : null;
    return cost === null ? step : { ...step, costUsd: cost };
  });
  const updated = await tx
    .update(agentRuns)
    .set({
      outcome: result.outcome,
      ...(result.model ? { model: result.model } : {}),
      steps,
      usage: result.usage,
      latencyMs: result.latencyMs,
      costUsd: runCost(result.steps, result.prices),
      error: result.error ?? null,
      finishedAt: result.now,
    })
    .where(and(eq(agentRuns.id, runId), eq(agentRuns.outcome, 'running')))
    .returning({ id: agentRuns.id });
  return updated.length > 0;
}

/**
 * What this calendar month's runs cost the business, in US dollars: the sum of the runs whose
 * cost is known (core/agent/prices.ts). The month is the business's own, in its time zone, as its
 * invoices and its budget are: a clinic in Lima starts a new month at midnight in Lima, not UTC.
 * An index range on (tenant, started_at).
 */
export async function aiSpendThisMonth({ tx, tenantId }: TenantContext): Promise<number> {
  const zone = tenantTimeZone(tenantId);
  const [row] = await tx
    .select({ spent: sql<number>`coalesce(sum(${agentRuns.costUsd}), 0)::float8` })
    .from(agentRuns)
    .where(
      and(
        eq(agentRuns.tenantId, tenantId),
        sql`${agentRuns.startedAt} >= date_trunc('month', now() at time zone ${zone}) at time zone ${zone}`,
      ),
    );
  return Number(row?.spent ?? 0);
}

/**
 * What the AI cost in one conversation: the sum of its runs' costs, how many runs called the model
 * (a skipped run did not), and how many of those have no known cost (an unpriced model). Null when
 * the conversation is not the caller's (RLS) or does not exist.
 */
export async function conversationAiCost(
  { tx, tenantId }: TenantContext,
  conversationId: string,
): Promise<{ costUsd: number; runs: number; unpricedRuns: number } | null> {
  const rows = await tx.execute<{ cost: number; runs: number; unpriced: number }>(sql`
    select coalesce(sum(r.cost_usd), 0)::float8 as cost,
      count(r.id) filter (where jsonb_array_length(r.steps) > 0)::int as runs,
      count(r.id) filter (where jsonb_array_length(r.steps) > 0 and r.cost_usd is null)::int as unpriced
    from conversations c
    left join agent_runs r on r.conversation_id = c.id and r.tenant_id = c.tenant_id
    where c.id = ${conversationId} and c.tenant_id = ${tenantId}
    group by c.id`);
  const [row] = [...rows];
  return row
    ? { costUsd: Number(row.cost), runs: Number(row.runs), unpricedRuns: Number(row.unpriced) }
    : null;
}

/** Sets one key of a message's payload, keeping the others. */
async function setPayloadKey(
  { tx }: TenantContext,
  messageId: string,
  key: 'routing' | 'agent',
  value: unknown,
): Promise<void> {
  await tx
    .update(messages)
    .set({
      payload: sql`${messages.payload} || jsonb_build_object(${key}::text, ${JSON.stringify(value)}::jsonb)`,
    })
    .where(eq(messages.id, messageId));
}

/** Marks what intake did with a customer message, so its debounced turn knows (payload.routing). */
export async function markMessageRouting(
  ctx: TenantContext,
  messageId: string,
  routing: MessageRouting,
): Promise<void> {
  await setPayloadKey(ctx, messageId, 'routing', routing);
}

/**
 * A note for operators in the conversation (e.g. why it was handed off). It is never sent: status
 * `received` keeps it out of the send path and status webhooks (they only touch messages sent).
 */
export async function insertSystemNote(
  { tx, tenantId }: TenantContext,
  note: {
    conversationId: string;
    channelAccountId: string;
    text: string;
    correlationId: string | null;
    now: Date;
    details?: Record<string, unknown>;
  },
): Promise<string> {
  const [row] = await tx
    .insert(messages)
    .values({
      tenantId,
      conversationId: note.conversationId,
      channelAccountId: note.channelAccountId,
      direction: 'outbound',
      sender: 'system',
      type: 'note',
      content: note.text,
      payload: { note: note.details ?? {} },
      providerTimestamp: note.now,
      status: 'received',
      correlationId: note.correlationId,
    })
    .returning({ id: messages.id });
  if (!row) throw new Error('system note insert returned nothing');
  return row.id;
}

export type MediaNote = typeof agentMediaNotes.$inferSelect;

export async function mediaNotesFor(
  { tx }: TenantContext,
  messageIds: string[],
): Promise<Map<string, MediaNote>> {
  const notes = new Map<string, MediaNote>();
  if (messageIds.length === 0) return notes;
  const rows = await tx
    .select()
    .from(agentMediaNotes)
    .where(isOneOf(agentMediaNotes.messageId, [...new Set(messageIds)]));
  for (const row of rows) notes.set(`${row.messageId}:${row.attachmentIndex}`, row);
  return notes;
}

export async function saveMediaNote(
  { tx, tenantId }: TenantContext,
  note: {
    messageId: string;
    attachmentIndex: number;
    kind: 'transcript' | 'description' | 'unavailable';
    text: string;
    error?: string | null;
    model?: string | null;
  },
): Promise<void> {
  await tx
    .insert(agentMediaNotes)
    .values({ ...note, tenantId })
    .onConflictDoNothing();
}

/**
 * Whether an inbound message wants a model turn: reactions only when ingestion marked them
 * (routing.turn = true, a reaction to something we said); never a message handled at intake
 * (routing.turn = false: a staff tap, an escalation word) nor one from a standby thread.
 */
const wantsTurn = (m: string) =>
  sql.raw(`${m}.direction = 'inbound'
      and (${m}.type <> 'reaction' or (${m}.payload->'routing'->>'turn')::boolean is true)
      and coalesce((${m}.payload->'routing'->>'turn')::boolean, true)
      and not (${m}.payload ? 'standby')`);

export type TurnTrigger = { id: string; conversationId: string; receivedAt: Date };

/**
 * Opens the conversation's scheduled turn: clears its due marker (a message from now on schedules
 * the next turn) and returns the message this turn answers, or null when none waits. That is the
 * newest message (provider-time order) that wants a turn and arrived after the conversation's last
 * finished run started — the turn reads every message before it too. A message that arrived
 * before that run started was read by it (or was its backlog) and is not answered again, so a
 * second delivery of a finished turn finds nothing; a running run's trigger is still returned, so
 * a second delivery of a running turn finds it busy.
 */
export async function openTurn(
  { tx }: TenantContext,
  conversationId: string,
): Promise<TurnTrigger | null> {
  const rows = await tx.execute<{ id: string; conversation_id: string; received_at: string }>(sql`
    with cleared as (
      update ${conversations} set agent_turn_due_at = null
      where id = ${conversationId} and agent_turn_due_at is not null
      returning id)
    select m.id, m.conversation_id, m.received_at from ${messages} m
    where m.conversation_id = ${conversationId}
      and ${wantsTurn('m')}
      and m.received_at > coalesce(
        (select max(r.started_at) from ${agentRuns} r
          where r.conversation_id = ${conversationId} and r.outcome <> 'running'),
        '-infinity')
    order by m.provider_timestamp desc, m.received_at desc
    limit 1`);
  const row = [...rows][0];
  return row
    ? { id: row.id, conversationId: row.conversation_id, receivedAt: new Date(row.received_at) }
    : null;
}

/**
 * Whether a newer customer message makes this trigger's turn moot. A newer message (provider-time
 * order) that wants a turn supersedes this one while the turn that reads it is still to come or
 * running (it will read both), or started after this message was stored (it read it). A newer
 * message already read by a turn that finished and had started before this one arrived (Meta
 * delivered out of order) does not: this turn must still answer it. Turns read every message that
 * arrived before they started, whichever message triggered them.
 */
export async function supersededBy(
  { tx }: TenantContext,
  trigger: TurnTrigger,
): Promise<string | null> {
  const rows = await tx.execute<{ id: string }>(sql`
    select m.id from ${messages} m, ${messages} t
    where t.id = ${trigger.id}
      and m.conversation_id = t.conversation_id
      and ${wantsTurn('m')}
      and m.id <> t.id
      and (m.provider_timestamp > t.provider_timestamp
        or (m.provider_timestamp = t.provider_timestamp and m.received_at > t.received_at))
      and not exists (
        select 1 from ${agentRuns} r
        where r.conversation_id = t.conversation_id
          and r.outcome <> 'running'
          and r.started_at > m.received_at
          and r.started_at < t.received_at)
    order by m.provider_timestamp desc
    limit 1`);
  return [...rows][0]?.id ?? null;
}

/** Digits only: how escalation contacts and WhatsApp ids are compared. */
export function phoneDigits(value: string | null | undefined): string {
  return (value ?? '').replace(/\D/g, '');
}

/**
 * The tenant's WhatsApp conversation with a staff number (an escalation contact), made on first
 * use on the tenant's first WhatsApp account, or null when the tenant has no WhatsApp account.
 * The contact is found by wa_id or phone, as inbound ingestion finds customers, so a staff member
 * who later writes to the number lands in the same conversation.
 */
export async function ensureStaffConversation(
  { tx, tenantId }: TenantContext,
  staff: { phone: string; name: string },
): Promise<{ conversationId: string; channelAccountId: string } | null> {
  const digits = phoneDigits(staff.phone);
  if (!digits) return null;
  const [account] = await tx
    .select({ id: channelAccounts.id })
    .from(channelAccounts)
    .where(eq(channelAccounts.channel, 'whatsapp'))
    // The first connected; of numbers connected together, Meta's own before a provider's.
    .orderBy(channelAccounts.createdAt, channelAccounts.provider, channelAccounts.id)
    .limit(1);
  if (!account) return null;
  const [existing] = await tx
    .select({ id: contacts.id })
    .from(contacts)
    .where(
      and(
        eq(contacts.channel, 'whatsapp'),
        sql`(${contacts.externalUserId} = ${digits} or ${contacts.phone} = ${digits})`,
      ),
    )
    .orderBy(contacts.createdAt)
    .limit(1);
  let contactId = existing?.id;
  if (!contactId) {
    const [created] = await tx
      .insert(contacts)
      .values({
        tenantId,
        channel: 'whatsapp',
        externalUserId: digits,
        phone: digits,
        name: staff.name,
      })
      .onConflictDoUpdate({
        target: [contacts.tenantId, contacts.channel, contacts.externalUserId],
        set: { updatedAt: sql`now()` },
      })
      .returning({ id: contacts.id });
    contactId = created?.id;
  }
  if (!contactId) return null;
  const [conversation] = await tx
    .insert(conversations)
    .values({ tenantId, contactId, channelAccountId: account.id })
    .onConflictDoUpdate({
      target: [conversations.channelAccountId, conversations.contactId],
      set: { contactId: sql`excluded.contact_id` },
    })
    .returning({ id: conversations.id });
  return conversation ? { conversationId: conversation.id, channelAccountId: account.id } : null;
}

/**
 * A run and everything it caused that carries its correlation id (the messages it queued, its
 * notes, its drafts), for `GET /admin/logs/ai/{correlation_id}`. Under the operator handle RLS
 * makes another tenant's run simply not found.
 */
export async function runTrace({ tx, tenantId }: TenantContext, correlationId: string) {
  // The tenant filter matters for operators of several tenants: RLS shows them all of theirs,
  // the request acts on one.
  const [run] = await tx
    .select()
    .from(agentRuns)
    .where(and(eq(agentRuns.tenantId, tenantId), eq(agentRuns.correlationId, correlationId)));
  if (!run) return null;
  const related = await tx
    .select({
      id: messages.id,
      sender: messages.sender,
      type: messages.type,
      content: messages.content,
      status: messages.status,
      errorReason: messages.errorReason,
      providerTimestamp: messages.providerTimestamp,
      payload: messages.payload,
    })
    .from(messages)
    .where(and(eq(messages.tenantId, run.tenantId), eq(messages.correlationId, correlationId)))
    .orderBy(messages.providerTimestamp, messages.id);
  const drafts = await tx
    .select()
    .from(agentDrafts)
    .where(and(eq(agentDrafts.tenantId, tenantId), eq(agentDrafts.correlationId, correlationId)))
    .orderBy(agentDrafts.position);
  return { run, messages: related, drafts };
}

/** The latest runs of a conversation (or of the tenant), newest first. */
export async function listRuns(
  { tx, tenantId }: TenantContext,
  options: { conversationId?: string; limit: number },
): Promise<AgentRunRow[]> {
  return tx
    .select()
    .from(agentRuns)
    .where(
      and(
        eq(agentRuns.tenantId, tenantId),
        options.conversationId ? eq(agentRuns.conversationId, options.conversationId) : undefined,
      ),
    )
    .orderBy(desc(agentRuns.startedAt), desc(agentRuns.id))
    .limit(options.limit);
}
