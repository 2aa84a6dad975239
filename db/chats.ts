import {
  and,
  asc,
  desc,
  eq,
  gt,
  ilike,
  isNotNull,
  isNull,
  lt,
  ne,
  or,
  type SQL,
  sql,
} from 'drizzle-orm';
import { type Pipelined, pipelined, runPipelined, type TenantContext } from './client';
import {
  agentDrafts,
  type Channel,
  channelAccounts,
  contacts,
  conversations,
  messages,
  tenantSettings,
} from './schema';

export type ChatSummaryRow = {
  id: string;
  contactId: string;
  phone: string | null;
  name: string | null;
  username: string | null;
  externalUserId: string;
  lastMessagePreview: string | null;
  lastMessageAt: Date | null;
  lastInboundAt: Date | null;
  channel: Channel;
  channelAccountId: string;
  accountName: string;
  unreadCount: number;
  isLocked: boolean;
  botEnabled: boolean;
  lockedBy: string | null;
  lockReason: string | null;
  bsuid: string | null;
  labels: string[];
  assignedUserId: string | null;
  /**
   * The escalation contact (settings) whose WhatsApp number this chat is with: a staff chat (the
   * agent's approval cards and hand-offs go there), not a customer's; null for customers.
   */
  staffName: string | null;
  /** Who wrote the newest message of the thread; null before the first one. */
  lastSender: MessageSender | null;
  /** The AI's drafts waiting for an operator's approval. */
  pendingDrafts: number;
  /** Full-precision `last_message_at` as Postgres prints it, for the keyset cursor. */
  position: string | null;
};

type MessageSender = (typeof messages.$inferSelect)['sender'];

/** position and id of the last conversation of the previous page. */
export type ChatListCursor = { position: string | null; id: string };

/**
 * The inbox list, most recent first: keyset-paged on (last_message_at desc nulls last, id desc),
 * the order of the conversations_tenant_recent index (conversations_tenant_recent_locked for
 * `human_only`). RLS limits rows to the operator's tenants; the tenant filter picks the one this
 * request acts on.
 *
 * After a cursor, conversations with messages come first, then those without any (null
 * last_message_at): two index ranges, read one after the other, because a single predicate
 * "before the cursor, or null" would make the index scan from the top and filter every row above
 * the cursor (a deep page cost as much as reading the whole list up to it). Both ranges are asked
 * for at once (one round trip); the second is read from only when the first runs out.
 */
