import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { graphErrorMeaning } from '../../../core/messaging/graph-errors';
import type { WhatsAppMessage } from '../../../core/messaging/kinds';
import type { MessageItem, ReactionItem, StatusItem } from '../../../db/inbound';
import {
  freeLoopbackPort,
  type LoopbackServer,
  listenOnLoopback,
} from '../../../dev/stand-ins/http-server';
import { startYCloud, type YCloudStandIn } from '../../../dev/stand-ins/ycloud';
import { GraphApiError } from '../../lib/graph';
import type { ProviderAccount, ProviderConnection, ProviderSendInput } from '../adapter';
import { ycloudAdapter } from './adapter';
import * as fx from './fixtures';

const account: ProviderAccount = {
  id: '0193b7a4-0000-7000-8000-000000000001',
  externalId: fx.BUSINESS_NUMBER,
  displayPhoneNumber: '447901614024',
  wabaId: fx.WABA_ID,
};
const SECRET = 'whsec_Zm9vYmFyYmF6cXV4';
const NOW = new Date('2026-03-01T10:00:00.000Z');
const NOW_SECONDS = NOW.getTime() / 1000;

/** Signed independently of the code under test, with node:crypto, as the docs describe. */
function signed(body: string, seconds = NOW_SECONDS, secret = SECRET) {
  const s = createHmac('sha256', secret).update(`${seconds}.${body}`).digest('hex');
  return `t=${seconds},s=${s}`;
}

function callback(text: string, signature: string | null, now = NOW) {
  const headers = new Headers({ 'content-type': 'application/json' });
  if (signature !== null) headers.set('YCloud-Signature', signature);
  return {
    raw: new TextEncoder().encode(text),
    text,
    headers,
    url: new URL(`https://switchboard.example/webhooks/ycloud/${account.id}`),
    now,
  };
}

describe('authenticate', () => {
  const body = JSON.stringify(fx.inboundText);
  const check = (text: string, signature: string | null, now = NOW, secret = SECRET) =>
    ycloudAdapter.authenticate(callback(text, signature, now), secret);

  it('accepts the HMAC of `t.body` under the secret as given (whsec_ included)', async () => {
    expect(await check(body, signed(body))).toBe(true);
    // Non-ASCII bodies are signed as their UTF-8 bytes.
    const accented = JSON.stringify(
      fx.inboundEvent({ type: 'text', text: { body: 'Sí, ¿mañana? 👍' } }),
    );
    expect(await check(accented, signed(accented))).toBe(true);
  });

  it('refuses a signature made with the secret without its whsec_ prefix', async () => {
    expect(await check(body, signed(body, NOW_SECONDS, SECRET.slice('whsec_'.length)))).toBe(false);
  });

  it('refuses a missing, malformed or wrong signature', async () => {
    const good = signed(body);
    const hex = good.split('s=')[1] ?? '';
    expect(await check(body, null)).toBe(false);
    expect(await check(body, '')).toBe(false);
    expect(await check(body, `s=${hex}`)).toBe(false);
    expect(await check(body, `t=${NOW_SECONDS}`)).toBe(false);
    expect(await check(body, `t=${NOW_SECONDS},s=${hex.slice(2)}`)).toBe(false);
    expect(await check(body, `t=${NOW_SECONDS},s=${'z'.repeat(64)}`)).toBe(false);
    expect(await check(body, `t=abc,s=${hex}`)).toBe(false);
    expect(await check(body, `t=${NOW_SECONDS},t=${NOW_SECONDS},s=${hex}`)).toBe(false);
    expect(await check(body, `sha256=${hex}`)).toBe(false);
    expect(await check(body, good, NOW, 'whsec_other')).toBe(false);
    expect(await check(body, good, NOW, '')).toBe(false);
  });

  it('refuses a tampered body', async () => {
    const tampered = body.replace('"OK"', '"KO"');
    expect(tampered).not.toBe(body);
    expect(await check(tampered, signed(body))).toBe(false);
  });

  it('refuses a signed timestamp more than five minutes away, either way', async () => {
    expect(await check(body, signed(body, NOW_SECONDS - 300))).toBe(true);
    expect(await check(body, signed(body, NOW_SECONDS + 300))).toBe(true);
    expect(await check(body, signed(body, NOW_SECONDS - 301))).toBe(false);
    expect(await check(body, signed(body, NOW_SECONDS + 301))).toBe(false);
  });

  it('accepts when one of several s= values matches (a rotated secret)', async () => {
    const good = signed(body);
    const other = signed(body, NOW_SECONDS, 'whsec_old').split(',')[1];
    expect(await check(body, `${good},${other}`)).toBe(true);
    expect(await check(body, `t=${NOW_SECONDS},${other}`)).toBe(false);
  });
});

