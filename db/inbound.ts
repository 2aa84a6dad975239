import { and, asc, eq, or, type SQL, sql } from 'drizzle-orm';
import type { TenantContext } from './client';
import { setConversationLock } from './conversations';
import { handleOptOutKeywords } from './opt-ins';
import { enqueueJob, type OutboxJob, outboxJobFromJson } from './outbox';
import {
  type Attachment,
  type Channel,
  contacts,
  conversations,
  jobOutbox,
  messages,
  templates,
} from './schema';
import { DEFAULT_SETTINGS, getTenantSettings, type TenantSettings } from './settings';
import { isOneOf } from './sql';
import {
  lockProviderMessage,
  recordStatus,
  recordWatermark,
  type StatusReport,
  type WatermarkReport,
} from './statuses';

/**
 * Who a customer is on a channel. `externalUserId` is the key Meta uses for them: the BSUID when
 * WhatsApp sends one, else the wa_id (phone); the PSID on Messenger; the IGSID on Instagram.
 */
export type ContactIdentity = {
  externalUserId: string;
  phone?: string | null;
  bsuid?: string | null;
  name?: string | null;
  username?: string | null;
};

/** A message a customer sent us, or (`from: 'business'`) one a person sent from Meta's own apps. */
export type MessageItem = {
  kind: 'message';
  providerMessageId: string;
  timestamp: Date;
  contact: ContactIdentity;
  /** `business`: an echo of a message a human sent from the WhatsApp Business app / Page inbox. */
  from: 'customer' | 'business';
  type: string;
  content: string | null;
  attachments: Attachment[];
  payload: Record<string, unknown>;
  replyToProviderMessageId?: string | null;
  /** Customer messages that should get an (debounced) agent turn; false e.g. for standby threads. */
  wantsReply: boolean;
  /** For echoes: why the conversation is locked (shown to operators). */
  lockReason?: string;
};

/** A reaction; `emoji: null` removes the earlier reaction of the same side. */
export type ReactionItem = {
  kind: 'reaction';
  /** WhatsApp's own id for the reaction message, or a stable id derived from the event. */
  providerMessageId: string;
  targetProviderMessageId: string;
  emoji: string | null;
  timestamp: Date;
  contact: ContactIdentity;
  from: 'customer' | 'business';
  payload: Record<string, unknown>;
};

/** A message deleted (Instagram `is_deleted`) or revoked (WhatsApp Business app) after sending. */
export type DeletionItem = {
  kind: 'deletion';
  targetProviderMessageId: string;
  timestamp: Date;
  contact: ContactIdentity;
  by: 'customer' | 'business';
};

/** A message edited after sending (WhatsApp Business app echoes, Messenger message_edits). */
export type EditItem = {
  kind: 'edit';
  targetProviderMessageId: string;
  timestamp: Date;
  contact: ContactIdentity;
  by: 'customer' | 'business';
  content: string | null;
  payload: Record<string, unknown>;
};

export type StatusItem = { kind: 'status'; report: StatusReport };
export type WatermarkItem = { kind: 'watermark'; report: WatermarkReport };

export type InboundItem =
  | MessageItem
  | ReactionItem
  | DeletionItem
  | EditItem
  | StatusItem
  | WatermarkItem;

export type IngestResult = {
  /** Outbox rows written (agent turns, media downloads): publish them after commit. */
  jobs: OutboxJob[];
  /** Things worth knowing that are not failures (an edit for a message we never saw, …). */
  notes: string[];
  counts: { stored: number; duplicates: number; statusesApplied: number; statusesPending: number };
};

/** Attachment kinds the media job can fetch (location and contact cards are data, not files). */
const downloadableKinds = new Set<Attachment['kind']>([
  'image',
  'audio',
  'video',
  'document',
  'sticker',
  'file',
]);

export function isDownloadable(attachment: Attachment): boolean {
  return (
    downloadableKinds.has(attachment.kind) &&
    Boolean(attachment.providerMediaId || attachment.url) &&
    !attachment.storageKey
  );
}

const previewLabels: Record<string, string> = {
  image: 'Photo',
  video: 'Video',
  audio: 'Audio',
  document: 'Document',
  file: 'File',
  sticker: 'Sticker',
  location: 'Location',
  contacts: 'Contact card',
};

