import type postgres from 'postgres';
import { afterAll, describe, expect } from 'vitest';
import { type ConversationFixture, createConversation } from '../../../test/conversations';
import { createTenant, type TenantFixture } from '../../../test/fixtures';
import { createHarness, type Harness } from '../../../test/harness';
import { it, must } from '../../../test/it';
import { describeOperatorSecurity } from '../../../test/operator-security';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describeOperatorSecurity({
  method: 'POST',
  path: '/admin/whatsapp/send',
  body: { conversation_id: crypto.randomUUID(), message: 'hi' },
});

const HOUR = 60 * 60 * 1000;

type Json = Record<string, unknown>;

it.override('harnessOptions', { statusProgression: false });

const graph = (h: Harness) => must(h.graph, 'the Graph stand-in');

describe('POST /admin/whatsapp/send', () => {
  it.beforeEach(({ harness }) => graph(harness).reset());

  const send = (h: Harness, t: TenantFixture, body: Json) =>
    h.asUser(t.agent, '/admin/whatsapp/send', { method: 'POST', body: JSON.stringify(body) });

  /** Sends one message through the whole path and returns the Graph request body it produced. */
  async function sentBody(
    h: Harness,
    sql: postgres.Sql,
    t: TenantFixture,
    conv: ConversationFixture,
    message: unknown,
    extra: Json = {},
  ) {
    const res = await send(h, t, { conversation_id: conv.conversationId, message, ...extra });
    expect(res.status, await res.clone().text()).toBe(202);
    await h.settle();
    const sends = graph(h).requests.filter(
      (r) => r.method === 'POST' && r.path.endsWith('/messages'),
    );
    expect(sends).toHaveLength(1);
    const sent = must(sends[0], 'the Graph send');
    const { id } = ((await res.json()) as { message: { id: string } }).message;
    const [row] = await sql`select status, provider_message_id from messages where id = ${id}`;
    expect(row?.status).toBe('sent');
    expect(row?.provider_message_id).toBeTruthy();
    return { body: sent.body as Json, path: sent.path, headers: sent.headers, id };
  }

  describe('exact WhatsApp request bodies', () => {
    let conv: ConversationFixture;
    it.beforeAll(async ({ sql, tenant }) => {
      conv = await createConversation(sql, tenant);
    });
    const base = () => ({
      messaging_product: 'whatsapp',
      recipient_type: 'individual',
      to: conv.externalUserId,
    });

    it('text (a bare string), to the number’s messages endpoint with the account token', async ({
      harness: h,
      sql,
      tenant: t,
    }) => {
      const { body, path, headers, id } = await sentBody(h, sql, t, conv, 'Hola, ¿qué tal? 😀');
      expect(path).toBe(`/v23.0/${t.accounts.whatsapp.externalId}/messages`);
      expect(headers.authorization).toBe('Bearer test-graph-access-token');
      expect(body).toEqual({
        ...base(),
        type: 'text',
        text: { body: 'Hola, ¿qué tal? 😀' },
        biz_opaque_callback_data: id,
      });
    });

    it('text with preview_url, quoting a customer message (reply context)', async ({
      harness: h,
      sql,
      tenant: t,
    }) => {
      const { body, id } = await sentBody(
        h,
        sql,
        t,
        conv,
        { type: 'text', text: 'See https://example.test', preview_url: true },
        { reply_to_message_id: conv.inbound.id },
      );
      expect(body).toEqual({
        ...base(),
        context: { message_id: conv.inbound.providerMessageId },
        type: 'text',
        text: { body: 'See https://example.test', preview_url: true },
        biz_opaque_callback_data: id,
      });
    });

    it('image by link with caption, and by id', async ({ harness: h, sql, tenant: t }) => {
      const link = await sentBody(h, sql, t, conv, {
        type: 'image',
        link: 'https://cdn.example.test/a.png',
        caption: 'Our menu',
      });
      expect(link.body).toEqual({
        ...base(),
        type: 'image',
        image: { link: 'https://cdn.example.test/a.png', caption: 'Our menu' },
        biz_opaque_callback_data: link.id,
      });
      graph(h).reset();
      const byId = await sentBody(h, sql, t, conv, { type: 'image', id: '1234567890' });
      expect(byId.body).toEqual({
        ...base(),
        type: 'image',
        image: { id: '1234567890' },
        biz_opaque_callback_data: byId.id,
      });
    });

    it('video, audio, sticker and document with filename', async ({
      harness: h,
      sql,
      tenant: t,
    }) => {
      const cases: Array<[unknown, Json]> = [
        [
          { type: 'video', link: 'https://cdn.example.test/v.mp4', caption: 'How to' },
          { type: 'video', video: { link: 'https://cdn.example.test/v.mp4', caption: 'How to' } },
        ],
        [
          { type: 'audio', id: '42' },
          { type: 'audio', audio: { id: '42' } },
        ],
        [
          { type: 'sticker', id: '43' },
          { type: 'sticker', sticker: { id: '43' } },
        ],
        [
          {
            type: 'document',
            link: 'https://cdn.example.test/p.pdf',
            caption: 'Prices',
            filename: 'prices.pdf',
          },
          {
            type: 'document',
            document: {
              link: 'https://cdn.example.test/p.pdf',
              caption: 'Prices',
              filename: 'prices.pdf',
            },
          },
        ],
      ];
      for (const [message, expected] of cases) {
        graph(h).reset();
        const { body, id } = await sentBody(h, sql, t, conv, message);
        expect(body).toEqual({ ...base(), ...expected, biz_opaque_callback_data: id });
      }
    });

    it('reply buttons with header and footer', async ({ harness: h, sql, tenant: t }) => {
      const { body, id } = await sentBody(h, sql, t, conv, {
        type: 'buttons',
        header: { type: 'text', text: 'Your appointment' },
        body: 'Tomorrow at 10:00 with Ana. Can you make it?',
        footer: 'Clinic Sol',
        buttons: [
          { id: 'appt:1:confirm', title: 'Confirm' },
          { id: 'appt:1:reschedule', title: 'Reschedule' },
          { id: 'appt:1:cancel', title: 'Cancel' },
        ],
      });
      expect(body).toEqual({
        ...base(),
        type: 'interactive',
        interactive: {
          type: 'button',
          header: { type: 'text', text: 'Your appointment' },
          body: { text: 'Tomorrow at 10:00 with Ana. Can you make it?' },
          footer: { text: 'Clinic Sol' },
          action: {
            buttons: [
              { type: 'reply', reply: { id: 'appt:1:confirm', title: 'Confirm' } },
              { type: 'reply', reply: { id: 'appt:1:reschedule', title: 'Reschedule' } },
              { type: 'reply', reply: { id: 'appt:1:cancel', title: 'Cancel' } },
            ],
          },
        },
        biz_opaque_callback_data: id,
      });
    });

    it('list', async ({ harness: h, sql, tenant: t }) => {
      const { body, id } = await sentBody(h, sql, t, conv, {
        type: 'list',
        header: 'Free slots',
        body: 'Pick a time',
        button: 'See times',
        sections: [
          {
            title: 'Monday',
            rows: [
              { id: 'slot:1', title: '09:00', description: 'with Ana' },
              { id: 'slot:2', title: '10:00' },
            ],
          },
          { title: 'Tuesday', rows: [{ id: 'slot:3', title: '11:00' }] },
        ],
      });
      expect(body).toEqual({
        ...base(),
        type: 'interactive',
        interactive: {
          type: 'list',
          header: { type: 'text', text: 'Free slots' },
          body: { text: 'Pick a time' },
          action: {
            button: 'See times',
            sections: [
              {
                title: 'Monday',
                rows: [
                  { id: 'slot:1', title: '09:00', description: 'with Ana' },
                  { id: 'slot:2', title: '10:00' },
                ],
              },
              { title: 'Tuesday', rows: [{ id: 'slot:3', title: '11:00' }] },
            ],
          },
        },
        biz_opaque_callback_data: id,
      });
    });

    it('reaction to a customer message (no context)', async ({ harness: h, sql, tenant: t }) => {
      const { body, id } = await sentBody(h, sql, t, conv, {
        type: 'reaction',
        message_id: conv.inbound.id,
        emoji: '👍',
      });
      expect(body).toEqual({
        ...base(),
        type: 'reaction',
        reaction: { message_id: conv.inbound.providerMessageId, emoji: '👍' },
        biz_opaque_callback_data: id,
      });
    });
  });

  describe('exact Messenger and Instagram request bodies', () => {
    it('Messenger text, quick replies, buttons (as quick replies) and an attachment', async ({
      harness: h,
      sql,
      tenant: t,
    }) => {
      const conv = await createConversation(sql, t, { channel: 'messenger' });
      const recipient = { id: conv.externalUserId };
      const cases: Array<[unknown, Json]> = [
        ['Hello from the page', { text: 'Hello from the page' }],
        [
          {
            type: 'quick_replies',
            text: 'Which branch?',
            quick_replies: [
              { title: 'Centro', payload: 'branch:centro' },
              { title: 'Norte', payload: 'branch:norte' },
            ],
          },
          {
            text: 'Which branch?',
            quick_replies: [
              { content_type: 'text', title: 'Centro', payload: 'branch:centro' },
              { content_type: 'text', title: 'Norte', payload: 'branch:norte' },
            ],
          },
        ],
        [
          { type: 'buttons', body: 'Confirm?', buttons: [{ id: 'appt:9:confirm', title: 'Yes' }] },
          {
            text: 'Confirm?',
            quick_replies: [{ content_type: 'text', title: 'Yes', payload: 'appt:9:confirm' }],
          },
        ],
        [
          { type: 'document', link: 'https://cdn.example.test/p.pdf' },
          {
            attachment: {
              type: 'file',
              payload: { url: 'https://cdn.example.test/p.pdf', is_reusable: true },
            },
          },
        ],
      ];
      for (const [message, expected] of cases) {
        graph(h).reset();
        const { body, path } = await sentBody(h, sql, t, conv, message);
        expect(path).toBe(`/v23.0/${t.accounts.messenger.externalId}/messages`);
        // Messenger sends name our message in `metadata`, for the echo (docs/sending.md).
        expect(body).toEqual({
          recipient,
          messaging_type: 'RESPONSE',
          message: { ...(expected as object), metadata: expect.stringMatching(UUID) },
        });
      }
    });

    it('Instagram text', async ({ harness: h, sql, tenant: t }) => {
      const conv = await createConversation(sql, t, { channel: 'instagram' });
      const { body, path } = await sentBody(h, sql, t, conv, 'Hi from Instagram', {
        channel_source: 'instagram',
      });
      expect(path).toBe(`/v23.0/${t.accounts.instagram.externalId}/messages`);
      expect(body).toEqual({
        recipient: { id: conv.externalUserId },
        messaging_type: 'RESPONSE',
        message: { text: 'Hi from Instagram' },
      });
    });
  });

  describe("Meta's limits, refused with a 400 naming the limit before anything reaches Meta", () => {
    let wa: ConversationFixture;
    let ms: ConversationFixture;
    let ig: ConversationFixture;
    it.beforeAll(async ({ sql, tenant }) => {
      wa = await createConversation(sql, tenant);
      ms = await createConversation(sql, tenant, { channel: 'messenger' });
      ig = await createConversation(sql, tenant, { channel: 'instagram' });
    });

    const x = (n: number) => 'x'.repeat(n);
    const buttons = (n: number, title = 'Option') =>
      Array.from({ length: n }, (_, i) => ({ id: `b${i}`, title: `${title} ${i}` }));
    const rows = (n: number) =>
      Array.from({ length: n }, (_, i) => ({ id: `r${i}`, title: `Row ${i}` }));
    const cases: Array<[string, () => ConversationFixture, unknown, string]> = [
      ['text > 4096', () => wa, { type: 'text', text: x(4097) }, 'limited to 4096 characters'],
      [
        'caption > 1024',
        () => wa,
        { type: 'image', link: 'https://e.test/a.png', caption: x(1025) },
        'Caption is limited to 1024',
      ],
      ['media without id or link', () => wa, { type: 'image' }, 'exactly one of id or link'],
      [
        '4 reply buttons',
        () => wa,
        { type: 'buttons', body: 'b', buttons: buttons(4) },
        'at most 3 reply buttons',
      ],
      [
        'button title > 20',
        () => wa,
        { type: 'buttons', body: 'b', buttons: [{ id: 'a', title: x(21) }] },
        'Button title is limited to 20',
      ],
      [
        'button id > 256',
        () => wa,
        { type: 'buttons', body: 'b', buttons: [{ id: x(257), title: 'ok' }] },
        'Button id is limited to 256',
      ],
      [
        'duplicate button ids',
        () => wa,
        {
          type: 'buttons',
          body: 'b',
          buttons: [
            { id: 'same', title: 'One' },
            { id: 'same', title: 'Two' },
          ],
        },
        'Button ids must be unique',
      ],
      [
        'button body > 1024',
        () => wa,
        { type: 'buttons', body: x(1025), buttons: buttons(1) },
        'Button message body is limited to 1024',
      ],
      [
        'footer > 60',
        () => wa,
        { type: 'buttons', body: 'b', footer: x(61), buttons: buttons(1) },
        'Footer is limited to 60',
      ],
      [
        'list with 11 rows',
        () => wa,
        {
          type: 'list',
          body: 'b',
          button: 'Open',
          sections: [
            { title: 'A', rows: rows(6) },
            { title: 'B', rows: rows(5).map((r) => ({ ...r, id: `${r.id}b` })) },
          ],
        },
        'at most 10 rows in total',
      ],
      [
        'list row title > 24',
        () => wa,
        {
          type: 'list',
          body: 'b',
          button: 'Open',
          sections: [{ rows: [{ id: 'a', title: x(25) }] }],
        },
        'Row title is limited to 24',
      ],
      [
        'list row description > 72',
        () => wa,
        {
          type: 'list',
          body: 'b',
          button: 'Open',
          sections: [{ rows: [{ id: 'a', title: 'ok', description: x(73) }] }],
        },
        'Row description is limited to 72',
      ],
      [
        'list button label > 20',
        () => wa,
        { type: 'list', body: 'b', button: x(21), sections: [{ rows: rows(1) }] },
        'List button label is limited to 20',
      ],
      [
        'list section title > 24',
        () => wa,
        { type: 'list', body: 'b', button: 'Open', sections: [{ title: x(25), rows: rows(1) }] },
        'Section title is limited to 24',
      ],
      [
        'quick replies on WhatsApp',
        () => wa,
        { type: 'quick_replies', text: 't', quick_replies: [{ title: 'a', payload: 'a' }] },
        'not supported on whatsapp',
      ],
      [
        '14 quick replies',
        () => ms,
        {
          type: 'quick_replies',
          text: 't',
          quick_replies: Array.from({ length: 14 }, (_, i) => ({
            title: `q${i}`,
            payload: `p${i}`,
          })),
        },
        'at most 13 quick replies',
      ],
      [
        'quick reply title > 20',
        () => ms,
        { type: 'quick_replies', text: 't', quick_replies: [{ title: x(21), payload: 'p' }] },
        'Quick reply title is limited to 20',
      ],
      [
        'quick reply payload > 1000',
        () => ms,
        { type: 'quick_replies', text: 't', quick_replies: [{ title: 'ok', payload: x(1001) }] },
        'Quick reply payload is limited to 1000',
      ],
      ['Messenger text > 2000', () => ms, { type: 'text', text: x(2001) }, 'limited to 2000'],
      [
        'Instagram text > 1000 bytes',
        () => ig,
        { type: 'text', text: 'é'.repeat(501) },
        '1000 bytes',
      ],
      [
        'template on Messenger',
        () => ms,
        { type: 'template', name: 'x', language: 'en' },
        'only on whatsapp',
      ],
      [
        'caption on Messenger',
        () => ms,
        { type: 'image', link: 'https://e.test/a.png', caption: 'no' },
        'have no caption',
      ],
    ];

    for (const [name, conv, message, expected] of cases) {
      it(`refuses ${name}`, async ({ harness: h, sql, tenant: t }) => {
        const res = await send(h, t, { conversation_id: conv().conversationId, message });
        expect(res.status).toBe(400);
        const body = (await res.json()) as { error: { code: string; message: string } };
        expect(body.error.code).toBe('BAD_REQUEST');
        expect(body.error.message).toContain(expected);
        await h.settle();
        expect(graph(h).requests).toEqual([]);
        const [queued] =
          await sql`select count(*)::int as n from messages where conversation_id = ${conv().conversationId} and direction = 'outbound'`;
        expect(queued?.n).toBe(0);
      });
    }

    it('refuses a channel_source that is not the conversation’s channel', async ({
      harness: h,
      tenant: t,
    }) => {
      const res = await send(h, t, {
        conversation_id: wa.conversationId,
        message: 'hi',
        channel_source: 'messenger',
      });
      expect(res.status).toBe(400);
      expect(((await res.json()) as { error: { message: string } }).error.message).toContain(
        'the conversation is on whatsapp',
      );
    });
  });

  describe('the messaging window', () => {
    it('WhatsApp, window closed: 422 with the reason and the way out, nothing queued or sent', async ({
      harness: h,
      sql,
      tenant: t,
    }) => {
      const conv = await createConversation(sql, t, {
        lastInboundAt: new Date(Date.now() - 25 * HOUR),
      });
      const res = await send(h, t, {
        conversation_id: conv.conversationId,
        message: 'Are you there?',
      });
      expect(res.status).toBe(422);
      const error = ((await res.json()) as { error: { code: string; message: string } }).error;
      expect(error.code).toBe('UNPROCESSABLE');
      expect(error.message).toMatch(
        /24-hour WhatsApp window closed at .*Send an approved template/,
      );
      await h.settle();
      expect(graph(h).requests).toEqual([]);
    });

    it('WhatsApp, customer never wrote: 422', async ({ harness: h, sql, tenant: t }) => {
      const conv = await createConversation(sql, t, { lastInboundAt: null });
      const res = await send(h, t, { conversation_id: conv.conversationId, message: 'Hi' });
      expect(res.status).toBe(422);
      expect(((await res.json()) as { error: { message: string } }).error.message).toContain(
        'never written',
      );
    });

    it('Messenger, 2 days after the customer wrote: an operator reply goes out with HUMAN_AGENT', async ({
      harness: h,
      sql,
      tenant: t,
    }) => {
      const conv = await createConversation(sql, t, {
        channel: 'messenger',
        lastInboundAt: new Date(Date.now() - 48 * HOUR),
      });
      const { body } = await sentBody(h, sql, t, conv, 'Sorry for the delay!');
      expect(body).toEqual({
        recipient: { id: conv.externalUserId },
        messaging_type: 'MESSAGE_TAG',
        tag: 'HUMAN_AGENT',
        message: { text: 'Sorry for the delay!', metadata: expect.stringMatching(UUID) },
      });
    });

    it('Instagram, 8 days after: refused even for an operator', async ({
      harness: h,
      sql,
      tenant: t,
    }) => {
      const conv = await createConversation(sql, t, {
        channel: 'instagram',
        lastInboundAt: new Date(Date.now() - 8 * 24 * HOUR),
      });
      const res = await send(h, t, { conversation_id: conv.conversationId, message: 'Hello?' });
      expect(res.status).toBe(422);
      expect(((await res.json()) as { error: { message: string } }).error.message).toContain(
        '7 days',
      );
    });
  });

  it('documents the outbound routes in the OpenAPI document', async ({ harness: h }) => {
    const doc = (await (await h.request('/openapi.json')).json()) as {
      paths: Record<string, unknown>;
    };
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        '/admin/whatsapp/send',
        '/admin/templates',
        '/admin/templates/sync',
        '/admin/templates/send',
        '/admin/conversations/{id}',
        '/admin/conversations/{id}/human-override',
        '/admin/messages/{id}/retry',
        '/admin/messages/{id}/attempts',
        '/admin/contacts/{id}/opt-ins',
      ]),
    );
  });

  describe('routing and ownership', () => {
    it("answers 404 for another tenant's conversation, exactly like a missing one", async ({
      harness: h,
      sql,
      tenant: t,
      otherTenant: other,
    }) => {
      const foreign = await createConversation(sql, other);
      const a = await send(h, t, { conversation_id: foreign.conversationId, message: 'x' });
      const b = await send(h, t, { conversation_id: crypto.randomUUID(), message: 'x' });
      expect(a.status).toBe(404);
      expect(b.status).toBe(404);
      expect(((await a.json()) as { error: { code: string } }).error.code).toBe('NOT_FOUND');
      const [n] =
        await sql`select count(*)::int as n from messages where conversation_id = ${foreign.conversationId} and direction = 'outbound'`;
      expect(n?.n).toBe(0);
    });

    it('an operator reply locks the conversation (lock_on_operator_reply on) and says who', async ({
      harness: h,
      sql,
      tenant: t,
    }) => {
      const conv = await createConversation(sql, t);
      const res = await send(h, t, {
        conversation_id: conv.conversationId,
        message: 'I will take it from here',
      });
      expect(res.status).toBe(202);
      const [c] =
        await sql`select is_locked, locked_by, locked_by_user_id, lock_reason from conversations where id = ${conv.conversationId}`;
      expect(c).toMatchObject({
        is_locked: true,
        locked_by: 'operator',
        locked_by_user_id: t.agent.id,
        lock_reason: 'An operator replied',
      });
      const [m] =
        await sql`select sender, status, payload->>'requested_by_user_id' as by from messages where conversation_id = ${conv.conversationId} and direction = 'outbound'`;
      expect(m).toMatchObject({ sender: 'operator', status: 'queued', by: t.agent.id });
      await h.settle();
    });

    it('does not lock when the tenant turned lock_on_operator_reply off', async ({
      harness: h,
      sql,
      newTenant,
    }) => {
      const quiet = await newTenant('No lock');
      await sql`update tenant_settings set lock_on_operator_reply = false where tenant_id = ${quiet.tenantId}`;
      const conv = await createConversation(sql, quiet);
      const res = await h.asUser(quiet.agent, '/admin/whatsapp/send', {
        method: 'POST',
        body: JSON.stringify({ conversation_id: conv.conversationId, message: 'hi' }),
      });
      expect(res.status).toBe(202);
      const [c] = await sql`select is_locked from conversations where id = ${conv.conversationId}`;
      expect(c?.is_locked).toBe(false);
      await h.settle();
    });
  });
});