export function chatSummaries(
  { tx, tenantId }: TenantContext,
  options: {
    humanFilter: 'all' | 'human_only' | 'bot_only';
    channel?: Channel;
    limit: number;
    after?: ChatListCursor;
    /** Search: part of the customer's name, username or phone, or of the last message's preview. */
    search?: string;
    /** Only conversations carrying this label. */
    label?: string;
    /** Only conversations assigned to this operator, or (null) to nobody. */
    assignee?: string | null;
  },
): Pipelined<ChatSummaryRow[]> {
  const search = options.search === undefined ? undefined : searchCondition(options.search);
  const page = (range: SQL | undefined, limit: number) =>
    tx
      .select({
        id: conversations.id,
        contactId: conversations.contactId,
        phone: contacts.phone,
        name: contacts.name,
        username: contacts.username,
        externalUserId: contacts.externalUserId,
        lastMessagePreview: conversations.lastMessagePreview,
        lastMessageAt: conversations.lastMessageAt,
        lastInboundAt: conversations.lastInboundAt,
        channel: channelAccounts.channel,
        channelAccountId: channelAccounts.id,
        accountName: channelAccounts.displayName,
        unreadCount: conversations.unreadCount,
        isLocked: conversations.isLocked,
        botEnabled: conversations.botEnabled,
        lockedBy: conversations.lockedBy,
        lockReason: conversations.lockReason,
        bsuid: contacts.bsuid,
        labels: conversations.labels,
        assignedUserId: conversations.assignedUserId,
        // One probe of messages_conversation_time (read backwards) per listed row; a column kept
        // on the conversation would need every write path (ingest, echoes, sends) to set it.
        lastSender: sql<MessageSender | null>`(select ${messages.sender} from ${messages}
          where ${messages.conversationId} = ${conversations.id}
          order by ${messages.providerTimestamp} desc, ${messages.receivedAt} desc, ${messages.id} desc
          limit 1)`,
        // Digits against digits, as db/agent.ts ensureStaffConversation finds a staff contact.
        staffName: sql<string | null>`(select e->>'name'
          from ${tenantSettings} ts, jsonb_array_elements(ts.escalation_contacts) e
          where ts.tenant_id = ${conversations.tenantId} and ${channelAccounts.channel} = 'whatsapp'
            and regexp_replace(coalesce(e->>'whatsapp', ''), '\\D', '', 'g')
              in (${contacts.phone}, ${contacts.externalUserId})
          limit 1)`,
        // One probe of agent_drafts_conversation per listed row: the "drafts waiting" badge.
        pendingDrafts: sql<number>`(select count(*)::int from ${agentDrafts}
          where ${agentDrafts.conversationId} = ${conversations.id}
            and ${agentDrafts.status} = 'pending')`,
        position: sql<string | null>`${conversations.lastMessageAt}::text`,
      })
      .from(conversations)
      .innerJoin(contacts, eq(contacts.id, conversations.contactId))
      .innerJoin(channelAccounts, eq(channelAccounts.id, conversations.channelAccountId))
      .where(
        and(
          eq(conversations.tenantId, tenantId),
          // Literal, not a bound boolean: a generic plan must still see it matches the partial
          // index conversations_tenant_recent_locked.
          options.humanFilter === 'human_only' ? sql`${conversations.isLocked}` : undefined,
          options.humanFilter === 'bot_only' ? sql`not ${conversations.isLocked}` : undefined,
          options.channel ? eq(channelAccounts.channel, options.channel) : undefined,
          search,
          // jsonb containment, checked on rows read in list order (docs/performance.md, "Filters").
          options.label === undefined
            ? undefined
            : sql`${conversations.labels} @> jsonb_build_array(${options.label}::text)`,
          options.assignee === undefined
            ? undefined
            : options.assignee === null
              ? isNull(conversations.assignedUserId)
              : eq(conversations.assignedUserId, options.assignee),
          range,
        ),
      )
      .orderBy(sql`${conversations.lastMessageAt} desc nulls last`, desc(conversations.id))
      .limit(limit);

  const after = options.after;
  if (!after) return pipelined([page(undefined, options.limit)], ([rows]) => rows);
  const withoutMessages = isNull(conversations.lastMessageAt);
  if (after.position === null) {
    return pipelined(
      [page(and(withoutMessages, lt(conversations.id, after.id)), options.limit)],
      ([rows]) => rows,
    );
  }
  return pipelined(
    [
      // A row comparison, which the index takes as the start of its range.
      page(
        sql`(${conversations.lastMessageAt}, ${conversations.id}) < (${after.position}::timestamptz, ${after.id}::uuid)`,
        options.limit,
      ),
      // The undated tail, used only by the page where the dated conversations run out.
      page(withoutMessages, options.limit),
    ],
    ([dated, undated]) => [...dated, ...undated].slice(0, options.limit),
  );
}

/**
 * Case-insensitive substring match on the contact's name, username and phone and the conversation's
 * last-message preview. Checked on rows read in list order (no index: docs/performance.md, "Search").
 * A query that looks like a phone number ("+34 600-111") also matches the digits alone.
 */
function searchCondition(search: string): SQL | undefined {
  const pattern = `%${escapeLike(search)}%`;
  const digits = search.replace(/\D/g, '');
  const phoneLike = /^[\d\s+().-]+$/.test(search) && digits.length > 0;
  return or(
    ilike(contacts.name, pattern),
    ilike(contacts.username, pattern),
    ilike(contacts.phone, phoneLike ? `%${digits}%` : pattern),
    ilike(conversations.lastMessagePreview, pattern),
  );
}

/** LIKE's wildcards and its escape character (a backslash, Postgres's default) taken literally. */
function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (ch) => `\\${ch}`);
}

export function listChatSummaries(
  ctx: TenantContext,
  options: Parameters<typeof chatSummaries>[1],
): Promise<ChatSummaryRow[]> {
  return runPipelined(chatSummaries(ctx, options));
}

export type MessageRow = typeof messages.$inferSelect & {
  /** Full-precision `updated_at`, for the delta cursor. */
  changedAt: string;
};

export type MessageDeltaCursor = { changedAt: string; id: string | null };