const parseOne = (body: unknown) => {
  const parsed = ycloudAdapter.parse(JSON.parse(JSON.stringify(body)), account);
  expect(parsed.problems).toEqual([]);
  expect(parsed.items).toHaveLength(1);
  return parsed.items[0]!;
};
const messageOf = (body: unknown) => {
  const parsed = parseOne(body);
  expect(parsed.item.kind).toBe('message');
  return parsed.item as MessageItem;
};

const joe = {
  externalUserId: '8613800000000',
  phone: '8613800000000',
  bsuid: null,
  name: 'Joe',
};

describe('parse: inbound messages', () => {
  it('reads a text reply: Meta-style contact, wamid as the id, the quoted wamid', () => {
    const parsed = parseOne(fx.inboundText);
    expect(parsed.dedupeKey).toBe('m:wamid.HBgNODYxMzgwMDAwMDAwFQIAEhggQUFBQUFBQUFB');
    expect(parsed.item).toEqual({
      kind: 'message',
      providerMessageId: 'wamid.HBgNODYxMzgwMDAwMDAwFQIAEhggQUFBQUFBQUFB',
      timestamp: new Date('2023-02-22T12:00:00.000Z'),
      contact: joe,
      from: 'customer',
      type: 'text',
      content: 'OK',
      attachments: [],
      payload: {
        text: { body: 'OK' },
        context: { from: '447901614024', id: 'wamid.HBgNODYxMzgwMDAwMDAwFQIAERgSQkJCQkJC' },
        ycloud: {
          eventId: 'evt_eEkn26qar3nOB8md',
          id: '63f872f6741c165b4342a751',
          wabaId: fx.WABA_ID,
        },
      },
      replyToProviderMessageId: 'wamid.HBgNODYxMzgwMDAwMDAwFQIAERgSQkJCQkJC',
      wantsReply: true,
    });
  });

  it('falls back to YCloud id when there is no wamid', () => {
    const m = messageOf(fx.inboundEvent({ wamid: undefined, type: 'text', text: { body: 'x' } }));
    expect(m.providerMessageId).toBe('63f872f6741c165b4342a751');
  });

  it('reads an image: YCloud link as the url, caption as the content', () => {
    const m = messageOf(fx.inboundImage);
    expect(m.type).toBe('image');
    expect(m.content).toBe('my receipt');
    expect(m.timestamp).toEqual(new Date('2023-02-22T12:01:00.000Z'));
    expect(m.attachments).toEqual([
      {
        kind: 'image',
        mimeType: 'image/jpeg',
        providerMediaId: '592623615738103',
        url: 'https://api.ycloud.com/v2/whatsapp/media/download/592623615738103',
        caption: 'my receipt',
        sha256: 'LeRpQJq/h4HTjmExample=',
      },
    ]);
  });

  it.each([
    ['video', fx.inboundVideo, 'video/mp4', '592623615738104', 'the leak', undefined],
    ['audio', fx.inboundAudio, 'audio/ogg; codecs=opus', '592623615738105', undefined, undefined],
    ['document', fx.inboundDocument, 'application/pdf', '592623615738106', 'March', 'invoice.pdf'],
    ['sticker', fx.inboundSticker, 'image/webp', '592623615738107', undefined, undefined],
  ] as const)('reads %s media', (kind, body, mimeType, mediaId, caption, filename) => {
    const m = messageOf(body);
    expect(m.type).toBe(kind);
    expect(m.content).toBe(caption ?? null);
    expect(m.attachments).toEqual([
      {
        kind,
        mimeType,
        providerMediaId: mediaId,
        url: `https://api.ycloud.com/v2/whatsapp/media/download/${mediaId}`,
        ...(caption ? { caption } : {}),
        ...(filename ? { filename } : {}),
        sha256: 'c2hhMjU2RXhhbXBsZQ==',
      },
    ]);
  });

  it('reads a location', () => {
    const m = messageOf(fx.inboundLocation);
    expect(m.content).toBe('Office, 1 Main St');
    expect(m.attachments).toEqual([
      {
        kind: 'location',
        data: { latitude: 51.5072, longitude: -0.1276, name: 'Office', address: '1 Main St' },
      },
    ]);
  });

  it('reads contact cards', () => {
    const m = messageOf(fx.inboundContacts);
    expect(m.content).toBe('Contact: Paula Diaz');
    expect(m.attachments).toEqual([
      { kind: 'contacts', data: { contacts: fx.inboundContacts.whatsappInboundMessage.contacts } },
    ]);
  });

  it('reads interactive button and list replies and template quick replies', () => {
    const button = messageOf(fx.inboundButtonReply);
    expect(button.content).toBe('Yes');
    expect(button.payload.interactive).toEqual({
      type: 'button_reply',
      button_reply: { id: 'opt_yes', title: 'Yes' },
    });
    expect(button.replyToProviderMessageId).toBe('wamid.HBgNODYxMzgwMDAwMDAwFQIAERgSQkJCQkJC');
    const list = messageOf(fx.inboundListReply);
    expect(list.content).toBe('9:00');
    expect(list.replyToProviderMessageId).toBeNull();
    const quick = messageOf(fx.inboundQuickReply);
    expect(quick.type).toBe('button');
    expect(quick.content).toBe('Confirm');
    expect(quick.payload.button).toEqual({ payload: 'confirm_appointment', text: 'Confirm' });
  });

  it('reads a reaction as a ReactionItem', () => {
    const parsed = parseOne(fx.inboundReaction);
    expect(parsed.item).toEqual({
      kind: 'reaction',
      providerMessageId: 'wamid.HBgNODYxMzgwMDAwMDAwFQIAEhggQUFBQUFBQUFB',
      targetProviderMessageId: 'wamid.HBgNODYxMzgwMDAwMDAwFQIAERgSQkJCQkJC',
      emoji: '👍',
      timestamp: new Date('2023-02-22T12:00:00.000Z'),
      contact: joe,
      from: 'customer',
      payload: {
        reaction: { message_id: 'wamid.HBgNODYxMzgwMDAwMDAwFQIAERgSQkJCQkJC', emoji: '👍' },
        ycloud: {
          eventId: 'evt_eEkn26qar3nOB8md',
          id: '63f872f6741c165b4342a751',
          wabaId: fx.WABA_ID,
        },
      },
    } satisfies ReactionItem);
  });

  it('keys a BSUID-only user by the user id', () => {
    const m = messageOf(fx.inboundBsuidOnly);
    expect(m.contact).toEqual({
      externalUserId: 'US.13491208655302741918',
      phone: null,
      bsuid: 'US.13491208655302741918',
      name: 'Joe',
    });
  });

  it('keeps a type it does not know, with its object, rather than losing it', () => {
    const m = messageOf(fx.inboundEvent({ type: 'order', order: { catalog_id: 'c1' } }));
    expect(m.type).toBe('order');
    expect(m.content).toBeNull();
    expect(m.payload.order).toEqual({ catalog_id: 'c1' });
  });

  it('reports a message for another business number or WABA, and nothing is ingested', () => {
    const other = ycloudAdapter.parse(
      fx.inboundEvent({ to: '+15550001111', type: 'text', text: { body: 'x' } }),
      account,
    );
    expect(other.items).toEqual([]);
    expect(other.problems).toEqual([
      "whatsappInboundMessage.to: +15550001111 is not this account's number +447901614024",
    ]);
    const waba = ycloudAdapter.parse(
      fx.inboundEvent({ wabaId: '999', type: 'text', text: { body: 'x' } }),
      account,
    );
    expect(waba.items).toEqual([]);
    expect(waba.problems).toEqual([
      "whatsappInboundMessage.wabaId: 999 is not this account's WABA 102290129340398",
    ]);
  });

  it('reports what it cannot read, with a path', () => {
    const noSender = ycloudAdapter.parse(
      fx.inboundEvent({ from: undefined, type: 'text', text: { body: 'x' } }),
      account,
    );
    expect(noSender.problems).toEqual(['whatsappInboundMessage: neither from nor fromUserId']);
    const badText = ycloudAdapter.parse(
      fx.inboundEvent({ type: 'text', text: { nobody: 1 } }),
      account,
    );
    expect(badText.items).toEqual([]);
    expect(badText.problems).toHaveLength(1);
    expect(badText.problems[0]).toMatch(/^whatsappInboundMessage\.text: body: /);
    const badFrom = ycloudAdapter.parse(
      fx.inboundEvent({ from: 'Joe', type: 'text', text: { body: 'x' } }),
      account,
    );
    expect(badFrom.problems).toEqual(['whatsappInboundMessage: from: "Joe" is not a phone number']);
    const missing = ycloudAdapter.parse(
      { ...fx.inboundText, whatsappInboundMessage: undefined },
      account,
    );
    expect(missing.problems).toHaveLength(1);
    expect(missing.problems[0]).toMatch(/^whatsappInboundMessage: /);
    expect(ycloudAdapter.parse([1, 2], account).problems).toEqual(['(body): not a JSON object']);
    const noId = ycloudAdapter.parse({ type: 'whatsapp.message.updated' }, account);
    expect(noId.problems).toHaveLength(1);
    expect(noId.problems[0]).toMatch(/^\(envelope\): id: /);
  });
});