/** One line for the chat list: the text, else what kind of thing was sent. */
export function previewOf(item: {
  type: string;
  content: string | null;
  attachments: Attachment[];
}): string {
  const text = item.content?.trim();
  if (text) return text.length > 200 ? `${text.slice(0, 199)}…` : text;
  const first = item.attachments[0];
  if (first) {
    if (first.kind === 'audio' && first.data?.voice === true) return 'Voice message';
    const label = previewLabels[first.kind] ?? 'Attachment';
    return first.filename ? `${label}: ${first.filename}` : label;
  }
  return `[${item.type}]`;
}

type Caches = {
  contacts: Map<string, string>;
  conversations: Map<string, string>;
  /**
   * Read once per ingest: the intake hook and the debounce both need them. Asked for with the
   * first customer message's statements (it needs no answer of theirs), not after them.
   */
  settings?: Promise<TenantSettings>;
};

/** A new customer message that wants a reply, as the customer-message hook sees it. */
export type CustomerMessage = {
  conversationId: string;
  messageId: string;
  channel: Channel;
  type: string;
  content: string | null;
  payload: Record<string, unknown>;
  contact: { externalUserId: string; phone?: string | null; name?: string | null };
  now: Date;
  /** The tenant's settings, already read by this ingest (the hook must not read them again). */
  settings: TenantSettings;
};

/**
 * Called in the ingest transaction for every new customer message that wants a reply, before its
 * debounced turn is scheduled. The agent's intake (functions/agent/intake.ts) is passed in here by
 * the webhook code, so db/ stays below the agent while intake still commits (or not) with the
 * message. Returns the jobs to publish after commit, and `turn: false` when it handled the message
 * itself, so no turn is scheduled for it.
 */
export type CustomerMessageHook = (
  ctx: TenantContext,
  message: CustomerMessage,
) => Promise<{ jobs: OutboxJob[]; turn: boolean }>;

/** What one ingest call carries from item to item. */
type IngestRun = {
  now: Date;
  caches: Caches;
  result: IngestResult;
  onCustomerMessage?: CustomerMessageHook;
};

/**
 * Finds the customer by any key Meta has used for them (BSUID, phone, or the key itself), so a
 * customer first seen by phone and later with a BSUID stays one contact; fills in what is new.
 */
async function upsertContact(
  { tx, tenantId }: TenantContext,
  channel: Channel,
  who: ContactIdentity,
  caches: Caches,
): Promise<string> {
  const cacheKey = `${channel}:${who.externalUserId}`;
  const cached = caches.contacts.get(cacheKey);
  if (cached) return cached;
  const keys = [...new Set([who.externalUserId, who.bsuid, who.phone].filter(nonEmpty))];
  const matches: SQL[] = [isOneOf(contacts.externalUserId, keys)];
  if (who.bsuid) matches.push(eq(contacts.bsuid, who.bsuid));
  if (who.phone) matches.push(eq(contacts.phone, who.phone));
  const [found] = await tx
    .select()
    .from(contacts)
    .where(and(eq(contacts.tenantId, tenantId), eq(contacts.channel, channel), or(...matches)))
    .orderBy(
      sql`case when ${contacts.externalUserId} = ${who.externalUserId} then 0 else 1 end`,
      asc(contacts.createdAt),
    )
    .limit(1);
  const name = who.name?.trim() || null;
  const username = who.username?.trim() || null;
  let id: string;
  if (found) {
    id = found.id;
    const changes = {
      ...(who.phone && !found.phone ? { phone: who.phone } : {}),
      ...(who.bsuid && !found.bsuid ? { bsuid: who.bsuid } : {}),
      ...(name && name !== found.name ? { name } : {}),
      ...(username && username !== found.username ? { username } : {}),
    };
    if (Object.keys(changes).length > 0) {
      await tx
        .update(contacts)
        .set({ ...changes, updatedAt: sql`now()` })
        .where(eq(contacts.id, found.id));
    }
  } else {
    const [row] = await tx
      .insert(contacts)
      .values({
        tenantId,
        channel,
        externalUserId: who.externalUserId,
        phone: who.phone ?? null,
        bsuid: who.bsuid ?? null,
        name,
        username,
      })
      .onConflictDoUpdate({
        target: [contacts.tenantId, contacts.channel, contacts.externalUserId],
        set: {
          name: sql`coalesce(excluded.name, ${contacts.name})`,
          phone: sql`coalesce(${contacts.phone}, excluded.phone)`,
          bsuid: sql`coalesce(${contacts.bsuid}, excluded.bsuid)`,
          updatedAt: sql`now()`,
        },
      })
      .returning({ id: contacts.id });
    if (!row) throw new Error('contact upsert returned nothing');
    id = row.id;
  }
  caches.contacts.set(cacheKey, id);
  return id;
}

