import { describe, expect } from 'vitest';
import {
  randomWamid,
  type WhatsAppMessageInput,
  whatsappContact,
  whatsappInboundMessage,
  whatsappMessageBody,
  whatsappMessagesChange,
  whatsappWebhook,
} from '../../dev/meta-payloads';
import { it as base, must } from '../../test/it';
import {
  customerPhone,
  eventOf,
  messagesOf,
  postWebhook,
  secondsAgo,
  waNumber,
} from '../../test/meta-webhooks';

/**
 * One fixture per WhatsApp Cloud API webhook shape (meta-platform reference §2), each asserted on
 * the rows it leaves: messages, contacts, conversations, outbox jobs, templates.
 */
const it = base
  /** Sends one inbound message from a fresh customer to the tenant; returns its stored row. */
  .extend('receive', { scope: 'file' }, ({ harness: h, sql, tenant: t }) => {
    return async (
      message: WhatsAppMessageInput,
      extra: Partial<Parameters<typeof whatsappMessageBody>[0]> = {},
    ) => {
      const id = randomWamid();
      const from = extra.from ?? customerPhone();
      const res = await postWebhook(
        h,
        whatsappMessageBody({ ...waNumber(t), from, name: 'Customer', id, message, ...extra }),
      );
      expect(res.status).toBe(200);
      expect(((await res.json()) as { status: string }).status).toBe('processed');
      const [row] = await sql`select * from messages where provider_message_id = ${id}`;
      return must(row, `stored message ${id}`);
    };
  })
  /** The tenant's outbox jobs that name a message. */
  .extend('jobsFor', { scope: 'file' }, ({ sql, tenant: t }) => {
    return async (messageId: string) =>
      sql`select kind, payload, dedupe_key, not_before, created_at from job_outbox
        where tenant_id = ${t.tenantId} and payload::text like ${`%${messageId}%`} order by kind`;
  });