/**
 * How long a write may take between stamping `updated_at` (the trigger in migration 0006) and
 * committing. A delta read hands out a cursor this far behind its own clock, so a row that was
 * stamped before the read but committed after it is still picked up by the next read; clients
 * upsert rows by id, so seeing a row again is harmless.
 */
export const DELTA_SAFETY_SECONDS = 10;

/**
 * Messages of one conversation, for the inbox's delta sync:
 * - without `after`: the newest `limit` messages (oldest first), or with `before` the `limit`
 *   messages just before that cursor, and the cursor for the page before those;
 * - with `after`: every message created or changed since the cursor (new messages, statuses,
 *   reactions, edits, downloaded media), paged by change order.
 * Returns null when the conversation does not exist for this operator (RLS), like a missing id.
 *
 * Three statements sent together (one round trip): the conversation, the clock and the messages;
 * the messages of a conversation the operator cannot see are none (RLS), like a missing one.
 */
export function conversationMessages(
  { tx, tenantId }: TenantContext,
  conversationId: string,
  options: { limit: number; after?: MessageDeltaCursor; before?: MessageThreadCursor },
): Pipelined<MessagePage | null> {
  const conversation = tx
    .select({ id: conversations.id })
    .from(conversations)
    .where(and(eq(conversations.id, conversationId), eq(conversations.tenantId, tenantId)));
  const after = options.after;
  // The cursor never moves backwards, and never closer to "now" than the safety margin.
  const clock = tx.execute<{ horizon: string }>(
    sql`select greatest(
          clock_timestamp() - make_interval(secs => ${DELTA_SAFETY_SECONDS}),
          ${after?.changedAt ?? null}::timestamptz)::text as horizon`,
  );
  const horizonOf = (rows: Iterable<{ horizon: string }>): MessageDeltaCursor => {
    const [row] = [...rows];
    if (!row) throw new Error('clock query returned nothing');
    return { changedAt: row.horizon, id: null };
  };
  const columns = {
    ...messageColumns(),
    changedAt: sql<string>`${messages.updatedAt}::text`.as('changed_at'),
  };
  if (!after) {
    // Before a cursor: a row comparison, so the cursor is where the messages_conversation_time
    // range starts (read backwards), however far back the page is.
    const before = options.before;
    const older = before
      ? sql`(${messages.providerTimestamp}, ${messages.receivedAt}, ${messages.id}) < (${before.providerTimestamp}::timestamptz, ${before.receivedAt}::timestamptz, ${before.id}::uuid)`
      : undefined;
    const newest = tx
      .select({
        ...columns,
        // Full precision, as Postgres prints it: received_at has microseconds.
        providerTime: sql<string>`${messages.providerTimestamp}::text`,
        receivedTime: sql<string>`${messages.receivedAt}::text`,
      })
      .from(messages)
      .where(and(eq(messages.conversationId, conversationId), older))
      // WhatsApp times are whole seconds: ties go to arrival order, then id.
      .orderBy(desc(messages.providerTimestamp), desc(messages.receivedAt), desc(messages.id))
      // One more than shown: whether older ones exist.
      .limit(options.limit + 1);
    return pipelined([conversation, clock, newest], ([found, now, rows]) => {
      if (found.length === 0) return null;
      const shown = rows.slice(0, options.limit);
      const oldest = shown.at(-1);
      return {
        rows: shown.map(({ providerTime: _p, receivedTime: _r, ...row }) => row).reverse(),
        nextCursor: horizonOf(now),
        hasMore: false,
        olderCursor:
          rows.length > options.limit && oldest
            ? {
                providerTimestamp: oldest.providerTime,
                receivedAt: oldest.receivedTime,
                id: oldest.id,
              }
            : null,
      };
    });
  }
  // A row comparison, so the cursor is where the messages_conversation_changes range starts: a
  // poll when nothing changed reads one index entry, however long the thread.
  const since =
    after.id === null
      ? gt(messages.updatedAt, sql`${after.changedAt}::timestamptz`)
      : sql`(${messages.updatedAt}, ${messages.id}) > (${after.changedAt}::timestamptz, ${after.id}::uuid)`;
  const changedPage = tx
    .select(columns)
    .from(messages)
    .where(and(eq(messages.conversationId, conversationId), since))
    .orderBy(asc(messages.updatedAt), asc(messages.id))
    .limit(options.limit + 1)
    .as('changed_page');
  // The page's columns as the outer query sees them ("changed_page"."id", …).
  const pageColumns = Object.fromEntries(
    Object.keys(columns).map((key) => [key, changedPage[key as keyof typeof columns]]),
  ) as { [K in keyof typeof columns]: (typeof changedPage)[K] };
  const changes = tx
    .select({
      ...pageColumns,
      // Conversation order as the first load has it (provider time, then arrival, then id), ranked
      // by Postgres: received_at has microseconds, which a JS Date would round to milliseconds.
      // Ranked within the page only, after the limit: ranking the whole change set first would
      // read every changed message.
      position: sql<number>`(row_number() over (order by ${changedPage.providerTimestamp}, ${changedPage.receivedAt}, ${changedPage.id}))::int`,
    })
    .from(changedPage)
    .orderBy(asc(changedPage.updatedAt), asc(changedPage.id));
  return pipelined([conversation, clock, changes], ([found, now, changed]) => {
    if (found.length === 0) return null;
    const hasMore = changed.length > options.limit;
    const page = hasMore ? changed.slice(0, options.limit) : changed;
    const last = page.at(-1);
    const nextCursor =
      hasMore && last ? { changedAt: last.changedAt, id: last.id } : horizonOf(now);
    // Paged in change order, shown in conversation order.
    page.sort((a, b) => a.position - b.position);
    return {
      rows: page.map(({ position: _position, ...row }) => row),
      nextCursor,
      hasMore,
      olderCursor: null,
    };
  });
}