/** The thread of this contact on this account, created on first contact (locks the row). */
async function ensureConversation(
  { tx, tenantId }: TenantContext,
  channelAccountId: string,
  contactId: string,
  caches: Caches,
): Promise<string> {
  const cached = caches.conversations.get(contactId);
  if (cached) return cached;
  const [row] = await tx
    .insert(conversations)
    .values({ tenantId, contactId, channelAccountId })
    .onConflictDoUpdate({
      target: [conversations.channelAccountId, conversations.contactId],
      set: { contactId: sql`excluded.contact_id` },
    })
    .returning({ id: conversations.id });
  if (!row) throw new Error('conversation upsert returned nothing');
  caches.conversations.set(contactId, row.id);
  return row.id;
}

function settingsOf(ctx: TenantContext, caches: Caches): Promise<TenantSettings> {
  caches.settings ??= getTenantSettings(ctx);
  return caches.settings;
}

type Account = { id: string; channel: Channel };

/** Inserts unless (account, provider id) exists: the durable dedupe. Returns the new id or null. */
async function insertMessage(
  ctx: TenantContext,
  account: Account,
  conversationId: string,
  row: {
    providerMessageId: string;
    timestamp: Date;
    direction: 'inbound' | 'outbound';
    sender: 'user' | 'operator';
    type: string;
    content: string | null;
    attachments: Attachment[];
    payload: Record<string, unknown>;
    replyToProviderMessageId?: string | null;
  },
): Promise<string | null> {
  const [inserted] = await ctx.tx
    .insert(messages)
    .values({
      tenantId: ctx.tenantId,
      conversationId,
      channelAccountId: account.id,
      direction: row.direction,
      sender: row.sender,
      type: row.type,
      content: row.content,
      attachments: row.attachments,
      payload: row.payload,
      providerMessageId: row.providerMessageId,
      providerTimestamp: row.timestamp,
      // Inbound messages are simply received; an echo was sent by a person from Meta's own app.
      status: row.direction === 'inbound' ? 'received' : 'sent',
      replyToProviderMessageId: row.replyToProviderMessageId ?? null,
    })
    .onConflictDoNothing({ target: [messages.channelAccountId, messages.providerMessageId] })
    .returning({ id: messages.id });
  return inserted?.id ?? null;
}

async function ingestMessage(
  ctx: TenantContext,
  account: Account,
  item: MessageItem,
  run: IngestRun,
) {
  if (item.from === 'business') return ingestEcho(ctx, account, item, run);
  const stored = await ingestCustomerMessage(ctx, account, item, run);
  if (!stored) {
    run.result.counts.duplicates++;
    return;
  }
  run.result.counts.stored++;
  const { contactId, conversationId, messageId, turn } = stored;
  await enqueueDownloads(ctx, messageId, item.attachments, run.result);
  if (stored.contactCreated) {
    await enqueueProfileLookup(ctx, account, contactId, item.contact, run.result);
  }
  // Opt-out keywords (STOP, BAJA, PARAR, إيقاف, …), owned by Outbound (db/opt-ins.ts): the first
  // one is recorded in the ledger, stops outreach and queues one confirmation.
  if (item.type === 'text') {
    const optOut = await handleOptOutKeywords(ctx, {
      contactId,
      conversationId,
      text: item.content,
      now: run.now,
    });
    run.result.jobs.push(...optOut.jobs);
  }
  if (!item.wantsReply) return;
  // The agent's intake (the hook): acts at once on what must not wait for the debounced turn —
  // escalation words hand the conversation to a person, tapped `kind:{id}:action` ids are routed
  // to their action — and marks the message (payload.routing) when its turn must not run.
  if (run.onCustomerMessage) {
    const agent = await run.onCustomerMessage(ctx, {
      conversationId,
      messageId,
      channel: account.channel,
      type: item.type,
      content: item.content,
      payload: item.payload,
      contact: item.contact,
      now: run.now,
      settings: await settingsOf(ctx, run.caches),
    });
    run.result.jobs.push(...agent.jobs);
    if (!agent.turn && turn) {
      // Handled at intake: the window this message opened closes again, and its turn goes.
      await withdrawTurn(ctx, conversationId, turn);
      return;
    }
  }
  if (turn) run.result.jobs.push(turn.job);
}