describe('WhatsApp webhooks: every message shape', () => {
  it('text: stored with the contact, the conversation upkeep and a debounced agent turn', async ({
    sql,
    tenant: t,
    receive,
    jobsFor,
  }) => {
    const phone = customerPhone();
    const ts = secondsAgo(30);
    const row = await receive(
      { type: 'text', text: '¿Tienen cita el lunes?' },
      { from: phone, userId: 'US.ana-123', name: 'Ana Pérez', username: 'ana', timestamp: ts },
    );
    expect(row).toMatchObject({
      direction: 'inbound',
      sender: 'user',
      type: 'text',
      content: '¿Tienen cita el lunes?',
      status: 'received',
      attachments: [],
      tenant_id: t.tenantId,
      channel_account_id: t.accounts.whatsapp.id,
    });
    expect(row.provider_timestamp.getTime()).toBe(ts * 1000);
    const [contact] =
      await sql`select c.* from contacts c join conversations v on v.contact_id = c.id
      where v.id = ${row.conversation_id}`;
    expect(contact).toMatchObject({
      channel: 'whatsapp',
      external_user_id: 'US.ana-123',
      bsuid: 'US.ana-123',
      phone,
      name: 'Ana Pérez',
      username: 'ana',
    });
    const [conversation] = await sql`select * from conversations where id = ${row.conversation_id}`;
    expect(conversation).toMatchObject({
      unread_count: 1,
      last_message_preview: '¿Tienen cita el lunes?',
      latest_inbound_message_id: row.id,
      is_locked: false,
      channel_account_id: t.accounts.whatsapp.id,
    });
    expect(conversation?.last_inbound_at.getTime()).toBe(ts * 1000);
    expect(conversation?.last_message_at.getTime()).toBe(ts * 1000);
    const jobs = await jobsFor(row.id);
    expect(jobs).toHaveLength(1);
    expect(jobs[0]).toMatchObject({
      kind: 'agent-turn',
      payload: { conversationId: row.conversation_id, triggerMessageId: row.id },
    });
    // Debounce from our clock (tenant default 10 s), not from the provider timestamp; one turn per
    // conversation per window, which the conversation's due marker records.
    const job = must(jobs[0], 'the agent-turn job');
    expect(job.dedupe_key).toBe(`agent-turn:${row.conversation_id}:${job.not_before.getTime()}`);
    expect(conversation?.agent_turn_due_at).toEqual(job.not_before);
    const delay = job.not_before.getTime() - job.created_at.getTime();
    expect(delay).toBeGreaterThanOrEqual(9_000);
    expect(delay).toBeLessThanOrEqual(11_000);
  });

  it('image: the attachment is recorded at once and a media download is queued', async ({
    receive,
    jobsFor,
  }) => {
    const row = await receive({
      type: 'image',
      mediaId: '1200000000001',
      mimeType: 'image/jpeg',
      sha256: 'c2hhMjU2LW9mLXRoZS1pbWFnZQ==',
      caption: 'Mi receta',
    });
    expect(row).toMatchObject({ type: 'image', content: 'Mi receta' });
    expect(row.attachments).toEqual([
      {
        kind: 'image',
        mimeType: 'image/jpeg',
        providerMediaId: '1200000000001',
        caption: 'Mi receta',
        sha256: 'c2hhMjU2LW9mLXRoZS1pbWFnZQ==',
      },
    ]);
    const jobs = await jobsFor(row.id);
    expect(jobs.map((j) => j.kind)).toEqual(['agent-turn', 'media-download']);
    expect(jobs[1]).toMatchObject({
      payload: { messageId: row.id, index: 0 },
      dedupe_key: `media-download:${row.id}:0`,
    });
  });

  it('audio (voice note), video, document and sticker keep their media details', async ({
    sql,
    receive,
  }) => {
    const voice = await receive({
      type: 'audio',
      mediaId: '1200000000002',
      mimeType: 'audio/ogg; codecs=opus',
      voice: true,
    });
    expect(voice.attachments).toEqual([
      expect.objectContaining({
        kind: 'audio',
        mimeType: 'audio/ogg; codecs=opus',
        providerMediaId: '1200000000002',
        data: { voice: true },
      }),
    ]);
    const [conversation] =
      await sql`select last_message_preview from conversations where id = ${voice.conversation_id}`;
    expect(conversation?.last_message_preview).toBe('Voice message');

    const video = await receive({ type: 'video', mediaId: '1200000000003', mimeType: 'video/mp4' });
    expect(video.attachments[0]).toMatchObject({ kind: 'video', providerMediaId: '1200000000003' });

    const doc = await receive({
      type: 'document',
      mediaId: '1200000000004',
      mimeType: 'application/pdf',
      filename: 'análisis.pdf',
      caption: 'Resultados',
    });
    expect(doc.attachments[0]).toMatchObject({
      kind: 'document',
      filename: 'análisis.pdf',
      caption: 'Resultados',
      mimeType: 'application/pdf',
    });

    const sticker = await receive({
      type: 'sticker',
      mediaId: '1200000000005',
      mimeType: 'image/webp',
      animated: true,
    });
    expect(sticker.attachments[0]).toMatchObject({
      kind: 'sticker',
      mimeType: 'image/webp',
      data: { animated: true },
    });
    expect(sticker.content).toBeNull();
  });

  it('location and shared contact cards are kept as data attachments (nothing to download)', async ({
    receive,
    jobsFor,
  }) => {
    const location = await receive({
      type: 'location',
      latitude: 40.4168,
      longitude: -3.7038,
      name: 'Clínica Centro',
      address: 'Gran Vía 1, Madrid',
    });
    expect(location).toMatchObject({
      type: 'location',
      content: 'Clínica Centro, Gran Vía 1, Madrid',
    });
    expect(location.attachments).toEqual([
      {
        kind: 'location',
        data: {
          latitude: 40.4168,
          longitude: -3.7038,
          name: 'Clínica Centro',
          address: 'Gran Vía 1, Madrid',
        },
      },
    ]);
    const card = {
      name: { formatted_name: 'Luis García', first_name: 'Luis' },
      phones: [{ phone: '+34 600 000 000', wa_id: '34600000000', type: 'CELL' }],
    };
    const contacts = await receive({ type: 'contacts', contacts: [card] });
    expect(contacts).toMatchObject({ type: 'contacts', content: 'Contact: Luis García' });
    expect(contacts.attachments).toEqual([{ kind: 'contacts', data: { contacts: [card] } }]);
    expect((await jobsFor(contacts.id)).map((j) => j.kind)).toEqual(['agent-turn']);
  });

  it('interactive button and list replies, and template quick-reply buttons', async ({
    receive,
  }) => {
    const button = await receive({
      type: 'interactive',
      buttonReply: { id: 'appt:42:confirm', title: 'Confirmar' },
    });
    expect(button).toMatchObject({
      type: 'interactive',
      content: 'Confirmar',
      payload: {
        interactive: {
          type: 'button_reply',
          button_reply: { id: 'appt:42:confirm', title: 'Confirmar' },
        },
      },
    });
    const list = await receive({
      type: 'interactive',
      listReply: { id: 'slot:2', title: 'Martes 10:00', description: 'Dra. Ruiz' },
    });
    expect(list).toMatchObject({
      content: 'Martes 10:00',
      payload: {
        interactive: { type: 'list_reply', list_reply: { id: 'slot:2', description: 'Dra. Ruiz' } },
      },
    });
    const quick = await receive({
      type: 'button',
      payload: 'STOP_PROMOS',
      text: 'Stop promotions',
    });
    expect(quick).toMatchObject({
      type: 'button',
      content: 'Stop promotions',
      payload: { button: { payload: 'STOP_PROMOS', text: 'Stop promotions' } },
    });
  });

  it('reactions attach to their target; a reaction without emoji removes it', async ({
    sql,
    receive,
    jobsFor,
  }) => {
    const phone = customerPhone();
    const target = await receive({ type: 'text', text: 'original' }, { from: phone });
    const add = await receive(
      { type: 'reaction', messageId: target.provider_message_id, emoji: '👍' },
      { from: phone, timestamp: secondsAgo(5) },
    );
    expect(add).toMatchObject({
      type: 'reaction',
      content: '👍',
      reply_to_provider_message_id: target.provider_message_id,
    });
    let [reacted] = await sql`select payload from messages where id = ${target.id}`;
    expect(reacted?.payload.reactions.customer.emoji).toBe('👍');
    await receive(
      { type: 'reaction', messageId: target.provider_message_id },
      { from: phone, timestamp: secondsAgo(2) },
    );
    [reacted] = await sql`select payload from messages where id = ${target.id}`;
    expect(reacted?.payload.reactions.customer.emoji).toBeNull();
    // A reaction is not a question: no agent turn, no unread bump.
    expect(await jobsFor(add.id)).toHaveLength(0);
    const [conversation] =
      await sql`select unread_count, last_message_preview from conversations where id = ${target.conversation_id}`;
    expect(conversation).toMatchObject({ unread_count: 1, last_message_preview: 'original' });
  });

  it('unsupported messages keep their type and error', async ({ receive }) => {
    const row = await receive({
      type: 'unsupported',
      unsupportedType: 'poll_update',
      errors: [{ code: 131051, title: 'Message type unknown', details: 'Polls are not supported' }],
    });
    expect(row).toMatchObject({
      type: 'unsupported',
      content: null,
      payload: {
        unsupported: { type: 'poll_update' },
        errors: [
          expect.objectContaining({
            code: 131051,
            error_data: { details: 'Polls are not supported' },
          }),
        ],
      },
    });
  });

  it('reply context, forwards and click-to-WhatsApp referrals are kept', async ({
    tenant: t,
    receive,
  }) => {
    const reply = await receive(
      { type: 'text', text: 'yes, that one' },
      { context: { from: t.accounts.whatsapp.phone, id: 'wamid.quoted-business-message' } },
    );
    expect(reply.reply_to_provider_message_id).toBe('wamid.quoted-business-message');
    const forwarded = await receive(
      { type: 'text', text: 'fwd' },
      { context: { forwarded: true } },
    );
    expect(forwarded.payload.context).toEqual({ forwarded: true });
    const referral = {
      source_url: 'https://fb.me/ad',
      source_id: '120000000',
      source_type: 'ad' as const,
      headline: 'Limpieza dental 30 €',
      ctwa_clid: 'ARAkLk',
    };
    const fromAd = await receive({ type: 'text', text: 'Info please' }, { referral });
    expect(fromAd.payload.referral).toEqual(referral);
  });

  it('keys users by BSUID, falls back to the phone, and merges a phone-only contact when the BSUID appears', async ({
    sql,
    receive,
  }) => {
    const phone = customerPhone();
    const first = await receive({ type: 'text', text: 'phone only' }, { from: phone });
    const second = await receive(
      { type: 'text', text: 'now with bsuid' },
      { from: phone, userId: `US.${phone}` },
    );
    expect(second.conversation_id).toBe(first.conversation_id);
    const [contact] =
      await sql`select c.* from contacts c join conversations v on v.contact_id = c.id
      where v.id = ${first.conversation_id}`;
    expect(contact).toMatchObject({ external_user_id: phone, phone, bsuid: `US.${phone}` });

    // A username user: no phone at all, only the BSUID.
    const bsuidOnly = await receive(
      { type: 'text', text: 'no phone here' },
      { from: undefined, userId: 'US.only-bsuid-7', username: 'user7' },
    );
    const [anonymous] =
      await sql`select c.* from contacts c join conversations v on v.contact_id = c.id
      where v.id = ${bsuidOnly.conversation_id}`;
    expect(anonymous).toMatchObject({ external_user_id: 'US.only-bsuid-7', phone: null });
  });

  it('types Meta adds later are kept as sent, never dropped', async ({
    harness: h,
    sql,
    tenant: t,
  }) => {
    const id = randomWamid();
    const message = {
      ...whatsappInboundMessage({
        from: customerPhone(),
        id,
        message: { type: 'text', text: 'x' },
      }),
      type: 'order',
      order: { catalog_id: 'c1', product_items: [{ product_retailer_id: 'sku-1', quantity: 2 }] },
    };
    delete (message as Record<string, unknown>).text;
    const res = await postWebhook(
      h,
      whatsappWebhook(
        t.accounts.whatsapp.wabaId,
        whatsappMessagesChange({ ...waNumber(t), messages: [message] }),
      ),
    );
    expect(res.status).toBe(200);
    const [row] = await sql`select * from messages where provider_message_id = ${id}`;
    expect(row).toMatchObject({ type: 'order', payload: { order: message.order } });
  });

  it('account-level value.errors are recorded on the event, which is processed', async ({
    harness: h,
    sql,
    tenant: t,
  }) => {
    const body = whatsappWebhook(
      t.accounts.whatsapp.wabaId,
      whatsappMessagesChange({
        ...waNumber(t),
        errors: [{ code: 130429, title: 'Rate limit hit', details: 'Too many messages' }],
      }),
    );
    const res = await postWebhook(h, body);
    const { event_id } = (await res.json()) as { event_id: string };
    const event = await eventOf(sql, event_id);
    expect(event).toMatchObject({ outcome: 'processed' });
    expect(event?.reason).toContain('130429 Rate limit hit');
  });

  it('a timestamp far in the future is taken as the receipt time: no window open until 2036, no chat pinned on top', async ({
    harness: h,
    sql,
    tenant: t,
  }) => {
    const id = randomWamid();
    const tenYears = 10 * 365 * 24 * 3600;
    const future = secondsAgo(-tenYears);
    const before = Date.now();
    const res = await postWebhook(
      h,
      whatsappMessageBody({
        ...waNumber(t),
        from: customerPhone(),
        name: 'Time Traveller',
        id,
        timestamp: future,
        message: { type: 'text', text: 'Hola desde 2036' },
      }),
    );
    expect(res.status).toBe(200);
    const { event_id } = (await res.json()) as { event_id: string };
    const [row] = await sql`select m.provider_timestamp, v.last_inbound_at, v.last_message_at
      from messages m join conversations v on v.id = m.conversation_id
      where m.provider_message_id = ${id}`;
    const stored = must(row, 'the message');
    const latest = Date.now() + 5 * 60_000;
    for (const at of [stored.provider_timestamp, stored.last_inbound_at, stored.last_message_at]) {
      expect((at as Date).getTime()).toBeGreaterThanOrEqual(before - 1000);
      expect((at as Date).getTime()).toBeLessThanOrEqual(latest);
    }
    // The provider's own value is kept where it came from, and the event says what was done.
    const event = must(await eventOf(sql, event_id), 'the event');
    expect(event.outcome).toBe('processed');
    expect(event.raw_body).toContain(String(future));
    expect(event.reason).toMatch(/timestamp .* in the future/);
  });

  it('a timestamp slightly ahead (clock skew) or in the past is kept as Meta sent it', async ({
    receive,
  }) => {
    for (const ts of [secondsAgo(-60), secondsAgo(3 * 24 * 3600)]) {
      const row = await receive({ type: 'text', text: 'hola' }, { timestamp: ts });
      expect(row.provider_timestamp.getTime()).toBe(ts * 1000);
    }
  });

  it('smb_message_echoes: a reply from the Business app is stored as outbound and locks the conversation', async ({
    harness: h,
    sql,
    tenant: t,
    receive,
    jobsFor,
  }) => {
    const phone = customerPhone();
    const inbound = await receive(
      { type: 'text', text: 'hola' },
      { from: phone, timestamp: secondsAgo(60) },
    );
    const echoId = randomWamid();
    const echo = (
      type: string,
      content: Record<string, unknown>,
      id = randomWamid(),
      seconds = 1,
    ) =>
      whatsappWebhook(t.accounts.whatsapp.wabaId, {
        field: 'smb_message_echoes',
        value: {
          messaging_product: 'whatsapp',
          metadata: {
            display_phone_number: t.accounts.whatsapp.phone,
            phone_number_id: t.accounts.whatsapp.externalId,
          },
          message_echoes: [
            {
              from: t.accounts.whatsapp.phone,
              to: phone,
              id,
              timestamp: String(secondsAgo(seconds)),
              type,
              ...content,
            },
          ],
        },
      });
    expect(
      (await postWebhook(h, echo('text', { text: { body: 'Le atiendo yo, Marta' } }, echoId, 20)))
        .status,
    ).toBe(200);
    const [stored] = await sql`select * from messages where provider_message_id = ${echoId}`;
    expect(stored).toMatchObject({
      conversation_id: inbound.conversation_id,
      direction: 'outbound',
      sender: 'operator',
      status: 'sent',
      content: 'Le atiendo yo, Marta',
      payload: expect.objectContaining({ echo: 'whatsapp_business_app' }),
    });
    const [conversation] =
      await sql`select * from conversations where id = ${inbound.conversation_id}`;
    expect(conversation).toMatchObject({
      is_locked: true,
      locked_by: 'echo',
      lock_reason: 'A team member replied from the WhatsApp Business app.',
      last_message_preview: 'Le atiendo yo, Marta',
      unread_count: 1,
    });
    expect(await jobsFor(must(stored, 'the stored echo').id)).toHaveLength(0);

    // Edited in the app: the text changes; revoked: it is marked deleted (the business's own text stays).
    await postWebhook(
      h,
      echo('edit', {
        edit: {
          original_message_id: echoId,
          message: { type: 'text', text: { body: 'Le atiendo yo, Marta (recepción)' } },
        },
      }),
    );
    let [edited] = await sql`select * from messages where provider_message_id = ${echoId}`;
    expect(edited).toMatchObject({ content: 'Le atiendo yo, Marta (recepción)' });
    expect(edited?.payload.edited.by).toBe('business');
    await postWebhook(h, echo('revoke', { revoke: { original_message_id: echoId } }));
    [edited] = await sql`select * from messages where provider_message_id = ${echoId}`;
    expect(edited?.payload.deleted.by).toBe('business');
  });

  it('message_template_status_update keeps the synced template status current', async ({
    harness: h,
    sql,
    tenant: t,
  }) => {
    const [template] = await sql`insert into templates
      (tenant_id, channel_account_id, waba_id, provider_template_id, name, language, status, category)
      values (${t.tenantId}, ${t.accounts.whatsapp.id}, ${t.accounts.whatsapp.wabaId}, '987654321',
              'appointment_reminder', 'es', 'APPROVED', 'UTILITY') returning id`;
    const templateId = must(template, 'the synced template').id;
    const update = (event: string, reason: string | null) =>
      postWebhook(h, {
        object: 'whatsapp_business_account',
        entry: [
          {
            id: t.accounts.whatsapp.wabaId,
            time: Math.floor(Date.now() / 1000),
            changes: [
              {
                field: 'message_template_status_update',
                value: {
                  event,
                  message_template_id: 987654321,
                  message_template_name: 'appointment_reminder',
                  message_template_language: 'es',
                  reason,
                },
              },
            ],
          },
        ],
      });
    expect((await update('PAUSED', 'NONE')).status).toBe(200);
    let [row] = await sql`select status, status_reason from templates where id = ${templateId}`;
    expect(row).toEqual({ status: 'PAUSED', status_reason: null });
    await update('REJECTED', 'PROMOTIONAL');
    [row] = await sql`select status, status_reason from templates where id = ${templateId}`;
    expect(row).toEqual({ status: 'REJECTED', status_reason: 'PROMOTIONAL' });
    await update('REINSTATED', null);
    [row] = await sql`select status, status_reason from templates where id = ${templateId}`;
    expect(row).toEqual({ status: 'APPROVED', status_reason: null });
  });

  it('one body with several changes and messages, and contacts matched to their messages', async ({
    harness: h,
    sql,
    tenant: t,
  }) => {
    const [p1, p2] = [customerPhone(), customerPhone()];
    const [id1, id2, id3] = [randomWamid(), randomWamid(), randomWamid()];
    const body = whatsappWebhook(
      t.accounts.whatsapp.wabaId,
      whatsappMessagesChange({
        ...waNumber(t),
        contacts: [
          whatsappContact({ from: p1, name: 'Uno' }),
          whatsappContact({ from: p2, name: 'Dos' }),
        ],
        messages: [
          whatsappInboundMessage({ from: p1, id: id1, message: { type: 'text', text: 'uno' } }),
          whatsappInboundMessage({ from: p2, id: id2, message: { type: 'text', text: 'dos' } }),
        ],
      }),
      whatsappMessagesChange({
        ...waNumber(t),
        contacts: [whatsappContact({ from: p1, name: 'Uno' })],
        messages: [
          whatsappInboundMessage({ from: p1, id: id3, message: { type: 'text', text: 'tres' } }),
        ],
      }),
    );
    expect((await postWebhook(h, body)).status).toBe(200);
    const rows = await sql`select m.content, c.name, c.phone from messages m
      join conversations v on v.id = m.conversation_id join contacts c on c.id = v.contact_id
      where m.provider_message_id in (${id1}, ${id2}, ${id3}) order by m.content`;
    expect(rows).toEqual([
      { content: 'dos', name: 'Dos', phone: p2 },
      { content: 'tres', name: 'Uno', phone: p1 },
      { content: 'uno', name: 'Uno', phone: p1 },
    ]);
    const all = await messagesOf(sql, t.accounts.whatsapp.id);
    expect(all.filter((m) => m.phone === p1)).toHaveLength(2);
  });
});