const statusOf = (body: unknown) => {
  const parsed = parseOne(body);
  expect(parsed.item.kind).toBe('status');
  return { parsed, report: (parsed.item as StatusItem).report };
};

describe('parse: statuses', () => {
  it('reads sent with our id back as callbackData', () => {
    const { parsed, report } = statusOf(fx.statusSent);
    expect(parsed.dedupeKey).toBe('s:63f5d602367ea403f8175a6c:sent');
    expect(report).toEqual({
      providerMessageId: '63f5d602367ea403f8175a6c',
      providerStatus: 'sent',
      status: 'sent',
      timestamp: new Date('2023-02-22T12:00:01.000Z'),
      recipientId: '8613800000000',
      error: null,
      payload: { ...fx.statusSent.whatsappMessage, ycloudEventId: 'evt_sentExample00001' },
      callbackData: '0193b7a4-5d2e-7c3f-8a1b-2c3d4e5f6a7b',
    });
  });

  it('reads delivered and read at their own times, and accepted as sent', () => {
    const delivered = statusOf(fx.statusDelivered).report;
    expect([delivered.status, delivered.timestamp]).toEqual([
      'delivered',
      new Date('2023-02-22T12:00:02.000Z'),
    ]);
    const read = statusOf(fx.statusRead).report;
    expect([read.status, read.timestamp]).toEqual(['read', new Date('2023-02-22T12:04:59.000Z')]);
    const accepted = statusOf({
      ...fx.statusSent,
      whatsappMessage: {
        ...fx.statusSent.whatsappMessage,
        status: 'accepted',
        sendTime: undefined,
      },
    }).report;
    expect([accepted.status, accepted.providerStatus]).toEqual(['sent', 'accepted']);
  });

  it("reads a failure with Meta's code through Meta's table", () => {
    const pair = statusOf(fx.statusFailedPairRate).report;
    expect(pair.status).toBe('failed');
    expect(pair.timestamp).toEqual(new Date('2023-02-22T12:00:00.000Z'));
    expect(pair.recipientId).toBeNull();
    expect(pair.callbackData).toBeNull();
    expect(pair.error).toEqual({
      code: '131056',
      title: '(#131056) (Business Account, Consumer Account) pair rate limit hit',
      details:
        'Message failed to send because there were too many messages sent from this phone number to the same phone number in a short period of time.',
      reason:
        'Too many messages to this customer in a short time. It will be retried automatically.',
    });
    const window = statusOf(fx.statusFailedWindow).report;
    expect(window.error).toEqual({
      code: '131047',
      title: 'Re-engagement message',
      details: null,
      reason: graphErrorMeaning({ code: '131047' }).reason,
    });
    expect(window.error?.reason).toMatch(/^More than 24 hours have passed/);
  });

  it("reads a failure with YCloud's own code through YCloud's table", () => {
    const { report } = statusOf(fx.statusFailedBalance);
    expect(report.error).toEqual({
      code: 'BALANCE_INSUFFICIENT',
      title: 'Insufficient balance',
      details: null,
      reason: 'The YCloud balance is too low to send. Top up the YCloud account.',
    });
    const unknown = statusOf({
      ...fx.statusFailedBalance,
      whatsappMessage: { ...fx.statusFailedBalance.whatsappMessage, errorCode: 'SOMETHING_NEW' },
    }).report;
    expect(unknown.error?.reason).toBe('YCloud refused the message: Insufficient balance');
  });

  it('reports a status from another number, or with a word it does not know', () => {
    const other = ycloudAdapter.parse(
      {
        ...fx.statusSent,
        whatsappMessage: { ...fx.statusSent.whatsappMessage, from: '+15550001111' },
      },
      account,
    );
    expect(other.items).toEqual([]);
    expect(other.problems).toEqual([
      "whatsappMessage.from: +15550001111 is not this account's number +447901614024",
    ]);
    const odd = ycloudAdapter.parse(
      {
        ...fx.statusSent,
        whatsappMessage: { ...fx.statusSent.whatsappMessage, status: 'deleted' },
      },
      account,
    );
    expect(odd.problems).toEqual(['whatsappMessage.status: "deleted" is not handled']);
  });
});