/** A turn that a customer message scheduled as it was stored: when it is due, and its outbox row. */
type ScheduledTurn = { dueAt: Date; job: OutboxJob };

type StoredMessage = { contactId: string; conversationId: string; messageId: string };

/**
 * A customer's message in one statement (`app.ingest_customer_message`, migration 0020): contact,
 * conversation, the message row, the conversation's preview, 24 h window, unread count and
 * debounce, and the turn's outbox row when this message opened the window. Null when the message
 * is a duplicate. The turn is scheduled before the agent's intake has looked at the message
 * (intake needs the stored ids); intake withdraws it in the rare case it handles the message.
 */
async function ingestCustomerMessage(
  ctx: TenantContext,
  account: Account,
  item: MessageItem,
  { caches, now }: IngestRun,
): Promise<(StoredMessage & { contactCreated: boolean; turn: ScheduledTurn | null }) | null> {
  const who = item.contact;
  const input = {
    tenant_id: ctx.tenantId,
    channel_account_id: account.id,
    channel: account.channel,
    contact: {
      external_user_id: who.externalUserId,
      phone: who.phone ?? null,
      bsuid: who.bsuid ?? null,
      name: who.name ?? null,
      username: who.username ?? null,
    },
    message: {
      provider_message_id: item.providerMessageId,
      timestamp: item.timestamp.toISOString(),
      type: item.type,
      content: item.content,
      attachments: item.attachments,
      payload: item.payload,
      reply_to_provider_message_id: item.replyToProviderMessageId ?? null,
    },
    preview: previewOf(item),
    turn: item.wantsReply
      ? {
          now: now.toISOString(),
          lost_before: new Date(now.getTime() - LOST_TURN_MS).toISOString(),
          flow_control_key: agentTurnFlowControlKey(ctx.tenantId),
          default_reply_mode: DEFAULT_SETTINGS.replyMode,
          default_debounce_seconds: DEFAULT_SETTINGS.debounceSeconds,
        }
      : null,
  };
  const [row] = await ctx.tx.execute<{ ingested: IngestedCustomerMessage }>(
    sql`select app.ingest_customer_message(${JSON.stringify(input)}::jsonb) as ingested`,
  );
  const ingested = row?.ingested;
  if (!ingested) throw new Error('app.ingest_customer_message returned nothing');
  caches.contacts.set(`${account.channel}:${who.externalUserId}`, ingested.contact_id);
  caches.conversations.set(ingested.contact_id, ingested.conversation_id);
  if (!ingested.message_id) return null;
  return {
    contactId: ingested.contact_id,
    conversationId: ingested.conversation_id,
    messageId: ingested.message_id,
    contactCreated: ingested.contact_created,
    turn:
      ingested.due_at && ingested.job
        ? { dueAt: new Date(ingested.due_at), job: outboxJobFromJson(ingested.job) }
        : null,
  };
}

/** What `app.ingest_customer_message` answers (JSON: ids as text, times as ISO text). */
type IngestedCustomerMessage = {
  contact_id: string;
  contact_created: boolean;
  conversation_id: string;
  message_id: string | null;
  due_at: string | null;
  job: Record<string, unknown> | null;
};

/** Undoes a scheduled turn inside the same transaction: the due marker and the outbox row. */
async function withdrawTurn(ctx: TenantContext, conversationId: string, turn: ScheduledTurn) {
  await Promise.all([
    closeTurnWindow(ctx, conversationId, { dueAt: turn.dueAt }),
    ctx.tx.delete(jobOutbox).where(eq(jobOutbox.id, turn.job.id)),
  ]);
}

/**
 * A message a person sent from Meta's own apps (WhatsApp Business app, Page inbox): stored as an
 * operator's message, and the bot stays quiet in the thread (advanceForEcho).
 */