/** Where a page of a thread starts, in conversation order: for the page before it. */
export type MessageThreadCursor = { providerTimestamp: string; receivedAt: string; id: string };

export type MessagePage = {
  rows: MessageRow[];
  nextCursor: MessageDeltaCursor;
  hasMore: boolean;
  /** The page before this one's oldest message; null when it is the first of the thread. */
  olderCursor: MessageThreadCursor | null;
};

export function listConversationMessages(
  ctx: TenantContext,
  conversationId: string,
  options: { limit: number; after?: MessageDeltaCursor; before?: MessageThreadCursor },
): Promise<MessagePage | null> {
  return runPipelined(conversationMessages(ctx, conversationId, options));
}

function messageColumns() {
  return {
    id: messages.id,
    tenantId: messages.tenantId,
    conversationId: messages.conversationId,
    channelAccountId: messages.channelAccountId,
    direction: messages.direction,
    sender: messages.sender,
    type: messages.type,
    content: messages.content,
    attachments: messages.attachments,
    payload: messages.payload,
    providerMessageId: messages.providerMessageId,
    providerTimestamp: messages.providerTimestamp,
    receivedAt: messages.receivedAt,
    status: messages.status,
    errorCode: messages.errorCode,
    errorReason: messages.errorReason,
    correlationId: messages.correlationId,
    replyToProviderMessageId: messages.replyToProviderMessageId,
    updatedAt: messages.updatedAt,
  };
}

/** Marks a conversation read; false when it does not exist for this operator. */
export async function markConversationRead(
  { tx, tenantId }: TenantContext,
  conversationId: string,
): Promise<boolean> {
  const rows = await tx
    .update(conversations)
    .set({ unreadCount: 0, updatedAt: sql`now()` })
    .where(and(eq(conversations.id, conversationId), eq(conversations.tenantId, tenantId)))
    .returning({ id: conversations.id });
  return rows.length > 0;
}

/**
 * The newest customer message of a WhatsApp conversation that Meta knows (has a wamid): the one an
 * operator's read marks read on WhatsApp (earlier ones are marked with it). Null on other channels.
 */
export async function latestInboundWhatsAppMessageId(
  { tx, tenantId }: TenantContext,
  conversationId: string,
): Promise<string | null> {
  const [row] = await tx
    .select({ id: messages.id })
    .from(messages)
    .innerJoin(channelAccounts, eq(channelAccounts.id, messages.channelAccountId))
    .where(
      and(
        eq(messages.conversationId, conversationId),
        eq(messages.tenantId, tenantId),
        eq(messages.direction, 'inbound'),
        eq(channelAccounts.channel, 'whatsapp'),
        isNotNull(messages.providerMessageId),
        // A deletion that overtook its message is a tombstone, not something the customer sent us.
        ne(messages.type, 'deleted'),
      ),
    )
    .orderBy(desc(messages.providerTimestamp), desc(messages.receivedAt), desc(messages.id))
    .limit(1);
  return row?.id ?? null;
}