describe('parse: echoes of what the business sent from the app', () => {
  it("reads a text echo as the business's message, which the agent does not answer", () => {
    const parsed = parseOne(fx.echoText);
    expect(parsed.dedupeKey).toBe('m:wamid.HBgNODYxMzgwMDAwMDAwFQIAERgSRUNITzAx');
    expect(parsed.item).toEqual({
      kind: 'message',
      providerMessageId: 'wamid.HBgNODYxMzgwMDAwMDAwFQIAERgSRUNITzAx',
      timestamp: new Date('2023-02-22T12:10:00.000Z'),
      contact: { externalUserId: '8613800000000', phone: '8613800000000', bsuid: null },
      from: 'business',
      type: 'text',
      content: 'See you at 9',
      attachments: [],
      payload: {
        text: { body: 'See you at 9' },
        echo: 'whatsapp_business_app',
        ycloud: {
          eventId: 'evt_echoExample00001',
          id: '63f5d602367ea403f8175a70',
          wabaId: fx.WABA_ID,
        },
      },
      replyToProviderMessageId: null,
      wantsReply: false,
      lockReason: 'A team member replied from the WhatsApp Business app.',
    } satisfies MessageItem);
  });

  it('keys a BSUID-only recipient by the user id; a reaction is a ReactionItem', () => {
    const bsuid = messageOf(
      fx.echoEvent({ to: undefined, toUserId: 'US.1349', type: 'text', text: { body: 'ok' } }),
    );
    expect(bsuid.contact).toEqual({ externalUserId: 'US.1349', phone: null, bsuid: 'US.1349' });
    const reaction = parseOne(
      fx.echoEvent({ type: 'reaction', reaction: { message_id: 'wamid.x', emoji: '❤️' } }),
    ).item as ReactionItem;
    expect([
      reaction.kind,
      reaction.from,
      reaction.targetProviderMessageId,
      reaction.emoji,
    ]).toEqual(['reaction', 'business', 'wamid.x', '❤️']);
  });

  it('reports an echo from another number or without a recipient; notes a revoke', () => {
    const other = ycloudAdapter.parse(
      fx.echoEvent({ from: '+15550001111', type: 'text', text: { body: 'x' } }),
      account,
    );
    expect(other.problems).toEqual([
      "whatsappMessage.from: +15550001111 is not this account's number +447901614024",
    ]);
    const nobody = ycloudAdapter.parse(
      fx.echoEvent({ to: undefined, type: 'text', text: { body: 'x' } }),
      account,
    );
    expect(nobody.problems).toEqual(['whatsappMessage: echo has no recipient (to / toUserId)']);
    const revoke = ycloudAdapter.parse(
      fx.echoEvent({ type: 'revoke', revoke: { original_message_id: 'wamid.y' } }),
      account,
    );
    expect(revoke).toEqual({
      items: [],
      problems: [],
      notes: [
        'whatsapp.smb.message.echoes evt_echoExample00001: a revoke from the app, not ingested',
      ],
    });
  });
});