async function ingestEcho(ctx: TenantContext, account: Account, item: MessageItem, run: IngestRun) {
  // An echo may be of our own send, whose provider id the send job is recording right now:
  // under the same lock as `recordSent`, one of the two sees the other's row (and recordSent
  // merges this echo into our message instead of failing on the unique provider id). Taken
  // before any row lock, as recordSent does.
  await lockProviderMessage(ctx, {
    channelAccountId: account.id,
    providerMessageId: item.providerMessageId,
  });
  const contactId = await upsertContact(ctx, account.channel, item.contact, run.caches);
  const conversationId = await ensureConversation(ctx, account.id, contactId, run.caches);
  const messageId = await insertMessage(ctx, account, conversationId, {
    providerMessageId: item.providerMessageId,
    timestamp: item.timestamp,
    direction: 'outbound',
    sender: 'operator',
    type: item.type,
    content: item.content,
    attachments: item.attachments,
    payload: item.payload,
    replyToProviderMessageId: item.replyToProviderMessageId,
  });
  if (!messageId) {
    run.result.counts.duplicates++;
    return;
  }
  run.result.counts.stored++;
  await advanceForEcho(ctx, item, conversationId, run.now);
  await enqueueDownloads(ctx, messageId, item.attachments, run.result);
}

/** Every "latest" field moves only forward in provider time: Meta does not deliver in order. */
function latestFields(item: MessageItem) {
  const ts = timestampParam(item.timestamp);
  return {
    ts,
    latest: {
      lastMessagePreview: sql`case when ${conversations.lastMessageAt} is null or ${conversations.lastMessageAt} <= ${ts} then ${previewOf(item)} else ${conversations.lastMessagePreview} end`,
      lastMessageAt: sql`greatest(${conversations.lastMessageAt}, ${ts})`,
      updatedAt: sql`now()`,
    },
  };
}

/**
 * A person answered from Meta's app: the bot must stay quiet in this thread. An existing lock (an
 * operator's) is kept as it is; a new one goes through the lock function, so the lock history
 * says who locked it and why, like every other lock.
 */
async function advanceForEcho(
  ctx: TenantContext,
  item: MessageItem,
  conversationId: string,
  now: Date,
) {
  const [conversation] = await ctx.tx
    .update(conversations)
    .set(latestFields(item).latest)
    .where(eq(conversations.id, conversationId))
    .returning({ isLocked: conversations.isLocked });
  if (conversation && !conversation.isLocked) {
    await setConversationLock(ctx, {
      conversationId,
      locked: true,
      source: 'echo',
      reason: item.lockReason ?? 'A team member replied outside Switchboard.',
      now,
    });
  }
}

/** A media-download job per attachment the job can fetch (the webhook never downloads). */
async function enqueueDownloads(
  ctx: TenantContext,
  messageId: string,
  attachments: Attachment[],
  result: IngestResult,
) {
  for (const [index, attachment] of attachments.entries()) {
    if (!isDownloadable(attachment)) continue;
    const job = await enqueueJob(ctx, {
      kind: 'media-download',
      payload: { messageId, index },
      dedupeKey: `media-download:${messageId}:${index}`,
    });
    if (job) result.jobs.push(job);
  }
}

/**
 * Messenger and Instagram webhooks name the customer only by PSID / IGSID: their name is looked up
 * by the contact-profile job, after the response (never in the webhook request). Asked when the
 * contact is made, so it costs a returning customer's webhook nothing; once per contact ever (the
 * dedupe key), so a lookup Meta refuses is not asked again.
 */
async function enqueueProfileLookup(
  ctx: TenantContext,
  account: Account,
  contactId: string,
  who: ContactIdentity,
  result: IngestResult,
) {
  // WhatsApp webhooks carry the name; a widget visitor gives theirs (or not) in the widget.
  if (account.channel === 'whatsapp' || account.channel === 'web' || who.name?.trim()) return;
  const job = await enqueueJob(ctx, {
    kind: 'contact-profile',
    payload: { contactId, channelAccountId: account.id },
    dedupeKey: `contact-profile:${contactId}`,
  });
  if (job) result.jobs.push(job);
}

/** A turn marker older than this was lost (its job gave up): the next message schedules anew. */
const LOST_TURN_MS = 5 * 60_000;

/** The flow-control key of a tenant's agent turns: at most AGENT_TURN_PARALLELISM run at once. */
export function agentTurnFlowControlKey(tenantId: string) {
  return `agent-turn-${tenantId}`;
}

/** When a turn scheduled now is due, and before when a pending marker counts as lost. */
type TurnWindow = { dueAt: Date; lostBefore: Date };

/**
 * The debounce window a customer message opens or joins; null when the reply mode is off (no
 * turn is scheduled then). Our clock, not the provider's: a late-delivered message still waits
 * the full debounce.
 */
