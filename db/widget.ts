import { and, asc, desc, eq, gt, sql } from 'drizzle-orm';
import type { TenantContext, WorkerScope } from './client';
import { type Pipelined, pipelined } from './client';
import { channelAccounts, contacts, conversations, messages, widgets } from './schema';
import { resolveChannelAccount } from './webhook-events';

/**
 * The web chat widget's reads and writes (functions/widget, docs/widget.md). A widget is a channel
 * account of channel `web` whose external id is its public key, plus its `widgets` row; a visitor
 * is a contact of that channel whose external user id is the visitor id in their signed token. So
 * the conversation, its messages, the agent's turns and the operators' inbox are the rows of any
 * channel, and everything here runs under the tenant handle of the tenant the key or the token
 * names: RLS keeps every other tenant's rows out of reach.
 */

export type WidgetConfig = {
  tenantId: string;
  channelAccountId: string;
  allowedOrigins: string[];
  title: string;
  color: string;
  greeting: string;
};

/**
 * The widget a public key names, or null: the key resolves its tenant (a SECURITY DEFINER lookup,
 * as a webhook's account id does), and the widget's row is then read as that tenant.
 */
export async function findWidgetByKey(
  scope: WorkerScope,
  key: string,
): Promise<WidgetConfig | null> {
  const account = await resolveChannelAccount(scope.intake, { channel: 'web', externalId: key });
  if (!account) return null;
  const ctx = await scope.forTenant(account.tenantId);
  const [row] = await ctx.tx
    .select()
    .from(widgets)
    .where(eq(widgets.channelAccountId, account.channelAccountId));
  if (!row) return null;
  return {
    tenantId: account.tenantId,
    channelAccountId: account.channelAccountId,
    allowedOrigins: row.allowedOrigins,
    title: row.title,
    color: row.color,
    greeting: row.greeting,
  };
}

/** The widget's own settings, by its channel account, in the caller's tenant. */
function widgetSettings({ tx }: TenantContext, channelAccountId: string) {
  return tx
    .select({ allowedOrigins: widgets.allowedOrigins })
    .from(widgets)
    .where(eq(widgets.channelAccountId, channelAccountId));
}

/** Who a token speaks for: the widget (its account) and the visitor (their contact's key). */
export type Visitor = { channelAccountId: string; visitorId: string };

/** How long a write may take between stamping `updated_at` and committing (as db/chats.ts). */
const DELTA_SAFETY_SECONDS = 10;
/** Messages a first load shows (the newest) and a delta returns at most. */
export const WIDGET_PAGE = 50;

export type WidgetMessageRow = {
  id: string;
  direction: 'inbound' | 'outbound';
  sender: 'user' | 'agent' | 'operator' | 'system';
  type: string;
  content: string | null;
  payload: Record<string, unknown>;
  providerMessageId: string | null;
  providerTimestamp: Date;
};

export type WidgetThread = {
  /** Null when the key's widget is gone (the token outlived it). */
  allowedOrigins: string[] | null;
  /** Null until the visitor's first message. */
  conversation: { isLocked: boolean; lockedBy: string | null } | null;
  visitor: { name: string | null; email: string | null; phone: string | null } | null;
  messages: WidgetMessageRow[];
  cursor: string;
};

/**
 * What the visitor's widget shows, in one round trip (four statements sent together): the
 * widget's origins (the caller checks the request's), the visitor's conversation (whether a person
 * has taken over), their profile, and their messages: without `after` the newest WIDGET_PAGE, with
 * it those created or changed since (delta sync; a reply appears when its send delivers it).
 * Every statement is limited to this visitor's own conversation on this widget by a join, never
 * by an id the request gave. Only what the visitor should see: their own messages, and replies
 * that were delivered (not queued, failed or cancelled ones).
 */
