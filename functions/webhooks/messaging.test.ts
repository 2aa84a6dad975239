import type postgres from 'postgres';
import { describe, expect } from 'vitest';
import {
  instagramMessageBody,
  instagramReadBody,
  type MessagingEvent,
  messagingEvent,
  messagingWebhook,
  messengerDeliveryBody,
  messengerMessageBody,
  messengerReadBody,
  postbackBody,
  randomMid,
} from '../../dev/meta-payloads';
import type { Harness } from '../../test/harness';
import { it, must } from '../../test/it';
import {
  eventOf,
  insertOutbound,
  postWebhook,
  scopedUserId,
  statusOf,
} from '../../test/meta-webhooks';

/** One fixture per Messenger (`object: page`) and Instagram (`object: instagram`) shape. */
describe('Messenger and Instagram webhooks', () => {
  let page: string;
  let ig: string;

  it.beforeAll(({ tenant }) => {
    page = tenant.accounts.messenger.externalId;
    ig = tenant.accounts.instagram.externalId;
  });

  async function post(h: Harness, body: unknown) {
    const res = await postWebhook(h, body);
    expect(res.status).toBe(200);
    return (await res.json()) as { status: string; event_id: string };
  }

  async function byMid(sql: postgres.Sql, mid: string) {
    const [row] = await sql`select * from messages where provider_message_id = ${mid}`;
    return row;
  }

  async function agentTurns(sql: postgres.Sql, messageId: string) {
    return sql`select id from job_outbox where kind = 'agent-turn' and payload->>'triggerMessageId' = ${messageId}`;
  }

  it('Messenger text: stored by PSID with an agent turn; times are milliseconds', async ({
    harness: h,
    sql,
    tenant: t,
  }) => {
    const psid = scopedUserId();
    const mid = randomMid();
    const timestamp = Date.now() - 5_000;
    expect(
      (
        await post(
          h,
          messengerMessageBody({ pageId: page, psid, mid, text: 'Hello page', timestamp }),
        )
      ).status,
    ).toBe('processed');
    const row = must(await byMid(sql, mid), 'the stored message');
    expect(row).toMatchObject({
      channel_account_id: t.accounts.messenger.id,
      direction: 'inbound',
      sender: 'user',
      type: 'text',
      content: 'Hello page',
    });
    expect(row.provider_timestamp.getTime()).toBe(timestamp);
    const [contact] =
      await sql`select c.* from contacts c join conversations v on v.contact_id = c.id where v.id = ${row.conversation_id}`;
    expect(contact).toMatchObject({ channel: 'messenger', external_user_id: psid, phone: null });
    expect(await agentTurns(sql, row.id)).toHaveLength(1);
  });

  it('attachments, quick replies and replies to a message', async ({ harness: h, sql }) => {
    const psid = scopedUserId();
    const mid = randomMid();
    await post(
      h,
      messengerMessageBody({
        pageId: page,
        psid,
        mid,
        attachments: [
          { type: 'image', payload: { url: 'https://cdn.example/image.jpg' } },
          { type: 'file', payload: { url: 'https://cdn.example/invoice.pdf' } },
          {
            type: 'fallback',
            payload: { url: 'https://example.com/article', title: 'An article' },
          },
        ],
      }),
    );
    const row = must(await byMid(sql, mid), 'the stored message');
    expect(row).toMatchObject({ type: 'image', content: null });
    expect(row.attachments).toEqual([
      { kind: 'image', url: 'https://cdn.example/image.jpg' },
      { kind: 'file', url: 'https://cdn.example/invoice.pdf' },
      {
        kind: 'other',
        url: 'https://example.com/article',
        caption: 'An article',
        data: {
          type: 'fallback',
          payload: { url: 'https://example.com/article', title: 'An article' },
        },
      },
    ]);
    const downloads =
      await sql`select payload from job_outbox where kind = 'media-download' and payload->>'messageId' = ${row.id} order by payload->>'index'`;
    expect(downloads.map((d) => d.payload.index)).toEqual([0, 1]);

    const quick = randomMid();
    await post(
      h,
      messengerMessageBody({
        pageId: page,
        psid,
        mid: quick,
        text: 'Tuesday',
        quickReplyPayload: 'DAY_TUE',
      }),
    );
    expect(await byMid(sql, quick)).toMatchObject({
      type: 'quick_reply',
      content: 'Tuesday',
      payload: { quick_reply: { payload: 'DAY_TUE' } },
    });
    const reply = randomMid();
    await post(
      h,
      messengerMessageBody({ pageId: page, psid, mid: reply, text: 'that one', replyToMid: quick }),
    );
    expect(await byMid(sql, reply)).toMatchObject({ reply_to_provider_message_id: quick });
  });

  it('a Page-inbox echo is stored as an operator message and locks; our own echo is not stored twice', async ({
    harness: h,
    sql,
    tenant: t,
  }) => {
    const psid = scopedUserId();
    await post(
      h,
      messengerMessageBody({
        pageId: page,
        psid,
        text: 'anyone there?',
        timestamp: Date.now() - 60_000,
      }),
    );
    const human = randomMid();
    await post(
      h,
      messengerMessageBody({
        pageId: page,
        psid,
        mid: human,
        text: 'Yes, Marta here',
        isEcho: true,
        appId: '263902037430900',
      }),
    );
    const echo = must(await byMid(sql, human), 'the stored echo');
    expect(echo).toMatchObject({
      direction: 'outbound',
      sender: 'operator',
      status: 'sent',
      content: 'Yes, Marta here',
      payload: { echo: 'page_inbox', app_id: '263902037430900' },
    });
    const [conversation] =
      await sql`select * from conversations where id = ${echo.conversation_id}`;
    expect(conversation).toMatchObject({
      is_locked: true,
      locked_by: 'echo',
      lock_reason: 'A team member replied from the Facebook Page inbox.',
    });
    // The lock went through the lock function: its history says an echo locked it, and why.
    const history =
      await sql`select locked, source, reason from conversation_lock_events where conversation_id = ${echo.conversation_id}`;
    expect(history).toEqual([
      {
        locked: true,
        source: 'echo',
        reason: 'A team member replied from the Facebook Page inbox.',
      },
    ]);

    // Our own send, echoed back with our app id: the send job has it; nothing is stored.
    const ours = randomMid();
    const { event_id } = await post(
      h,
      messengerMessageBody({
        pageId: page,
        psid,
        mid: ours,
        text: 'bot reply',
        isEcho: true,
        appId: 'test-app-id',
      }),
    );
    expect(await byMid(sql, ours)).toBeUndefined();
    expect((await eventOf(sql, event_id))?.outcome).toBe('processed');

    // An echo of a message we already have (no app id): the stored row stays as it is, no lock.
    const other = scopedUserId();
    const sent = await insertOutbound(sql, t, {
      channel: 'messenger',
      customer: other,
      providerMessageId: randomMid(),
    });
    await post(
      h,
      messengerMessageBody({
        pageId: page,
        psid: other,
        mid: sent.message.provider_message_id,
        text: 'our reply',
        isEcho: true,
      }),
    );
    const rows =
      await sql`select sender from messages where provider_message_id = ${sent.message.provider_message_id}`;
    expect(rows).toEqual([{ sender: 'agent' }]);
    const [unlocked] =
      await sql`select is_locked from conversations where id = ${sent.conversationId}`;
    expect(unlocked?.is_locked).toBe(false);
  });

  it('Instagram: message, is_unsupported, story reply and is_deleted (also before the message)', async ({
    harness: h,
    sql,
    tenant: t,
  }) => {
    const igsid = scopedUserId();
    const mid = randomMid();
    await post(h, instagramMessageBody({ igId: ig, igsid, mid, text: 'hola insta' }));
    expect(await byMid(sql, mid)).toMatchObject({
      channel_account_id: t.accounts.instagram.id,
      content: 'hola insta',
    });

    const unsupported = randomMid();
    const unsupportedEvent = messagingEvent(
      { accountId: ig, userId: igsid },
      { message: { mid: unsupported, is_unsupported: true } },
    );
    await post(h, messagingWebhook('instagram', ig, [unsupportedEvent]));
    expect(await byMid(sql, unsupported)).toMatchObject({ type: 'unsupported', content: null });

    const story = randomMid();
    const storyEvent = messagingEvent(
      { accountId: ig, userId: igsid },
      {
        message: {
          mid: story,
          text: 'love it',
          reply_to: { story: { url: 'https://cdn.example/story', id: '1789' } },
        },
      },
    );
    await post(h, messagingWebhook('instagram', ig, [storyEvent]));
    expect(await byMid(sql, story)).toMatchObject({
      content: 'love it',
      payload: { reply_to: { story: { url: 'https://cdn.example/story', id: '1789' } } },
    });

    const deleted = messagingEvent(
      { accountId: ig, userId: igsid },
      { message: { mid, is_deleted: true } },
    );
    await post(h, messagingWebhook('instagram', ig, [deleted]));
    const gone = must(await byMid(sql, mid), 'the deleted message');
    expect(gone.content).toBeNull();
    expect(gone.payload.deleted.by).toBe('customer');

    // The deletion overtakes its message: a tombstone keeps the deleted words out for good.
    const early = randomMid();
    await post(
      h,
      messagingWebhook('instagram', ig, [
        messagingEvent(
          { accountId: ig, userId: igsid },
          { message: { mid: early, is_deleted: true } },
        ),
      ]),
    );
    await post(h, instagramMessageBody({ igId: ig, igsid, mid: early, text: 'regret this' }));
    expect(await byMid(sql, early)).toMatchObject({ type: 'deleted', content: null });
  });

  it('postbacks (buttons, Get Started, icebreakers) are customer messages', async ({
    harness: h,
    sql,
  }) => {
    const psid = scopedUserId();
    const mid = randomMid();
    await post(
      h,
      postbackBody({
        object: 'page',
        accountId: page,
        userId: psid,
        title: 'Book now',
        payload: 'BOOK',
        mid,
      }),
    );
    const row = must(await byMid(sql, mid), 'the stored message');
    expect(row).toMatchObject({
      type: 'postback',
      content: 'Book now',
      payload: { postback: { payload: 'BOOK', title: 'Book now' } },
    });
    expect(await agentTurns(sql, row.id)).toHaveLength(1);
    // An older postback without a mid still gets a stable id: a resend is a duplicate.
    const noMid = messagingEvent({ accountId: ig, userId: psid, timestamp: 1_795_000_000_000 }, {
      postback: { title: 'Prices', payload: 'ICEBREAKER_PRICES' },
    } as never);
    await post(h, messagingWebhook('instagram', ig, [noMid as MessagingEvent]));
    await post(h, messagingWebhook('instagram', ig, [noMid as MessagingEvent], 1_795_000_000_001));
    const rows =
      await sql`select id from messages where provider_message_id = ${`postback:${psid}:1795000000000`}`;
    expect(rows).toHaveLength(1);
  });

  it('Messenger delivery (mids and watermark) and read watermark move our messages forward', async ({
    harness: h,
    sql,
    tenant: t,
  }) => {
    const psid = scopedUserId();
    const base = Date.now() - 120_000;
    const first = await insertOutbound(sql, t, {
      channel: 'messenger',
      customer: psid,
      providerMessageId: randomMid(),
      providerTimestamp: new Date(base),
    });
    const second = await insertOutbound(sql, t, {
      channel: 'messenger',
      customer: psid,
      providerMessageId: randomMid(),
      providerTimestamp: new Date(base + 1000),
    });
    const later = await insertOutbound(sql, t, {
      channel: 'messenger',
      customer: psid,
      providerMessageId: randomMid(),
      providerTimestamp: new Date(base + 60_000),
    });
    await post(
      h,
      messengerDeliveryBody({
        pageId: page,
        psid,
        mids: [first.message.provider_message_id],
        watermark: base,
      }),
    );
    expect((await statusOf(sql, first.message.id))?.status).toBe('delivered');
    expect((await statusOf(sql, second.message.id))?.status).toBe('sent');
    await post(h, messengerDeliveryBody({ pageId: page, psid, watermark: base + 2000 }));
    expect((await statusOf(sql, second.message.id))?.status).toBe('delivered');
    await post(h, messengerReadBody({ pageId: page, psid, watermark: base + 2000 }));
    expect((await statusOf(sql, first.message.id))?.status).toBe('read');
    expect((await statusOf(sql, second.message.id))?.status).toBe('read');
    expect((await statusOf(sql, later.message.id))?.status).toBe('sent');
    const audit =
      await sql`select provider_status, watermark is not null as by_watermark from message_status_events
      where channel_account_id = ${t.accounts.messenger.id} and recipient_id = ${psid} order by created_at, watermark nulls first, provider_status`;
    // The first delivery carried both a mid and a watermark: two audit rows.
    expect(audit).toEqual([
      { provider_status: 'delivered', by_watermark: false },
      { provider_status: 'delivered', by_watermark: true },
      { provider_status: 'delivered', by_watermark: true },
      { provider_status: 'read', by_watermark: true },
    ]);
  });

  it('Instagram read (messaging_seen) names the message', async ({
    harness: h,
    sql,
    tenant: t,
  }) => {
    const igsid = scopedUserId();
    const sent = await insertOutbound(sql, t, {
      channel: 'instagram',
      customer: igsid,
      providerMessageId: randomMid(),
    });
    await post(h, instagramReadBody({ igId: ig, igsid, mid: sent.message.provider_message_id }));
    expect((await statusOf(sql, sent.message.id))?.status).toBe('read');
  });

  it('reactions (react / unreact) attach to their target', async ({
    harness: h,
    sql,
    tenant: t,
  }) => {
    const psid = scopedUserId();
    const sent = await insertOutbound(sql, t, {
      channel: 'messenger',
      customer: psid,
      providerMessageId: randomMid(),
    });
    const react = messagingEvent(
      { accountId: page, userId: psid, timestamp: Date.now() - 2000 },
      {
        reaction: {
          mid: sent.message.provider_message_id,
          action: 'react',
          reaction: 'love',
          emoji: '❤️',
        },
      },
    );
    await post(h, messagingWebhook('page', page, [react]));
    let [target] = await sql`select payload from messages where id = ${sent.message.id}`;
    expect(target?.payload.reactions.customer.emoji).toBe('❤️');
    const unreact = messagingEvent(
      { accountId: page, userId: psid, timestamp: Date.now() - 1000 },
      {
        reaction: { mid: sent.message.provider_message_id, action: 'unreact' },
      },
    );
    await post(h, messagingWebhook('page', page, [unreact]));
    [target] = await sql`select payload from messages where id = ${sent.message.id}`;
    expect(target?.payload.reactions.customer.emoji).toBeNull();
    // Delivered again (same event): still one reaction row each.
    await post(h, messagingWebhook('page', page, [react]));
    const reactions =
      await sql`select content from messages where type = 'reaction' and reply_to_provider_message_id = ${sent.message.provider_message_id} order by provider_timestamp`;
    expect(reactions).toEqual([{ content: '❤️' }, { content: null }]);
  });

  it('standby messages (another app owns the thread) are stored without an agent turn', async ({
    harness: h,
    sql,
  }) => {
    const psid = scopedUserId();
    const mid = randomMid();
    const event = messagingEvent(
      { accountId: page, userId: psid },
      { message: { mid, text: 'to the other app' } },
    );
    await post(h, { object: 'page', entry: [{ id: page, time: Date.now(), standby: [event] }] });
    const row = must(await byMid(sql, mid), 'the stored message');
    expect(row).toMatchObject({ content: 'to the other app', payload: { standby: true } });
    expect(await agentTurns(sql, row.id)).toHaveLength(0);
  });

  it('message edits replace the text and keep the fact', async ({ harness: h, sql }) => {
    const psid = scopedUserId();
    const mid = randomMid();
    await post(
      h,
      messengerMessageBody({
        pageId: page,
        psid,
        mid,
        text: 'at 10',
        timestamp: Date.now() - 10_000,
      }),
    );
    const edit = messagingEvent({ accountId: page, userId: psid }, {
      message_edit: { mid, text: 'at 11', num_edit: 1 },
    } as never);
    await post(h, messagingWebhook('page', page, [edit as MessagingEvent]));
    const row = must(await byMid(sql, mid), 'the stored message');
    expect(row.content).toBe('at 11');
    expect(row.payload.edited.by).toBe('customer');
  });

  it('both batching layouts: several entries, and several messaging items in one entry', async ({
    harness: h,
    sql,
  }) => {
    const [a, b] = [scopedUserId(), scopedUserId()];
    const [mid0, mid1, mid2, mid3] = [randomMid(), randomMid(), randomMid(), randomMid()];
    const mids = [mid0, mid1, mid2, mid3];
    const event = (user: string, mid: string, text: string) =>
      messagingEvent({ accountId: page, userId: user }, { message: { mid, text } });
    const body = {
      object: 'page',
      entry: [
        {
          id: page,
          time: Date.now(),
          messaging: [event(a, mid0, 'a1'), event(b, mid1, 'b1')],
        },
        { id: page, time: Date.now(), messaging: [event(a, mid2, 'a2')] },
        { id: page, time: Date.now(), messaging: [event(b, mid3, 'b2')] },
      ],
    };
    await post(h, body);
    const rows =
      await sql`select content from messages where provider_message_id in ${sql(mids)} order by content`;
    expect(rows.map((r) => r.content)).toEqual(['a1', 'a2', 'b1', 'b2']);
  });
});