async function turnWindow(ctx: TenantContext, { caches, now }: IngestRun) {
  const settings = await settingsOf(ctx, caches);
  if (settings.replyMode === 'off') return null;
  return {
    dueAt: new Date(now.getTime() + settings.debounceSeconds * 1000),
    lostBefore: new Date(now.getTime() - LOST_TURN_MS),
  };
}

/**
 * One agent turn per conversation per debounce window. The first customer message of a window
 * sets the conversation's due marker and enqueues the turn; later ones find it set and are read
 * by that turn, which clears the marker when it starts (db/agent.ts openTurn). Nothing is
 * scheduled when the bot cannot answer: the bot is disabled for the conversation or it is locked
 * (and, in turnWindow, the reply mode is off).
 */
function dueMarker({ dueAt, lostBefore }: TurnWindow): SQL {
  const c = conversations;
  return sql`case when not ${c.isLocked} and ${c.botEnabled}
    and (${c.agentTurnDueAt} is null or ${c.agentTurnDueAt} < ${timestampParam(lostBefore)})
    then ${timestampParam(dueAt)} else ${c.agentTurnDueAt} end`;
}

/** Whether the update that set `dueMarker` opened the window (two messages of one batch share it). */
function openedBy({ dueAt }: Pick<TurnWindow, 'dueAt'>): SQL<boolean> {
  return sql<boolean>`${conversations.agentTurnDueAt} = ${timestampParam(dueAt)}`;
}

async function closeTurnWindow(
  ctx: TenantContext,
  conversationId: string,
  window: Pick<TurnWindow, 'dueAt'>,
) {
  await ctx.tx
    .update(conversations)
    .set({ agentTurnDueAt: null })
    .where(and(eq(conversations.id, conversationId), openedBy(window)));
}

/** The opened window's turn, flow-controlled per tenant (deduplicated per window). */
async function enqueueTurn(
  ctx: TenantContext,
  trigger: { conversationId: string; messageId: string },
  { dueAt }: TurnWindow,
  result: IngestResult,
) {
  const job = await enqueueJob(ctx, {
    kind: 'agent-turn',
    payload: { conversationId: trigger.conversationId, triggerMessageId: trigger.messageId },
    notBefore: dueAt,
    // The same key as app.ingest_customer_message's (migration 0020): one turn per window.
    dedupeKey: `agent-turn:${trigger.conversationId}:${dueAt.getTime()}`,
    // The parallelism comes from AGENT_TURN_PARALLELISM when the job is published.
    flowControl: { key: agentTurnFlowControlKey(ctx.tenantId) },
  });
  if (job) result.jobs.push(job);
}

/** A reaction that wants an answer: the same window, set by a statement of its own. */
async function scheduleReactionTurn(
  ctx: TenantContext,
  trigger: { conversationId: string; messageId: string },
  run: IngestRun,
) {
  const window = await turnWindow(ctx, run);
  if (!window) return;
  const [row] = await ctx.tx
    .update(conversations)
    .set({ agentTurnDueAt: dueMarker(window) })
    .where(eq(conversations.id, trigger.conversationId))
    .returning({ opened: openedBy(window) });
  if (row?.opened) await enqueueTurn(ctx, trigger, window, run.result);
}

