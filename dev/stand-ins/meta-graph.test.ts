import { createHash, createHmac } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { type LoopbackServer, listenOnLoopback } from './http-server';
import {
  defaultTemplateFixtures,
  type MetaAccount,
  type MetaGraphStandIn,
  sendCustomerMessage,
  startMetaGraph,
  verifyWebhookSubscription,
} from './meta-graph';

const APP_SECRET = 'graph-test-app-secret';
const TOKEN = 'EAAG-test-token';
const V = 'v23.0';
const wa = {
  channel: 'whatsapp',
  phoneNumberId: '106540352242922',
  wabaId: '102290129340398',
  displayPhoneNumber: '+1 555-078-3881',
} as const;
const accounts: MetaAccount[] = [
  wa,
  { channel: 'messenger', pageId: '200000000000001' },
  { channel: 'instagram', igId: '17841400000000001' },
];

interface Received {
  url: string;
  raw: string;
  signature: string | null;
  body: {
    object: string;
    entry: Array<{
      id: string;
      changes?: Array<{
        field: string;
        value: Record<string, unknown> & { statuses?: Array<Record<string, unknown>> };
      }>;
      messaging?: Array<Record<string, unknown>>;
    }>;
  };
}

/** Independent check of Meta's signature, with node:crypto rather than the code under test. */
const validSignature = (received: Received) =>
  received.signature ===
  `sha256=${createHmac('sha256', APP_SECRET).update(received.raw).digest('hex')}`;

const received: Received[] = [];
let clock = Date.now();
let graph: MetaGraphStandIn;
let receiver: LoopbackServer;

beforeAll(async () => {
  // A real HTTP receiver for Messenger / Instagram, in-process delivery for WhatsApp: both paths.
  receiver = await listenOnLoopback(async (request) => {
    const raw = await request.text();
    received.push({
      url: request.url,
      raw,
      signature: request.headers.get('x-hub-signature-256'),
      body: JSON.parse(raw),
    });
    return new Response('EVENT_RECEIVED');
  });
  graph = await startMetaGraph({
    appSecret: APP_SECRET,
    accessToken: TOKEN,
    accounts,
    webhookUrl: {
      whatsapp: 'http://app.local/webhooks/whatsapp',
      messenger: `${receiver.url}/webhooks/messenger`,
      instagram: `${receiver.url}/webhooks/instagram`,
    },
    deliverWebhook: async (request) => {
      if (!request.url.startsWith('http://app.local/')) return fetch(request);
      const raw = await request.text();
      received.push({
        url: request.url,
        raw,
        signature: request.headers.get('x-hub-signature-256'),
        body: JSON.parse(raw),
      });
      return new Response('ok');
    },
    now: () => clock,
  });
});

afterAll(async () => {
  await graph.close();
  await receiver.close();
});

afterEach(async () => {
  await graph.flushWebhooks();
  graph.reset();
  received.length = 0;
  clock = Date.now();
});

function call(path: string, init: { method?: string; body?: unknown; token?: string | null } = {}) {
  const headers: Record<string, string> = {};
  if (init.token !== null) headers.authorization = `Bearer ${init.token ?? TOKEN}`;
  if (init.body !== undefined) headers['content-type'] = 'application/json';
  return fetch(`${graph.url}${path}`, {
    method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
    headers,
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  });
}

const sendWhatsApp = (payload: Record<string, unknown>) =>
  call(`/${V}/${wa.phoneNumberId}/messages`, {
    body: {
      messaging_product: 'whatsapp',
      recipient_type: 'individual',
      to: '+1 631-555-1181',
      ...payload,
    },
  });

async function expectGraphError(response: Response, code: number, status = 400) {
  expect(response.status).toBe(status);
  const body = (await response.json()) as { error: Record<string, unknown> };
  expect(body.error).toMatchObject({
    type: 'OAuthException',
    code,
    fbtrace_id: expect.any(String),
  });
  return body.error;
}