export function widgetThread(
  ctx: TenantContext,
  visitor: Visitor,
  after: string | undefined,
): Pipelined<WidgetThread> {
  const { tx } = ctx;
  const ownContact = and(
    eq(contacts.channel, 'web'),
    eq(contacts.externalUserId, visitor.visitorId),
    eq(contacts.tenantId, ctx.tenantId),
  );
  const ownConversation = and(
    eq(conversations.channelAccountId, visitor.channelAccountId),
    eq(conversations.tenantId, ctx.tenantId),
    ownContact,
  );
  const conversation = tx
    .select({ isLocked: conversations.isLocked, lockedBy: conversations.lockedBy })
    .from(conversations)
    .innerJoin(contacts, eq(contacts.id, conversations.contactId))
    .where(ownConversation);
  const profile = tx
    .select({ name: contacts.name, email: contacts.email, phone: contacts.phone })
    .from(contacts)
    .where(ownContact);
  const clock = tx.execute<{ horizon: string }>(
    sql`select greatest(
          clock_timestamp() - make_interval(secs => ${DELTA_SAFETY_SECONDS}),
          ${after ?? null}::timestamptz)::text as horizon`,
  );
  const shown = and(
    ownConversation,
    sql`(${messages.direction} = 'inbound' or ${messages.status} in ('sent', 'delivered', 'read'))`,
  );
  const columns = {
    id: messages.id,
    direction: messages.direction,
    sender: messages.sender,
    type: messages.type,
    content: messages.content,
    payload: messages.payload,
    providerMessageId: messages.providerMessageId,
    providerTimestamp: messages.providerTimestamp,
    changedAt: sql<string>`${messages.updatedAt}::text`.as('changed_at'),
  };
  const rows = after
    ? tx
        .select(columns)
        .from(messages)
        .innerJoin(conversations, eq(conversations.id, messages.conversationId))
        .innerJoin(contacts, eq(contacts.id, conversations.contactId))
        .where(and(shown, gt(messages.updatedAt, sql`${after}::timestamptz`)))
        .orderBy(asc(messages.updatedAt), asc(messages.id))
        .limit(WIDGET_PAGE)
    : tx
        .select(columns)
        .from(messages)
        .innerJoin(conversations, eq(conversations.id, messages.conversationId))
        .innerJoin(contacts, eq(contacts.id, conversations.contactId))
        .where(shown)
        .orderBy(desc(messages.providerTimestamp), desc(messages.receivedAt), desc(messages.id))
        .limit(WIDGET_PAGE);
  return pipelined(
    [widgetSettings(ctx, visitor.channelAccountId), conversation, profile, clock, rows],
    ([settings, found, people, now, page]) => {
      const [thread] = found;
      const [person] = people;
      const [horizon] = [...now];
      if (!horizon) throw new Error('clock query returned nothing');
      const ordered = after ? page : [...page].reverse();
      // A full page of changes may have more behind it: the next poll goes on from its last row
      // rather than from the clock, so none is skipped.
      const last = page.at(-1);
      const cursor =
        after && page.length === WIDGET_PAGE && last ? last.changedAt : horizon.horizon;
      return {
        allowedOrigins: settings[0]?.allowedOrigins ?? null,
        conversation: thread ? { isLocked: thread.isLocked, lockedBy: thread.lockedBy } : null,
        visitor: person ?? null,
        messages: ordered.map(({ changedAt: _, ...row }) => row) as WidgetMessageRow[],
        cursor,
      };
    },
  );
}

/** The widget's allowed origins (null: no such widget in this tenant), alone. */
export async function widgetOrigins(
  ctx: TenantContext,
  channelAccountId: string,
): Promise<string[] | null> {
  const [row] = await widgetSettings(ctx, channelAccountId);
  return row?.allowedOrigins ?? null;
}

/**
 * What a visitor left to be reached at. Made before their first message if need be (the contact
 * the first message then finds by its key), so a visitor may introduce themselves first.
 */
export async function saveVisitorProfile(
  ctx: TenantContext,
  visitor: Visitor,
  profile: { name: string; email: string | null; phone: string | null },
): Promise<void> {
  await ctx.tx
    .insert(contacts)
    .values({
      tenantId: ctx.tenantId,
      channel: 'web',
      externalUserId: visitor.visitorId,
      name: profile.name,
      email: profile.email,
      phone: profile.phone,
    })
    .onConflictDoUpdate({
      target: [contacts.tenantId, contacts.channel, contacts.externalUserId],
      set: {
        name: sql`excluded.name`,
        email: sql`excluded.email`,
        phone: sql`excluded.phone`,
        updatedAt: sql`now()`,
      },
    });
}

/** For the demo seed and tests: the widget of a web channel account, made or updated. */
export async function upsertWidget(
  ctx: TenantContext,
  input: {
    key: string;
    displayName: string;
    allowedOrigins: string[];
    title: string;
    color?: string;
    greeting?: string;
  },
): Promise<{ channelAccountId: string }> {
  const [account] = await ctx.tx
    .insert(channelAccounts)
    .values({
      tenantId: ctx.tenantId,
      channel: 'web',
      externalId: input.key,
      displayName: input.displayName,
    })
    .onConflictDoUpdate({
      target: [channelAccounts.channel, channelAccounts.externalId],
      set: { displayName: input.displayName },
    })
    .returning({ id: channelAccounts.id });
  if (!account) throw new Error('upsertWidget: the account upsert returned nothing');
  const values = {
    allowedOrigins: input.allowedOrigins,
    title: input.title,
    ...(input.color ? { color: input.color } : {}),
    ...(input.greeting !== undefined ? { greeting: input.greeting } : {}),
  };
  await ctx.tx
    .insert(widgets)
    .values({ tenantId: ctx.tenantId, channelAccountId: account.id, ...values })
    .onConflictDoUpdate({
      target: [widgets.channelAccountId],
      set: { ...values, updatedAt: sql`now()` },
    });
  return { channelAccountId: account.id };
}