// Other bindings than the file's harness: this describe keeps its own.
describe('WHATSAPP_ALLOW_LIVE_SEND=false', () => {
  let h: Harness;
  let t: TenantFixture;
  it.beforeAll(async ({ sql }) => {
    h = await createHarness({ bindings: { WHATSAPP_ALLOW_LIVE_SEND: 'false' } });
    t = await createTenant(sql, 'Simulated');
    h.registerTenant(t);
  });
  afterAll(() => h.close());

  it('sends nothing to Meta and marks the message sent and simulated', async ({ sql }) => {
    const conv = await createConversation(sql, t);
    const res = await h.asUser(t.agent, '/admin/whatsapp/send', {
      method: 'POST',
      body: JSON.stringify({ conversation_id: conv.conversationId, message: 'Just testing' }),
    });
    expect(res.status).toBe(202);
    const { id } = ((await res.json()) as { message: { id: string } }).message;
    await h.settle();
    expect(graph(h).requests).toEqual([]);
    const [m] =
      await sql`select status, provider_message_id, payload->'simulated' as simulated from messages where id = ${id}`;
    expect(m?.status).toBe('sent');
    expect(m?.simulated).toBe(true);
    expect(m?.provider_message_id).toBe(`simulated:${id}:1`);
    const [a] =
      await sql`select outcome, request->>'type' as type from send_attempts where message_id = ${id}`;
    expect(a).toEqual({ outcome: 'simulated', type: 'text' });
  });
});