/** Where a side's reaction lives on the reacted-to message: `payload.reactions.customer`. */
async function ingestReaction(
  ctx: TenantContext,
  account: Account,
  item: ReactionItem,
  run: IngestRun,
) {
  const { caches, result } = run;
  const contactId = await upsertContact(ctx, account.channel, item.contact, caches);
  const conversationId = await ensureConversation(ctx, account.id, contactId, caches);
  const fromCustomer = item.from === 'customer';
  const messageId = await insertMessage(ctx, account, conversationId, {
    providerMessageId: item.providerMessageId,
    timestamp: item.timestamp,
    direction: fromCustomer ? 'inbound' : 'outbound',
    sender: fromCustomer ? 'user' : 'operator',
    type: 'reaction',
    content: item.emoji,
    attachments: [],
    payload: {
      ...item.payload,
      reaction: { target: item.targetProviderMessageId, emoji: item.emoji },
    },
    replyToProviderMessageId: item.targetProviderMessageId,
  });
  if (!messageId) {
    result.counts.duplicates++;
    return;
  }
  result.counts.stored++;
  const side = fromCustomer ? 'customer' : 'business';
  const value = { emoji: item.emoji, at: item.timestamp.toISOString() };
  // The newest reaction of a side wins, whatever order they arrive in.
  const updated = await ctx.tx
    .update(messages)
    .set({
      payload: sql`jsonb_set(${messages.payload}, '{reactions}', coalesce(${messages.payload}->'reactions', '{}'::jsonb) || jsonb_build_object(${side}::text, ${JSON.stringify(value)}::jsonb))`,
    })
    .where(
      and(
        eq(messages.channelAccountId, account.id),
        eq(messages.providerMessageId, item.targetProviderMessageId),
        sql`coalesce((${messages.payload}->'reactions'->${side}::text->>'at')::timestamptz, '-infinity') <= ${timestampParam(item.timestamp)}`,
      ),
    )
    .returning({ id: messages.id });
  const [target] = updated;
  if (!target) {
    result.notes.push(
      `reaction ${item.providerMessageId}: target ${item.targetProviderMessageId} is not stored (or has a newer reaction); kept as its own message`,
    );
    return;
  }
  // A customer's 👍 on something we said (a proposal, a question) is an answer: the agent gets a
  // debounced turn, marked so it supersedes and is superseded like a message (db/agent.ts).
  // Removing a reaction, or reacting to their own message, asks nothing.
  if (fromCustomer && item.emoji && (await isOurMessage(ctx, target.id))) {
    await ctx.tx
      .update(messages)
      .set({ payload: sql`${messages.payload} || '{"routing":{"turn":true}}'::jsonb` })
      .where(eq(messages.id, messageId));
    await scheduleReactionTurn(ctx, { conversationId, messageId }, run);
  }
}

async function isOurMessage({ tx }: TenantContext, messageId: string): Promise<boolean> {
  const [row] = await tx
    .select({ direction: messages.direction })
    .from(messages)
    .where(eq(messages.id, messageId));
  return row?.direction === 'outbound';
}

async function ingestDeletion(
  ctx: TenantContext,
  account: Account,
  item: DeletionItem,
  caches: Caches,
) {
  const marker = { by: item.by, at: item.timestamp.toISOString() };
  // A customer who deletes a message takes its words back: we drop the text and keep the fact.
  const updated = await ctx.tx
    .update(messages)
    .set({
      ...(item.by === 'customer' ? { content: null } : {}),
      payload: sql`${messages.payload} || jsonb_build_object('deleted', ${JSON.stringify(marker)}::jsonb)`,
    })
    .where(
      and(
        eq(messages.channelAccountId, account.id),
        eq(messages.providerMessageId, item.targetProviderMessageId),
      ),
    )
    .returning({ id: messages.id });
  if (updated.length > 0) return;
  // The deletion overtook its message: keep a tombstone under the message's id, so the message
  // arriving later is a duplicate and never shows its deleted content.
  const contactId = await upsertContact(ctx, account.channel, item.contact, caches);
  const conversationId = await ensureConversation(ctx, account.id, contactId, caches);
  const fromCustomer = item.by === 'customer';
  await insertMessage(ctx, account, conversationId, {
    providerMessageId: item.targetProviderMessageId,
    timestamp: item.timestamp,
    direction: fromCustomer ? 'inbound' : 'outbound',
    sender: fromCustomer ? 'user' : 'operator',
    type: 'deleted',
    content: null,
    attachments: [],
    payload: { deleted: marker },
  });
}

async function ingestEdit(
  ctx: TenantContext,
  account: Account,
  item: EditItem,
  result: IngestResult,
) {
  const edited = { by: item.by, at: item.timestamp.toISOString() };
  const updated = await ctx.tx
    .update(messages)
    .set({
      content: item.content,
      payload: sql`${messages.payload} || ${JSON.stringify({ ...item.payload, edited })}::jsonb`,
    })
    .where(
      and(
        eq(messages.channelAccountId, account.id),
        eq(messages.providerMessageId, item.targetProviderMessageId),
        // Two edits out of order: the later one stays.
        sql`coalesce((${messages.payload}->'edited'->>'at')::timestamptz, '-infinity') <= ${timestampParam(item.timestamp)}`,
      ),
    )
    .returning({ id: messages.id });
  if (updated.length === 0) {
    result.notes.push(
      `edit of ${item.targetProviderMessageId}: no such message (or a newer edit); kept in the raw event only`,
    );
  }
}

const kindOrder: Record<InboundItem['kind'], number> = {
  message: 0,
  reaction: 1,
  deletion: 2,
  edit: 3,
  status: 4,
  watermark: 5,
};