describe('WhatsApp sends', () => {
  it('returns a wamid and then three signed status webhooks, in order', async () => {
    const response = await sendWhatsApp({ type: 'text', text: { body: 'Hello there' } });
    expect(response.status).toBe(200);
    const sent = (await response.json()) as { messages: Array<{ id: string }> };
    expect(sent).toEqual({
      messaging_product: 'whatsapp',
      contacts: [{ input: '+1 631-555-1181', wa_id: '16315551181' }],
      messages: [{ id: expect.stringMatching(/^wamid\./) }],
    });

    await graph.flushWebhooks();
    expect(received).toHaveLength(3);
    expect(received.every(validSignature)).toBe(true);
    expect(received.map((r) => r.url)).toEqual(Array(3).fill('http://app.local/webhooks/whatsapp'));
    const statuses = received.map((r) => {
      expect(r.body.object).toBe('whatsapp_business_account');
      expect(r.body.entry[0]!.id).toBe(wa.wabaId);
      const change = r.body.entry[0]!.changes![0]!;
      expect(change.field).toBe('messages');
      expect(change.value).toMatchObject({
        messaging_product: 'whatsapp',
        metadata: {
          display_phone_number: wa.displayPhoneNumber,
          phone_number_id: wa.phoneNumberId,
        },
      });
      return change.value.statuses![0]!;
    });
    expect(statuses.map((s) => s.status)).toEqual(['sent', 'delivered', 'read']);
    for (const status of statuses) {
      expect(status).toMatchObject({
        id: sent.messages[0]!.id,
        recipient_id: '16315551181',
        timestamp: String(Math.floor(clock / 1000)),
      });
    }
    expect(statuses[0]!.pricing).toMatchObject({
      category: 'service',
      type: 'free_customer_service',
    });
    expect(statuses[2]!.pricing).toBeUndefined();
  });

  it('records what the app sent', async () => {
    await sendWhatsApp({ type: 'text', text: { body: 'x' } });
    expect(graph.requests).toHaveLength(1);
    expect(graph.requests[0]).toMatchObject({
      method: 'POST',
      path: `/${V}/${wa.phoneNumberId}/messages`,
      headers: { authorization: `Bearer ${TOKEN}` },
      body: { type: 'text', text: { body: 'x' } },
      time: clock,
    });
  });

  it('rejects a missing or wrong token with 401 / code 190', async () => {
    const error = await expectGraphError(
      await call(`/${V}/${wa.phoneNumberId}/messages`, { body: {}, token: null }),
      190,
      401,
    );
    expect(error.message).toContain('Invalid OAuth access token');
    for (const path of [`/${V}/${wa.phoneNumberId}`, `/${V}/${wa.wabaId}/message_templates`]) {
      await expectGraphError(await call(path, { token: null }), 190, 401);
    }
    await expectGraphError(
      await call(`/${V}/${wa.phoneNumberId}/messages`, { body: {}, token: 'nope' }),
      190,
      401,
    );
  });

  it('accepts the token as an access_token query parameter too', async () => {
    const response = await fetch(`${graph.url}/${V}/${wa.phoneNumberId}?access_token=${TOKEN}`);
    expect(await response.json()).toMatchObject({
      id: wa.phoneNumberId,
      display_phone_number: wa.displayPhoneNumber,
    });
  });

  it('answers an unknown id with Graph error 100 / subcode 33', async () => {
    const error = await expectGraphError(
      await call(`/${V}/999/messages`, { body: { messaging_product: 'whatsapp' } }),
      100,
    );
    expect(error).toMatchObject({ error_subcode: 33 });
    expect(error.message).toContain("Object with ID '999' does not exist");
  });

  it('marks messages read (with typing indicator) without any webhook', async () => {
    const response = await sendWhatsApp({
      status: 'read',
      message_id: 'wamid.IN',
      typing_indicator: { type: 'text' },
      to: undefined,
    });
    expect(await response.json()).toEqual({ success: true });
    await graph.flushWebhooks();
    expect(received).toHaveLength(0);
  });

  const button = (id: string, title: string) => ({ type: 'reply', reply: { id, title } });
  const buttons = (list: unknown[], extra: Record<string, unknown> = {}) => ({
    type: 'interactive',
    interactive: {
      type: 'button',
      body: { text: 'Pick one' },
      action: { buttons: list },
      ...extra,
    },
  });
  const list = (rows: number[], extra: { title?: string; description?: string } = {}) => ({
    type: 'interactive',
    interactive: {
      type: 'list',
      body: { text: 'Choose' },
      action: {
        button: 'Options',
        sections: rows.map((count, s) => ({
          title: `Section ${s}`,
          rows: Array.from({ length: count }, (_, r) => ({
            id: `s${s}r${r}`,
            title: extra.title ?? `Row ${r}`,
            ...(extra.description ? { description: extra.description } : {}),
          })),
        })),
      },
    },
  });

  it.each([
    ['text of 4096 characters', { type: 'text', text: { body: 'a'.repeat(4096) } }],
    ['3 reply buttons', buttons([button('a', 'A'), button('b', 'B'), button('c', 'C'.repeat(20))])],
    ['a list with 10 rows over 2 sections', list([6, 4], { description: 'd'.repeat(72) })],
    [
      'an image by link',
      { type: 'image', image: { link: 'https://example.com/a.jpg', caption: 'c' } },
    ],
    ['a document by id', { type: 'document', document: { id: '123', filename: 'a.pdf' } }],
    ['a reaction', { type: 'reaction', reaction: { message_id: 'wamid.X', emoji: '👍' } }],
    ['a reply quote', { type: 'text', text: { body: 'x' }, context: { message_id: 'wamid.X' } }],
  ])('accepts %s', async (_, payload) => {
    expect((await sendWhatsApp(payload)).status).toBe(200);
  });

  it.each([
    ['text over 4096 characters', { type: 'text', text: { body: 'a'.repeat(4097) } }, 131009],
    ['text without body', { type: 'text', text: {} }, 131008],
    ['no reply buttons', buttons([]), 131009],
    ['4 reply buttons', buttons(['a', 'b', 'c', 'd'].map((x) => button(x, x))), 131009],
    ['a button title over 20', buttons([button('a', 'T'.repeat(21))]), 131009],
    ['a button id over 256', buttons([button('i'.repeat(257), 'A')]), 131009],
    ['duplicate button ids', buttons([button('a', 'A'), button('a', 'B')]), 131009],
    [
      'a button body over 1024',
      buttons([button('a', 'A')], { body: { text: 'b'.repeat(1025) } }),
      131009,
    ],
    ['a footer over 60', buttons([button('a', 'A')], { footer: { text: 'f'.repeat(61) } }), 131009],
    ['11 list rows in total', list([6, 5]), 131009],
    ['a row title over 24', list([1], { title: 't'.repeat(25) }), 131009],
    ['a row description over 72', list([1], { description: 'd'.repeat(73) }), 131009],
    [
      'media with id and link',
      { type: 'image', image: { id: '1', link: 'https://x/y.jpg' } },
      131009,
    ],
    ['media with neither id nor link', { type: 'video', video: {} }, 131009],
    [
      'a template without name',
      { type: 'template', template: { language: { code: 'en_US' } } },
      131008,
    ],
    [
      'a template without language',
      { type: 'template', template: { name: 'order_shipped' } },
      131008,
    ],
    ['an unknown type', { type: 'hologram' }, 100],
    [
      'no messaging_product',
      { messaging_product: undefined, type: 'text', text: { body: 'x' } },
      100,
    ],
  ])('rejects %s', async (_, payload, code) => {
    await expectGraphError(await sendWhatsApp(payload), code);
    await graph.flushWebhooks();
    expect(received).toHaveLength(0);
  });

  it('names the problem in error_data.details, as Meta does', async () => {
    const error = await expectGraphError(
      await sendWhatsApp(buttons([button('a', 'T'.repeat(21))])),
      131009,
    );
    expect(error).toMatchObject({
      message: '(#131009) Parameter value is not valid',
      error_data: {
        messaging_product: 'whatsapp',
        details: 'Button title length invalid. Min length: 1, Max length: 20',
      },
    });
  });
});