describe('parse: other events', () => {
  it('notes a template review and events it does not use', () => {
    const review = ycloudAdapter.parse(fx.templateReviewed, account);
    expect(review).toEqual({
      items: [],
      problems: [],
      notes: [
        'whatsapp.template.reviewed evt_tplReviewed00001: appointment_reminder es APPROVED (template sync picks it up)',
      ],
    });
    const other = ycloudAdapter.parse(
      {
        id: 'evt_x',
        type: 'contact.created',
        apiVersion: 'v2',
        createTime: '2023-02-22T12:00:00Z',
      },
      account,
    );
    expect(other).toEqual({
      items: [],
      problems: [],
      notes: ['contact.created evt_x: event type not used'],
    });
  });
});

const MESSAGE_ID = '0193b7a4-5d2e-7c3f-8a1b-2c3d4e5f6a7b';
const input = (
  message: WhatsAppMessage,
  extra: Partial<ProviderSendInput> = {},
): ProviderSendInput => ({
  message,
  to: '8613800000000',
  replyTo: null,
  messageId: MESSAGE_ID,
  providerTemplateId: null,
  ...extra,
});
const envelope = { from: '+447901614024', to: '+8613800000000', externalId: MESSAGE_ID };

describe('request', () => {
  it.each<[string, WhatsAppMessage, Record<string, unknown>]>([
    [
      'text',
      { type: 'text', text: 'Hello', preview_url: true },
      { type: 'text', text: { body: 'Hello', preview_url: true } },
    ],
    [
      'image',
      { type: 'image', link: 'https://cdn.example/a.jpg', caption: 'A' },
      { type: 'image', image: { link: 'https://cdn.example/a.jpg', caption: 'A' } },
    ],
    ['video', { type: 'video', id: 'media-1' }, { type: 'video', video: { id: 'media-1' } }],
    [
      'audio',
      { type: 'audio', link: 'https://cdn.example/a.ogg' },
      { type: 'audio', audio: { link: 'https://cdn.example/a.ogg' } },
    ],
    [
      'document',
      {
        type: 'document',
        link: 'https://cdn.example/i.pdf',
        filename: 'i.pdf',
        caption: 'Invoice',
      },
      {
        type: 'document',
        document: { link: 'https://cdn.example/i.pdf', caption: 'Invoice', filename: 'i.pdf' },
      },
    ],
    [
      'sticker',
      { type: 'sticker', id: 'sticker-1' },
      { type: 'sticker', sticker: { id: 'sticker-1' } },
    ],
    [
      'buttons',
      {
        type: 'buttons',
        body: 'Pick',
        footer: 'f',
        buttons: [
          { id: 'y', title: 'Yes' },
          { id: 'n', title: 'No' },
        ],
      },
      {
        type: 'interactive',
        interactive: {
          type: 'button',
          body: { text: 'Pick' },
          footer: { text: 'f' },
          action: {
            buttons: [
              { type: 'reply', reply: { id: 'y', title: 'Yes' } },
              { type: 'reply', reply: { id: 'n', title: 'No' } },
            ],
          },
        },
      },
    ],
    [
      'list',
      {
        type: 'list',
        body: 'When?',
        button: 'Slots',
        sections: [{ rows: [{ id: 's9', title: '9:00', description: 'Tue' }] }],
      },
      {
        type: 'interactive',
        interactive: {
          type: 'list',
          body: { text: 'When?' },
          action: {
            button: 'Slots',
            sections: [{ rows: [{ id: 's9', title: '9:00', description: 'Tue' }] }],
          },
        },
      },
    ],
  ])('%s: Meta content with from, to (E.164) and externalId', (_kind, message, content) => {
    expect(ycloudAdapter.request(input(message), account)).toEqual({ ...envelope, ...content });
  });

  it('templates go by name, language and components (button index as text)', () => {
    const body = ycloudAdapter.request(
      input(
        {
          type: 'template',
          name: 'appointment_reminder',
          language: 'es',
          components: [
            { type: 'body', parameters: [{ type: 'text', text: 'Paula' }] },
            {
              type: 'button',
              sub_type: 'quick_reply',
              index: 0,
              parameters: [{ type: 'payload', payload: 'ok' }],
            },
          ],
        },
        { providerTemplateId: 'yc-template-1' },
      ),
      account,
    );
    expect(body).toEqual({
      ...envelope,
      type: 'template',
      template: {
        name: 'appointment_reminder',
        language: { code: 'es' },
        components: [
          { type: 'body', parameters: [{ type: 'text', text: 'Paula' }] },
          {
            type: 'button',
            sub_type: 'quick_reply',
            index: '0',
            parameters: [{ type: 'payload', payload: 'ok' }],
          },
        ],
      },
    });
    expect(
      ycloudAdapter.request(input({ type: 'template', name: 'hello', language: 'en_US' }), account),
    ).toEqual({
      ...envelope,
      type: 'template',
      template: { name: 'hello', language: { code: 'en_US' } },
    });
  });

  it('a reply carries context; a reaction names its target and carries none', () => {
    const quoted = 'wamid.HBgNODYxMzgwMDAwMDAwFQIAEhggQUFBQUFBQUFB';
    expect(
      ycloudAdapter.request(input({ type: 'text', text: 'Yes' }, { replyTo: quoted }), account),
    ).toEqual({
      ...envelope,
      context: { message_id: quoted },
      type: 'text',
      text: { body: 'Yes' },
    });
    expect(
      ycloudAdapter.request(
        input(
          { type: 'reaction', message_id: '0193b7a4-0000-7000-8000-00000000000f', emoji: '👍' },
          { replyTo: quoted },
        ),
        account,
      ),
    ).toEqual({ ...envelope, type: 'reaction', reaction: { message_id: quoted, emoji: '👍' } });
  });

  it('a BSUID recipient goes as it is', () => {
    const body = ycloudAdapter.request(
      input({ type: 'text', text: 'Hi' }, { to: 'US.1349120865' }),
      account,
    );
    expect(body.to).toBe('US.1349120865');
  });
});