function lockOrderKey(item: InboundItem): string {
  switch (item.kind) {
    case 'status':
      return item.report.providerMessageId;
    case 'watermark':
      return item.report.recipientId;
    default:
      return item.contact.externalUserId;
  }
}

/**
 * Ingests everything one webhook said about one channel account, in the caller's tenant
 * transaction: messages (duplicates are no-ops), contacts, conversations, echoes, reactions,
 * deletions, edits, statuses, and the jobs they need (agent turns, media downloads) in the outbox.
 *
 * Items are applied messages first (so a reaction or status in the same batch finds its target),
 * each kind in a stable order of customer / message id, so concurrent deliveries lock rows in the
 * same order and do not deadlock each other.
 */
export async function ingestAccountItems(
  ctx: TenantContext,
  account: Account,
  items: InboundItem[],
  options: { now: Date; onCustomerMessage?: CustomerMessageHook },
): Promise<IngestResult> {
  const result: IngestResult = {
    jobs: [],
    notes: [],
    counts: { stored: 0, duplicates: 0, statusesApplied: 0, statusesPending: 0 },
  };
  const caches: Caches = { contacts: new Map(), conversations: new Map() };
  const run: IngestRun = { ...options, caches, result };
  const ordered = [...items].sort(ingestOrder);
  if (ordered.some((item) => item.kind === 'message' && item.from === 'customer')) {
    // Sent now, with the first message's statements; awaited where it is needed.
    settingsOf(ctx, caches).catch(() => {});
  }
  for (const item of ordered) {
    switch (item.kind) {
      case 'message':
        await ingestMessage(ctx, account, item, run);
        break;
      case 'reaction':
        await ingestReaction(ctx, account, item, run);
        break;
      case 'deletion':
        await ingestDeletion(ctx, account, item, caches);
        break;
      case 'edit':
        await ingestEdit(ctx, account, item, result);
        break;
      case 'status': {
        const outcome = await recordStatus(ctx, account.id, item.report);
        if (outcome === 'applied') result.counts.statusesApplied++;
        else if (outcome === 'pending') result.counts.statusesPending++;
        else result.counts.duplicates++;
        break;
      }
      case 'watermark':
        await recordWatermark(ctx, account.id, item.report);
        break;
    }
  }
  return result;
}

/** Messages first, then what refers to them; within a kind, by customer / message id, then time. */
export function ingestOrder(a: InboundItem, b: InboundItem): number {
  return (
    kindOrder[a.kind] - kindOrder[b.kind] ||
    lockOrderKey(a).localeCompare(lockOrderKey(b)) ||
    timeOf(a) - timeOf(b)
  );
}

function timeOf(item: InboundItem): number {
  return item.kind === 'status' || item.kind === 'watermark'
    ? item.report.timestamp.getTime()
    : item.timestamp.getTime();
}

/**
 * A Date as a SQL timestamptz. postgres.js runs with `fetch_types: false`, so a Date bound into raw
 * SQL (outside a typed column) cannot be serialised; an ISO string with a cast can.
 */
export function timestampParam(date: Date): SQL {
  return sql`${date.toISOString()}::timestamptz`;
}

function nonEmpty(value: string | null | undefined): value is string {
  return typeof value === 'string' && value.length > 0;
}

export type TemplateStatusUpdate = {
  wabaId: string;
  providerTemplateId: string;
  name?: string | null;
  language?: string | null;
  /** Meta's event: APPROVED, REJECTED, PAUSED, DISABLED, FLAGGED, REINSTATED, … */
  event: string;
  reason?: string | null;
};

/**
 * Keeps a synced template's status current. `REINSTATED` means approved again. Returns how many
 * template rows changed (0 when the template was never synced: the next sync brings it).
 */
export async function applyTemplateStatus(
  { tx }: TenantContext,
  update: TemplateStatusUpdate,
): Promise<number> {
  const status = update.event === 'REINSTATED' ? 'APPROVED' : update.event;
  const reason = update.reason && update.reason !== 'NONE' ? update.reason : null;
  const byId = eq(templates.providerTemplateId, update.providerTemplateId);
  const byName =
    update.name && update.language
      ? and(eq(templates.name, update.name), eq(templates.language, update.language))
      : undefined;
  const changed = await tx
    .update(templates)
    .set({ status, statusReason: reason, updatedAt: sql`now()` })
    .where(and(eq(templates.wabaId, update.wabaId), byName ? or(byId, byName) : byId))
    .returning({ id: templates.id });
  return changed.length;
}