describe('WhatsApp template sends', () => {
  const template = (name: string, code: string, components?: unknown[]) => ({
    type: 'template',
    template: { name, language: { code }, ...(components ? { components } : {}) },
  });
  const body = (...texts: string[]) => [
    { type: 'body', parameters: texts.map((text) => ({ type: 'text', text })) },
  ];

  it('accepts an approved template with the right parameters and bills it by category', async () => {
    const response = await sendWhatsApp(template('order_shipped', 'en_US', body('#42')));
    expect(await response.json()).toMatchObject({ messages: [{ message_status: 'accepted' }] });
    await graph.flushWebhooks();
    expect(received[0]!.body.entry[0]!.changes![0]!.value.statuses![0]!.pricing).toEqual({
      billable: true,
      pricing_model: 'PMP',
      type: 'regular',
      category: 'utility',
    });
  });

  it('checks named parameters against the template', async () => {
    const named = (names: string[]) => [
      {
        type: 'body',
        parameters: names.map((n) => ({ type: 'text', parameter_name: n, text: 'x' })),
      },
    ];
    expect(
      (await sendWhatsApp(template('appointment_reminder', 'en_US', named(['date', 'first_name']))))
        .status,
    ).toBe(200);
    await expectGraphError(
      await sendWhatsApp(template('appointment_reminder', 'en_US', named(['date', 'name']))),
      132012,
    );
  });

  it('rejects a parameter count mismatch with 132000', async () => {
    const error = await expectGraphError(
      await sendWhatsApp(template('order_shipped', 'en_US')),
      132000,
    );
    expect(error.error_data).toMatchObject({ details: expect.stringContaining('body') });
  });

  it('rejects unknown, wrong-language and paused templates', async () => {
    await expectGraphError(await sendWhatsApp(template('nope', 'en_US')), 132001, 404);
    await expectGraphError(await sendWhatsApp(template('spring_sale', 'es')), 132001, 404);
    expect((await sendWhatsApp(template('order_shipped', 'es', body('#1')))).status).toBe(200);
    await expectGraphError(await sendWhatsApp(template('feedback_request', 'en_US')), 132015);
  });
});

describe('failNext', () => {
  it('fails the next send once with the given Graph error, then recovers', async () => {
    graph.failNext({
      code: 131047,
      message: '(#131047) Re-engagement message',
      details: 'More than 24 hours',
    });
    const error = await expectGraphError(await sendWhatsApp({ text: { body: 'x' } }), 131047);
    expect(error).toMatchObject({
      error_data: { messaging_product: 'whatsapp', details: 'More than 24 hours' },
    });
    expect((await sendWhatsApp({ text: { body: 'x' } })).status).toBe(200);
  });

  it('honours times, status, subcode and match', async () => {
    graph.failNext({ status: 503, code: 2, message: 'Service temporarily unavailable', times: 2 });
    graph.failNext({
      code: 130429,
      subcode: 2494055,
      message: '(#130429) Rate limit hit',
      match: (r) => r.path.endsWith('/message_templates'),
    });
    await expectGraphError(await sendWhatsApp({ text: { body: 'x' } }), 2, 503);
    await expectGraphError(await call(`/${V}/${wa.phoneNumberId}`), 2, 503);
    expect((await sendWhatsApp({ text: { body: 'x' } })).status).toBe(200);
    const error = await expectGraphError(
      await call(`/${V}/${wa.wabaId}/message_templates`),
      130429,
    );
    expect(error.error_subcode).toBe(2494055);
    expect((await call(`/${V}/${wa.wabaId}/message_templates`)).status).toBe(200);
  });

  it('can report the error in a failed status webhook instead of the response', async () => {
    graph.failNext({
      code: 131026,
      message: 'Message undeliverable',
      details: 'Unable to deliver message.',
      via: 'webhook',
    });
    const response = await sendWhatsApp({ text: { body: 'x' } });
    expect(response.status).toBe(200);
    const { messages } = (await response.json()) as { messages: Array<{ id: string }> };
    await graph.flushWebhooks();
    expect(received).toHaveLength(1);
    expect(validSignature(received[0]!)).toBe(true);
    expect(received[0]!.body.entry[0]!.changes![0]!.value.statuses).toEqual([
      {
        id: messages[0]!.id,
        status: 'failed',
        timestamp: expect.any(String),
        recipient_id: '16315551181',
        errors: [
          {
            code: 131026,
            title: 'Message undeliverable',
            message: 'Message undeliverable',
            error_data: { details: 'Unable to deliver message.' },
            href: expect.any(String),
          },
        ],
      },
    ]);
  });
});