describe('send (against the YCloud stand-in)', () => {
  const API_KEY = 'yc-test-api-key';
  let ycloud: YCloudStandIn;
  let connection: ProviderConnection;
  const text = () => ycloudAdapter.request(input({ type: 'text', text: 'Hello' }), account);

  beforeAll(async () => {
    ycloud = await startYCloud({
      statuses: false,
      accounts: [
        {
          phone: fx.BUSINESS_NUMBER,
          apiKey: API_KEY,
          webhookSecret: SECRET,
          callbackUrl: 'http://127.0.0.1:9/unused',
          wabaId: fx.WABA_ID,
        },
      ],
    });
  });
  afterAll(() => ycloud.close());
  beforeEach(() => {
    connection = { baseUrl: ycloud.url, apiKey: API_KEY, timeoutMs: 5_000 };
  });

  /** The error a send throws; fails the test when it resolves. */
  async function refusal(body: Record<string, unknown>, conn = connection): Promise<GraphApiError> {
    const error = await ycloudAdapter.send(body, account, conn).then(
      () => null,
      (err: unknown) => err,
    );
    expect(error).toBeInstanceOf(GraphApiError);
    return error as GraphApiError;
  }

  it("sends with the API key and returns YCloud's id", async () => {
    const before = ycloud.sends().length;
    const result = await ycloudAdapter.send(text(), account, connection);
    const sent = ycloud.sends().slice(before);
    expect(sent).toHaveLength(1);
    expect(sent[0]?.path).toBe('/v2/whatsapp/messages/sendDirectly');
    expect(sent[0]?.account).toBe(fx.BUSINESS_NUMBER);
    expect(sent[0]?.body).toEqual({ ...envelope, type: 'text', text: { body: 'Hello' } });
    const answer = sent[0]?.answer.body as { id: string; externalId: string };
    expect(result).toEqual({ providerMessageId: answer.id });
    expect(answer.id).toMatch(/^[0-9a-f]{24}$/);
    expect(answer.externalId).toBe(MESSAGE_ID);
  });

  it("a 400 is permanent, with YCloud's message", async () => {
    const invalid = { ...text(), text: { body: '' } };
    const error = await refusal(invalid);
    expect(error.info.httpStatus).toBe(400);
    expect(error.info.code).toBe('BAD_REQUEST');
    expect(error.meaning).toEqual({
      classification: 'permanent',
      reason:
        'YCloud refused the message: text.body: Too small: expected string to have >=1 characters',
    });
    expect(error.outcomeUnknown).toBe(false);
  });

  it('a 401 (wrong key) is permanent and asks to reconnect', async () => {
    const error = await refusal(text(), { ...connection, apiKey: 'wrong' });
    expect(error.info).toMatchObject({
      httpStatus: 401,
      code: 'UNAUTHORIZED',
      graphMessage: 'INVALID_API_KEY',
    });
    expect(error.meaning).toEqual({
      classification: 'permanent',
      reason:
        'YCloud refused the API key. Reconnect the channel in the settings; sending is stopped until then.',
    });
  });

  it('a 403 with a code of its own reads from the table; an unknown one asks to reconnect', async () => {
    ycloud.failNext({ status: 403, code: 'BALANCE_INSUFFICIENT', message: 'Insufficient balance' });
    const balance = await refusal(text());
    expect(balance.meaning.reason).toBe(
      'The YCloud balance is too low to send. Top up the YCloud account.',
    );
    expect(balance.transient).toBe(false);
    ycloud.failNext({ status: 403, code: 'FORBIDDEN_SOMETHING', message: 'nope' });
    const other = await refusal(text());
    expect(other.meaning).toEqual({
      classification: 'permanent',
      reason:
        'YCloud refused the account (nope). Reconnect the channel in the settings; sending is stopped until then.',
    });
  });

  it("a 429 is transient; with Meta's error relayed, Meta's code decides", async () => {
    ycloud.failNext({ status: 429, code: 'ACCOUNT_RATE_LIMITED', message: 'slow down' });
    const limited = await refusal(text());
    expect(limited.info.code).toBe('ACCOUNT_RATE_LIMITED');
    expect(limited.transient).toBe(true);
    ycloud.failNext({
      status: 429,
      code: 'TOO_MANY_REQUESTS',
      whatsappApiError: {
        code: '131056',
        message: '(#131056) (Business Account, Consumer Account) pair rate limit hit',
      },
    });
    const pair = await refusal(text());
    expect(pair.info.code).toBe('131056');
    expect(pair.info.httpStatus).toBe(429);
    expect(pair.meaning).toEqual(graphErrorMeaning({ code: '131056' }));
    expect(pair.meaning.backoff).toBe('pair-rate');
  });

  it("a Meta refusal relayed with a 400 reads with Meta's table (window closed)", async () => {
    ycloud.failNext({
      status: 400,
      code: 'BAD_REQUEST',
      whatsappApiError: {
        code: '131047',
        message: 'Re-engagement message',
        details: 'more than 24 hours',
      },
    });
    const error = await refusal(text());
    expect(error.info).toMatchObject({
      code: '131047',
      details: 'more than 24 hours',
      graphMessage: 'Re-engagement message',
    });
    expect(error.meaning).toEqual(graphErrorMeaning({ code: '131047' }));
    expect(error.transient).toBe(false);
  });

  it('a 5xx is transient', async () => {
    ycloud.failNext({ status: 503, code: 'SERVICE_UNAVAILABLE', message: 'down' });
    const error = await refusal(text());
    expect(error.info.httpStatus).toBe(503);
    expect(error.meaning).toEqual({
      classification: 'transient',
      reason: 'YCloud answered with an error. It will be retried automatically.',
    });
  });

  it('a refused connection is transient and nothing went out', async () => {
    const port = await freeLoopbackPort();
    const error = await refusal(text(), { ...connection, baseUrl: `http://127.0.0.1:${port}` });
    expect(error.info.code).toBe('network');
    expect(error.transient).toBe(true);
    expect(error.outcomeUnknown).toBe(false);
    expect(error.meaning.reason).toBe(
      'YCloud could not be reached. It will be retried automatically.',
    );
  });

  it('a timeout leaves the outcome unknown', async () => {
    ycloud.delayNext(1_000);
    const before = ycloud.sends().length;
    const error = await refusal(text(), { ...connection, timeoutMs: 100 });
    expect(error.info.code).toBe('no_answer');
    expect(error.outcomeUnknown).toBe(true);
    // YCloud did get it: exactly why it must not be sent again on its own.
    expect(ycloud.sends().length).toBe(before + 1);
  });

  describe('answers it cannot read', () => {
    let odd: LoopbackServer;
    beforeAll(async () => {
      odd = await listenOnLoopback((request) =>
        new URL(request.url).pathname.endsWith('/sendDirectly') &&
        request.headers.get('x-api-key') === 'ok'
          ? new Response('{"status":"accepted"}', { status: 200 })
          : new Response('<html>bad gateway</html>', { status: 502 }),
      );
    });
    afterAll(() => odd.close());

    it('an accepted answer without an id is permanent (sending again could duplicate it)', async () => {
      const error = await refusal(text(), { ...connection, baseUrl: odd.url, apiKey: 'ok' });
      expect(error.info).toMatchObject({ httpStatus: 200, code: 'bad_response' });
      expect(error.transient).toBe(false);
    });

    it("an error without YCloud's body is read by its status", async () => {
      const error = await refusal(text(), { ...connection, baseUrl: odd.url, apiKey: 'no' });
      expect(error.info).toMatchObject({ httpStatus: 502, code: 'bad_response' });
      expect(error.transient).toBe(true);
    });
  });
});