describe('media', () => {
  const bytes = new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3]);

  it('serves media in two steps; the URL needs the token and expires after 5 minutes', async () => {
    const id = graph.addMedia(bytes, 'image/jpeg');
    const info = (await (await call(`/${V}/${id}`)).json()) as Record<string, unknown>;
    expect(info).toEqual({
      messaging_product: 'whatsapp',
      url: expect.stringContaining(`${graph.url}/media-download/${id}?exp=`),
      mime_type: 'image/jpeg',
      sha256: createHash('sha256').update(bytes).digest('hex'),
      file_size: bytes.length,
      id,
    });
    const url = info.url as string;

    const anonymous = await fetch(url);
    expect(anonymous.status).toBe(401);
    await anonymous.arrayBuffer();

    const download = await fetch(url, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(download.status).toBe(200);
    expect(download.headers.get('content-type')).toBe('image/jpeg');
    expect(new Uint8Array(await download.arrayBuffer())).toEqual(bytes);

    const tampered = url.replace(/exp=(\d+)/, (_, exp: string) => `exp=${Number(exp) + 3600}`);
    const forged = await fetch(tampered, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(forged.status).toBe(404);
    await forged.arrayBuffer();

    clock += 5 * 60_000 + 1_000;
    const expired = await fetch(url, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(expired.status).toBe(404);
    await expired.arrayBuffer();
    // A fresh lookup gives a working URL again.
    const fresh = (await (await call(`/${V}/${id}`)).json()) as { url: string };
    const again = await fetch(fresh.url, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(again.status).toBe(200);
    await again.arrayBuffer();
  });

  it('accepts multipart uploads of supported types and rejects others', async () => {
    const upload = (type: string, data: Uint8Array) => {
      const form = new FormData();
      form.set('messaging_product', 'whatsapp');
      form.set('type', type);
      form.set('file', new Blob([data as Uint8Array<ArrayBuffer>], { type }), 'file');
      return fetch(`${graph.url}/${V}/${wa.phoneNumberId}/media`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}` },
        body: form,
      });
    };
    const response = await upload('audio/ogg; codecs=opus', bytes);
    expect(response.status).toBe(200);
    const { id } = (await response.json()) as { id: string };
    expect(id).toMatch(/^\d+$/);
    expect(graph.requests.at(-1)!.body).toMatchObject({
      fields: { messaging_product: 'whatsapp' },
      file: { size: bytes.length },
    });
    const info = (await (await call(`/${V}/${id}`)).json()) as { url: string; mime_type: string };
    expect(info.mime_type).toBe('audio/ogg; codecs=opus');
    const download = await fetch(info.url, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(new Uint8Array(await download.arrayBuffer())).toEqual(bytes);

    await expectGraphError(await upload('image/gif', bytes), 100);
    await expectGraphError(await upload('image/webp', new Uint8Array(600 * 1024)), 131053);
  });

  it('deletes media', async () => {
    const id = graph.addMedia(bytes, 'image/png');
    expect(await (await call(`/${V}/${id}`, { method: 'DELETE' })).json()).toEqual({
      success: true,
    });
    await expectGraphError(await call(`/${V}/${id}`), 100);
  });
});

describe('templates', () => {
  it('pages with cursors; next only while more remain', async () => {
    const first = (await (await call(`/${V}/${wa.wabaId}/message_templates?limit=3`)).json()) as {
      data: Array<{ id: string; name: string }>;
      paging: { cursors: { before: string; after: string }; next?: string; previous?: string };
    };
    expect(first.data.map((t) => t.id)).toEqual(
      defaultTemplateFixtures.slice(0, 3).map((t) => t.id),
    );
    expect(first.data[0]).toEqual(defaultTemplateFixtures[0]);
    expect(first.paging.cursors).toEqual({ before: expect.any(String), after: expect.any(String) });
    expect(first.paging.previous).toBeUndefined();
    expect(first.paging.next).toContain(`after=${first.paging.cursors.after}`);

    const second = (await (
      await fetch(first.paging.next!, { headers: { authorization: `Bearer ${TOKEN}` } })
    ).json()) as typeof first;
    expect(second.data.map((t) => t.id)).toEqual(defaultTemplateFixtures.slice(3).map((t) => t.id));
    expect(second.paging.next).toBeUndefined();
    expect(second.paging.previous).toContain('before=');

    const back = (await (
      await fetch(second.paging.previous!, { headers: { authorization: `Bearer ${TOKEN}` } })
    ).json()) as typeof first;
    expect(back.data.map((t) => t.id)).toEqual(first.data.map((t) => t.id));
  });

  it('filters by status and projects fields', async () => {
    const response = await call(
      `/${V}/${wa.wabaId}/message_templates?status=APPROVED&fields=name,status`,
    );
    const { data } = (await response.json()) as { data: Array<Record<string, unknown>> };
    expect(data).toHaveLength(4);
    expect(data[0]).toEqual({
      id: defaultTemplateFixtures[0]!.id,
      name: 'order_shipped',
      status: 'APPROVED',
    });
  });

  it('returns a single template by id', async () => {
    const paused = defaultTemplateFixtures.find((t) => t.status === 'PAUSED')!;
    expect(await (await call(`/${V}/${paused.id}?fields=status`)).json()).toMatchObject({
      status: 'PAUSED',
    });
  });
});

describe('delayNext', () => {
  it('takes the send (webhooks and all) but answers late; reset() answers at once', async () => {
    graph.delayNext(60_000);
    let answered = false;
    const answer = sendWhatsApp({
      text: { body: 'slow' },
      biz_opaque_callback_data: 'our-message-id',
    }).then((response) => {
      answered = true;
      return response;
    });
    await vi.waitFor(() => expect(received).toHaveLength(3));
    expect(answered).toBe(false);
    const statuses = received.map((r) => r.body.entry[0]!.changes![0]!.value.statuses![0]!);
    expect(statuses.map((s) => [s.status, s.biz_opaque_callback_data])).toEqual([
      ['sent', 'our-message-id'],
      ['delivered', 'our-message-id'],
      ['read', 'our-message-id'],
    ]);
    graph.reset();
    const response = await answer;
    expect(response.status).toBe(200);
    const { messages } = (await response.json()) as { messages: Array<{ id: string }> };
    expect(statuses.every((s) => s.id === messages[0]!.id)).toBe(true);
  });

  it('delays only matching requests', async () => {
    graph.delayNext(60_000, { match: (r) => r.path.endsWith('/message_templates') });
    expect((await sendWhatsApp({ text: { body: 'quick' } })).status).toBe(200);
  });
});

describe('messaging echoes', () => {
  it('posts the echo of a Send API message before answering it, with the app id asked for', async () => {
    const echoes: Array<{ messaging: Array<Record<string, unknown>> }> = [];
    const echoing = await startMetaGraph({
      appSecret: APP_SECRET,
      accessToken: TOKEN,
      accounts,
      webhookUrl: 'http://app.local/webhooks/meta',
      deliverWebhook: async (request) => {
        echoes.push(((await request.json()) as { entry: (typeof echoes)[number][] }).entry[0]!);
        return new Response('ok');
      },
      statusProgression: false,
      messagingEchoes: {},
    });
    try {
      const response = await fetch(`${echoing.url}/${V}/200000000000001/messages`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          recipient: { id: 'PSID-1' },
          messaging_type: 'RESPONSE',
          message: { text: 'Hi!' },
        }),
      });
      const { message_id } = (await response.json()) as { message_id: string };
      // Already there when the answer came back.
      expect(echoes).toHaveLength(1);
      expect(echoes[0]!.messaging[0]).toMatchObject({
        sender: { id: '200000000000001' },
        recipient: { id: 'PSID-1' },
        message: { mid: message_id, is_echo: true, text: 'Hi!' },
      });
      expect(echoes[0]!.messaging[0]!.message).not.toHaveProperty('app_id');
    } finally {
      await echoing.close();
    }
  });
});

describe('Messenger and Instagram', () => {
  const send = (accountId: string, payload: Record<string, unknown>) =>
    call(`/${V}/${accountId}/messages`, {
      body: { recipient: { id: 'PSID-1' }, messaging_type: 'RESPONSE', ...payload },
    });

  it('sends on Messenger, then delivers delivery and read webhooks over HTTP', async () => {
    const response = await send('200000000000001', {
      message: {
        text: 'Hi!',
        quick_replies: [{ content_type: 'text', title: 'Yes', payload: 'YES' }],
      },
    });
    const sent = (await response.json()) as { recipient_id: string; message_id: string };
    expect(sent).toEqual({ recipient_id: 'PSID-1', message_id: expect.stringMatching(/^m_/) });

    await graph.flushWebhooks();
    expect(received).toHaveLength(2);
    expect(received.every(validSignature)).toBe(true);
    expect(received.map((r) => r.url)).toEqual(Array(2).fill(`${receiver.url}/webhooks/messenger`));
    expect(received.map((r) => r.body.object)).toEqual(['page', 'page']);
    const [delivery, read] = received.map((r) => r.body.entry[0]!.messaging![0]!);
    expect(delivery).toMatchObject({
      sender: { id: 'PSID-1' },
      recipient: { id: '200000000000001' },
      delivery: { mids: [sent.message_id], watermark: clock },
    });
    expect(read).toMatchObject({ read: { watermark: clock } });
  });

  it('sends on Instagram and reports messaging_seen with the mid', async () => {
    const response = await send('17841400000000001', {
      messaging_type: 'MESSAGE_TAG',
      tag: 'HUMAN_AGENT',
      message: { text: 'A human here' },
    });
    const { message_id } = (await response.json()) as { message_id: string };
    await graph.flushWebhooks();
    expect(received).toHaveLength(1);
    expect(received[0]!.body).toMatchObject({
      object: 'instagram',
      entry: [{ id: '17841400000000001', messaging: [{ read: { mid: message_id } }] }],
    });
  });

  it('answers sender actions without webhooks', async () => {
    const response = await send('200000000000001', {
      sender_action: 'typing_on',
      messaging_type: undefined,
    });
    expect(await response.json()).toEqual({ recipient_id: 'PSID-1' });
  });

  const replies = (count: number, title = 'Ok') =>
    Array.from({ length: count }, (_, i) => ({ content_type: 'text', title, payload: `P${i}` }));

  it.each([
    ['14 quick replies', { message: { text: 'x', quick_replies: replies(14) } }],
    [
      'a quick reply title over 20',
      { message: { text: 'x', quick_replies: replies(1, 'q'.repeat(21)) } },
    ],
    ['MESSAGE_TAG without a tag', { messaging_type: 'MESSAGE_TAG', message: { text: 'x' } }],
    ['an unknown messaging_type', { messaging_type: 'PROMO', message: { text: 'x' } }],
    ['no recipient', { recipient: undefined, message: { text: 'x' } }],
    ['text over 2000 characters', { message: { text: 'x'.repeat(2001) } }],
    [
      'text and attachment together',
      { message: { text: 'x', attachment: { type: 'image', payload: {} } } },
    ],
  ])('rejects %s', async (_, payload) => {
    const error = await expectGraphError(await send('200000000000001', payload), 100);
    expect(error.error_data).toBeUndefined();
  });

  it('accepts 13 quick replies', async () => {
    expect(
      (await send('200000000000001', { message: { text: 'x', quick_replies: replies(13) } }))
        .status,
    ).toBe(200);
  });
});

describe('status progression off', () => {
  it('sends no webhooks', async () => {
    const quiet = await startMetaGraph({
      appSecret: APP_SECRET,
      accessToken: TOKEN,
      accounts,
      statusProgression: false,
      deliverWebhook: async () => {
        throw new Error('no webhook expected');
      },
    });
    try {
      const response = await fetch(`${quiet.url}/${V}/${wa.phoneNumberId}/messages`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ messaging_product: 'whatsapp', to: '1', text: { body: 'x' } }),
      });
      expect(response.status).toBe(200);
      await quiet.flushWebhooks();
      expect(quiet.webhooks).toEqual([]);
    } finally {
      await quiet.close();
    }
  });
});

describe('customer simulator', () => {
  it('posts a signed WhatsApp message, resolving the number by display phone', async () => {
    const response = await graph.sendCustomerMessage({
      channel: 'whatsapp',
      to: '15550783881',
      from: '+1 631 555 1181',
      text: 'Où est ma commande? / 📦',
      name: 'Kerry',
      timestamp: 1_700_000_000_000,
    });
    expect(response.status).toBe(200);
    const [message] = received;
    expect(validSignature(message!)).toBe(true);
    // Meta escapes non-ASCII and slashes; the raw bytes, not a re-serialisation, are signed.
    expect(message!.raw).toContain('O\\u00f9 est ma commande? \\/ \\ud83d\\udce6');
    expect(message!.body.entry[0]!.changes![0]!.value).toMatchObject({
      metadata: { phone_number_id: wa.phoneNumberId },
      contacts: [{ profile: { name: 'Kerry' }, wa_id: '16315551181' }],
      messages: [
        {
          from: '16315551181',
          timestamp: '1700000000',
          type: 'text',
          text: { body: 'Où est ma commande? / 📦' },
        },
      ],
    });
  });

  it('works standalone against an HTTP endpoint, for Messenger', async () => {
    const response = await sendCustomerMessage({
      webhookUrl: `${receiver.url}/webhooks/messenger`,
      appSecret: APP_SECRET,
      channel: 'messenger',
      to: '200000000000001',
      from: 'PSID-9',
      text: 'hello',
    });
    expect(await response.text()).toBe('EVENT_RECEIVED');
    expect(validSignature(received[0]!)).toBe(true);
    expect(received[0]!.body.entry[0]!.messaging![0]).toMatchObject({
      sender: { id: 'PSID-9' },
      recipient: { id: '200000000000001' },
      message: { mid: expect.stringMatching(/^m_/), text: 'hello' },
    });
  });

  it('taps a reply button: a WhatsApp button reply, a Messenger quick reply', async () => {
    await graph.sendCustomerMessage({
      channel: 'whatsapp',
      to: wa.phoneNumberId,
      from: '16315551181',
      text: 'mar 10:00',
      replyId: 'slot:a.b.123:book',
    });
    expect(received[0]!.body.entry[0]!.changes![0]!.value).toMatchObject({
      messages: [
        {
          type: 'interactive',
          interactive: {
            type: 'button_reply',
            button_reply: { id: 'slot:a.b.123:book', title: 'mar 10:00' },
          },
        },
      ],
    });
    await sendCustomerMessage({
      webhookUrl: `${receiver.url}/webhooks/messenger`,
      appSecret: APP_SECRET,
      channel: 'messenger',
      to: '200000000000001',
      from: 'PSID-9',
      text: 'mar 10:00',
      replyId: 'slot:a.b.123:book',
    });
    expect(received[1]!.body.entry[0]!.messaging![0]).toMatchObject({
      message: { text: 'mar 10:00', quick_reply: { payload: 'slot:a.b.123:book' } },
    });
  });

  it('refuses a WhatsApp number it cannot resolve', async () => {
    await expect(
      sendCustomerMessage({
        deliver: fetch,
        appSecret: 'x',
        channel: 'whatsapp',
        to: '000',
        from: '1',
        text: 'x',
      }),
    ).rejects.toThrow(/no WhatsApp account/);
  });

  it('runs the subscription handshake', async () => {
    const app = async (request: Request) => {
      const url = new URL(request.url);
      return url.searchParams.get('hub.verify_token') === 'good'
        ? new Response(url.searchParams.get('hub.challenge'))
        : new Response('forbidden', { status: 403 });
    };
    expect(
      await verifyWebhookSubscription({
        webhookUrl: 'http://x/wh',
        verifyToken: 'good',
        deliver: app,
      }),
    ).toMatchObject({
      ok: true,
      status: 200,
    });
    expect(
      await verifyWebhookSubscription({
        webhookUrl: 'http://x/wh',
        verifyToken: 'bad',
        deliver: app,
      }),
    ).toMatchObject({
      ok: false,
      status: 403,
    });
  });
});

describe('reset', () => {
  it('forgets requests, failures and media', async () => {
    const id = graph.addMedia(new Uint8Array([1]), 'image/png');
    await call(`/${V}/${wa.phoneNumberId}`);
    graph.failNext({ code: 131047, message: 'x' });
    graph.reset();
    expect(graph.requests).toEqual([]);
    expect((await sendWhatsApp({ text: { body: 'x' } })).status).toBe(200);
    await expectGraphError(await call(`/${V}/${id}`), 100);
  });
});

describe('control over HTTP (/_control)', () => {
  type Listed = {
    requests: Array<{
      seq: number;
      method: string;
      path: string;
      body: unknown;
      injected?: { delayMs?: number; failure?: { code: number; status: number; via: string } };
    }>;
    lastSeq: number;
  };
  type ControlError = { error: { message: string; issues?: Array<{ path: string }> } };

  const control = (path: string, body?: unknown, headers: Record<string, string> = {}) =>
    fetch(`${graph.url}/_control${path}`, {
      method: body === undefined ? 'GET' : 'POST',
      headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
  const listed = async (since?: number) => {
    const response = await control(`/requests${since === undefined ? '' : `?since=${since}`}`);
    expect(response.status).toBe(200);
    return (await response.json()) as Listed;
  };
  const failNext = async (body: unknown) => {
    const response = await control('/fail-next', body);
    expect(response.status).toBe(200);
  };
  const sendsPath = `/${V}/${wa.phoneNumberId}/messages`;

  it('lists the recorded requests, only newer ones with ?since=, and not its own calls', async () => {
    await sendWhatsApp({ type: 'text', text: { body: 'first' } });
    await call(`/${V}/${wa.phoneNumberId}`);
    const all = await listed();
    expect(all.requests.map((r) => [r.method, r.path])).toEqual([
      ['POST', sendsPath],
      ['GET', `/${V}/${wa.phoneNumberId}`],
    ]);
    expect(all.requests[0]?.body).toMatchObject({ type: 'text', text: { body: 'first' } });
    expect(all.requests[1]!.seq).toBe(all.requests[0]!.seq + 1);
    expect(all.lastSeq).toBe(all.requests[1]!.seq);

    await sendWhatsApp({ type: 'text', text: { body: 'second' } });
    const newer = await listed(all.lastSeq);
    expect(newer.requests.map((r) => r.body)).toEqual([
      expect.objectContaining({ text: { body: 'second' } }),
    ]);
    // The control calls above are not Graph traffic.
    expect(graph.requests.map((r) => r.path)).toEqual([
      sendsPath,
      `/${V}/${wa.phoneNumberId}`,
      sendsPath,
    ]);
  });

  it('fails the next send with an injected 500, then sends succeed again', async () => {
    await failNext({ code: 2, status: 500 });
    // Only sends: a lookup in between is answered normally.
    expect((await call(`/${V}/${wa.phoneNumberId}`)).status).toBe(200);
    const error = await expectGraphError(await sendWhatsApp({ text: { body: 'x' } }), 2, 500);
    expect(error.message).toBe('Service temporarily unavailable');
    expect((await sendWhatsApp({ text: { body: 'x' } })).status).toBe(200);
    expect((await sendWhatsApp({ text: { body: 'x' } })).status).toBe(200);
    const { requests } = await listed();
    expect(requests.map((r) => r.injected ?? null)).toEqual([
      null,
      { failure: { code: 2, status: 500, via: 'response' } },
      null,
      null,
    ]);
  });

  it('fails `count` sends with a Graph error, named as Meta names it', async () => {
    await failNext({ code: 131047, count: 2, details: 'More than 24 hours' });
    for (let i = 0; i < 2; i++) {
      const error = await expectGraphError(await sendWhatsApp({ text: { body: 'x' } }), 131047);
      expect(error).toMatchObject({
        message: '(#131047) Re-engagement message',
        error_data: { messaging_product: 'whatsapp', details: 'More than 24 hours' },
      });
    }
    expect((await sendWhatsApp({ text: { body: 'x' } })).status).toBe(200);
  });

  it('delays the next send (handled, answered late) and records the delay', async () => {
    await failNext({ delayMs: 1 });
    expect((await sendWhatsApp({ text: { body: 'late' } })).status).toBe(200);
    expect((await sendWhatsApp({ text: { body: 'on time' } })).status).toBe(200);
    const { requests } = await listed();
    expect(requests.map((r) => r.injected ?? null)).toEqual([{ delayMs: 1 }, null]);
  });

  it('holds a delayed answer until POST /_control/reset, which also forgets everything', async () => {
    await failNext({ delayMs: 600_000, code: 131047, count: 5 });
    let answered = false;
    const answer = sendWhatsApp({ text: { body: 'held' } }).then((response) => {
      answered = true;
      return response;
    });
    await vi.waitFor(async () =>
      expect((await listed()).requests.map((r) => r.injected?.delayMs)).toEqual([600_000]),
    );
    expect(answered).toBe(false);
    const reset = await control('/reset', {});
    expect(await reset.json()).toEqual({ reset: true });
    await expectGraphError(await answer, 131047);
    // The remaining injected failures and the record are gone.
    expect((await sendWhatsApp({ text: { body: 'x' } })).status).toBe(200);
    expect((await listed()).requests.map((r) => r.body)).toEqual([
      expect.objectContaining({ text: { body: 'x' } }),
    ]);
  });

  it.each([
    [{}, '', 'give "code"'],
    [{ code: '131047' }, 'code', 'code: '],
    [{ code: 131047, status: 200 }, 'status', 'status: '],
    [{ code: 131047, count: 0 }, 'count', 'count: '],
    [{ delayMs: -1 }, 'delayMs', 'delayMs: '],
    [{ code: 131047, via: 'carrier pigeon' }, 'via', 'via: '],
    [{ status: 500 }, '', 'give "code" too'],
    [{ code: 131047, typo: true }, '', 'typo'],
  ])('refuses fail-next %j with 400 naming the problem', async (body, path, text) => {
    const response = await control('/fail-next', body);
    expect(response.status).toBe(400);
    const { error } = (await response.json()) as ControlError;
    expect(error.message).toMatch(/^Invalid fail-next body: /);
    expect(error.message).toContain(text);
    expect(error.issues?.map((i) => i.path)).toContain(path);
    // Nothing was injected.
    expect((await sendWhatsApp({ text: { body: 'x' } })).status).toBe(200);
  });

  it('refuses a body that is not JSON, a bad ?since= and unknown control paths', async () => {
    const notJson = await control('/fail-next', '{code:', {});
    expect(notJson.status).toBe(400);
    expect(((await notJson.json()) as ControlError).error.message).toBe(
      'The body is not valid JSON.',
    );
    const noType = await fetch(`${graph.url}/_control/fail-next`, {
      method: 'POST',
      body: '{"code":2}',
    });
    expect(noType.status).toBe(400);
    expect(((await noType.json()) as ControlError).error.message).toContain('application/json');
    const badSince = await control('/requests?since=yesterday');
    expect(badSince.status).toBe(400);
    expect(((await badSince.json()) as ControlError).error.message).toMatch(
      /^Invalid query: since/,
    );
    const unknown = await control('/fail-everything', {});
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as ControlError).error.message).toContain(
      'POST /_control/fail-next',
    );
  });
});

describe('customer profiles (User Profile APIs)', () => {
  it('answers GET /{PSID} and /{IGSID} with the fields asked for; unknown ids are error 100', async () => {
    graph.setProfile('7001', {
      channel: 'messenger',
      first_name: 'Lucía',
      last_name: 'Gómez',
      profile_pic: 'https://example.test/pic.jpg',
    });
    graph.setProfile('8001', { channel: 'instagram', name: 'Omar', username: 'omar.k' });
    const messenger = await call(`/${V}/7001?fields=first_name,last_name,profile_pic`);
    expect(await messenger.json()).toEqual({
      id: '7001',
      first_name: 'Lucía',
      last_name: 'Gómez',
      profile_pic: 'https://example.test/pic.jpg',
    });
    const instagram = await call(`/${V}/8001?fields=name,username`);
    expect(await instagram.json()).toEqual({ id: '8001', name: 'Omar', username: 'omar.k' });
    // Only what was asked for: a missing field is left out, as Graph does.
    expect(await (await call(`/${V}/8001?fields=username,profile_pic`)).json()).toEqual({
      id: '8001',
      username: 'omar.k',
    });
    await expectGraphError(await call(`/${V}/7001?fields=name`, { token: 'wrong' }), 190, 401);
    const unknown = await expectGraphError(await call(`/${V}/7999?fields=first_name`), 100);
    expect(unknown).toMatchObject({ error_subcode: 33 });
  });

  it('a Messenger customer the stand-in sends with a name gets that profile', async () => {
    await graph.sendCustomerMessage({
      channel: 'messenger',
      to: '200000000000001',
      from: '7002',
      text: 'hola',
      name: 'Ana María Ruiz',
    });
    expect(await (await call(`/${V}/7002?fields=first_name,last_name`)).json()).toEqual({
      id: '7002',
      first_name: 'Ana',
      last_name: 'María Ruiz',
    });
  });
});
