import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { WhatsAppMessage } from '../../../core/messaging/kinds';
import { type GupshupStandIn, startGupshup } from '../../../dev/stand-ins/gupshup';
import { freeLoopbackPort, listenOnLoopback } from '../../../dev/stand-ins/http-server';
import { GraphApiError } from '../../lib/graph';
import type { CallbackRequest, ProviderAccount, ProviderSendInput } from '../adapter';
import { gupshupAdapter } from './adapter';
import {
  CUSTOMER,
  GUPSHUP_ID,
  inboundFixtures,
  statusFixtures,
  userEventFixtures,
  WHATSAPP_ID,
} from './fixtures';

const app: ProviderAccount = {
  id: '5b0c1f8e-0000-4000-8000-000000000001',
  externalId: 'DemoApp',
  displayPhoneNumber: '917834811114',
  wabaId: null,
};
const statusApp: ProviderAccount = { ...app, externalId: 'DemoAPI' };

const contact = (name: string) => ({ externalUserId: CUSTOMER, phone: CUSTOMER, name });
const WINDOW_CLOSED =
  'More than 24 hours have passed since the customer last wrote, so WhatsApp only accepts an ' +
  'approved template now. Send a template instead.';

describe('authenticate', () => {
  const request = (url: string): CallbackRequest => ({
    raw: new Uint8Array(),
    text: '',
    headers: new Headers(),
    url: new URL(url),
    now: new Date(),
  });
  const base = 'https://switchboard.example/webhooks/gupshup/5b0c1f8e';
  const secret = 'kq3v9Zr7mW2pXy8T';

  it('believes a callback whose URL carries the account secret', async () => {
    expect(await gupshupAdapter.authenticate(request(`${base}?secret=${secret}`), secret)).toBe(
      true,
    );
  });
  it('refuses a missing, empty, wrong or wrong-length secret', async () => {
    expect(await gupshupAdapter.authenticate(request(base), secret)).toBe(false);
    expect(await gupshupAdapter.authenticate(request(`${base}?secret=`), secret)).toBe(false);
    expect(
      await gupshupAdapter.authenticate(request(`${base}?secret=kq3v9Zr7mW2pXy8X`), secret),
    ).toBe(false);
    expect(await gupshupAdapter.authenticate(request(`${base}?secret=kq3v`), secret)).toBe(false);
    expect(await gupshupAdapter.authenticate(request(`${base}?token=${secret}`), secret)).toBe(
      false,
    );
  });
  it('refuses everything when the account has no secret', async () => {
    expect(await gupshupAdapter.authenticate(request(`${base}?secret=`), '')).toBe(false);
  });
});

describe('parse: customer messages', () => {
  const only = (body: unknown, account = app) => {
    const parsed = gupshupAdapter.parse(body, account);
    expect(parsed.problems).toEqual([]);
    expect(parsed.notes).toEqual([]);
    expect(parsed.items).toHaveLength(1);
    const [first] = parsed.items;
    if (!first) throw new Error('no item');
    return first;
  };

  it('reads a text message as Meta would: same contact key, the envelope time', () => {
    expect(only(inboundFixtures.text)).toEqual({
      path: 'payload',
      dedupeKey: 'm:ABEGkZUTIXZ0Ago6jWqOZm-Sz0WD',
      item: {
        kind: 'message',
        providerMessageId: 'ABEGkZUTIXZ0Ago6jWqOZm-Sz0WD',
        timestamp: new Date(1718007189549),
        contact: contact('SJ'),
        from: 'customer',
        type: 'text',
        content: 'Hi',
        attachments: [],
        payload: { gupshup: { type: 'text', payload: { text: 'Hi' } } },
        replyToProviderMessageId: null,
        wantsReply: true,
      },
    });
  });

  it('quotes by Gupshup id (ours) before the WhatsApp id', () => {
    const item = only(inboundFixtures.textReply).item;
    expect(item).toMatchObject({
      kind: 'message',
      content: 'hi',
      contact: contact('Jacob'),
      replyToProviderMessageId: '9b71295f-f7af-4c1f-b2b4-31b4a4867bad',
      payload: {
        context: {
          id: 'gBEGkYaYVSEEAgnPFrOLcjkFjL8',
          gsId: '9b71295f-f7af-4c1f-b2b4-31b4a4867bad',
        },
      },
    });
    // Without gsId (a quoted customer message, or a week later) the WhatsApp id is all there is.
    const quick = only(inboundFixtures.quickReply).item;
    expect(quick).toMatchObject({ replyToProviderMessageId: 'gBEGkYaYVSEEAgnPFrOLcjkFjL8' });
  });

  it('reads media as attachments with the link, type, caption and file name', () => {
    expect(only(inboundFixtures.image).item).toMatchObject({
      type: 'image',
      content: 'Sample image',
      timestamp: new Date(1718003620228),
      attachments: [
        {
          kind: 'image',
          url: 'https://filemanager.gupshup.io/wa/23038a99-929b-408b-80eb-4d30cebb93d4/wa/media/2f997fea-9696-46c4-a2e5-8667fd27988d?download=false',
          mimeType: 'image/jpeg',
          caption: 'Sample image',
          data: { urlExpiry: 1718608420228 },
        },
      ],
    });
    expect(only(inboundFixtures.audio).item).toMatchObject({
      type: 'audio',
      content: null,
      attachments: [{ kind: 'audio', mimeType: 'audio/ogg; codecs=opus' }],
    });
    const file = only(inboundFixtures.file).item;
    expect(file).toMatchObject({ type: 'document', content: 'Purchase receipt' });
    expect(file.kind === 'message' && file.attachments).toEqual([
      {
        kind: 'document',
        url: 'https://filemanager.gupshup.io/fm/wamedia/DemoApp/68f1e51b-ac53-4dfb-b970-7b23431ed1d3',
        mimeType: 'application/pdf',
        caption: 'Purchase receipt',
        filename: 'file1.pdf',
        data: { urlExpiry: 1718608700000 },
      },
    ]);
    expect(only(inboundFixtures.video).item).toMatchObject({
      type: 'video',
      content: 'Unboxing',
      attachments: [{ kind: 'video', mimeType: 'video/mp4', caption: 'Unboxing' }],
    });
    expect(only(inboundFixtures.sticker).item).toMatchObject({
      type: 'sticker',
      attachments: [{ kind: 'sticker', mimeType: 'image/webp' }],
    });
    // No provider media id: Gupshup hands a link, not an id to fetch by.
    const image = only(inboundFixtures.image).item;
    expect(image.kind === 'message' && image.attachments[0]?.providerMediaId).toBeUndefined();
  });

  it('reads a location and a contact card', () => {
    expect(only(inboundFixtures.location).item).toMatchObject({
      type: 'location',
      content: 'Location: 19.076, 72.8777',
      attachments: [{ kind: 'location', data: { latitude: 19.076, longitude: 72.8777 } }],
      timestamp: new Date(1580227950000),
    });
    expect(only(inboundFixtures.contact).item).toMatchObject({
      type: 'contacts',
      content: 'Contact: Asha Rao',
      attachments: [{ kind: 'contacts' }],
    });
  });

  it('reads taps in Meta’s vocabulary, so intake finds the tapped id', () => {
    expect(only(inboundFixtures.buttonReply).item).toMatchObject({
      type: 'interactive',
      content: 'First',
      payload: {
        interactive: { type: 'button_reply', button_reply: { id: 'qr1', title: 'First' } },
        gupshup: { type: 'button_reply', payload: { title: 'First', id: 'qr1', reply: 'First 1' } },
      },
      replyToProviderMessageId: '123b0fb2-0620-493b-8f7e-5a1ceb6d8c58',
    });
    expect(only(inboundFixtures.listReply).item).toMatchObject({
      type: 'interactive',
      content: 'section 1 row 1',
      payload: {
        interactive: {
          type: 'list_reply',
          list_reply: {
            id: 'section 1 row 1 postback payload',
            title: 'section 1 row 1',
            description: 'first row of first section description',
          },
        },
      },
    });
    expect(only(inboundFixtures.quickReply).item).toMatchObject({
      type: 'button',
      content: 'View Account Balance',
      contact: contact('Gerald'),
      payload: { button: { text: 'View Account Balance', payload: 'balance' } },
    });
  });

  it('keeps the customer number without a +', () => {
    const body = structuredClone(inboundFixtures.text);
    body.payload.source = `+${CUSTOMER}`;
    expect(only(body).item).toMatchObject({ contact: contact('SJ') });
  });
});

describe('parse: message events', () => {
  const status = (body: unknown) => {
    const parsed = gupshupAdapter.parse(body, statusApp);
    expect(parsed.problems).toEqual([]);
    expect(parsed.items).toHaveLength(1);
    const [first] = parsed.items;
    if (first?.item.kind !== 'status') throw new Error('not a status');
    return { ...first, report: first.item.report };
  };

  it('enqueued confirms sent, keyed by the Gupshup id, at the envelope time', () => {
    const s = status(statusFixtures.enqueued);
    expect(s.dedupeKey).toBe(`s:${GUPSHUP_ID}:enqueued`);
    expect(s.report).toEqual({
      providerMessageId: GUPSHUP_ID,
      providerStatus: 'enqueued',
      status: 'sent',
      timestamp: new Date(1580546677791),
      recipientId: CUSTOMER,
      error: null,
      payload: statusFixtures.enqueued,
    });
  });

  it('sent, delivered and read name the send by gsId, at the event’s own time', () => {
    // `ts` is whole seconds; the envelope's milliseconds within that second make it exact.
    expect(status(statusFixtures.sent).report).toMatchObject({
      providerMessageId: GUPSHUP_ID,
      providerStatus: 'sent',
      status: 'sent',
      timestamp: new Date(1710930461500),
    });
    expect(status(statusFixtures.delivered).report).toMatchObject({
      providerMessageId: GUPSHUP_ID,
      status: 'delivered',
      timestamp: new Date(1710930462500),
    });
    expect(status(statusFixtures.read).report).toMatchObject({
      providerMessageId: GUPSHUP_ID,
      status: 'read',
      timestamp: new Date(1720779817500),
    });
    // A callback that arrives later (a resend) still says when the status happened.
    const resent = { ...statusFixtures.read, timestamp: 1720779817500 + 600_000 };
    expect(status(resent).report.timestamp).toEqual(new Date(1720779817000));
  });

  it('a week later, without gsId, the WhatsApp id is the key', () => {
    const body = structuredClone(statusFixtures.read);
    delete (body.payload as { gsId?: string }).gsId;
    expect(status(body).report.providerMessageId).toBe(WHATSAPP_ID);
  });

  it('failed with a Gupshup code gets Gupshup’s meaning', () => {
    expect(status(statusFixtures.failedSync).report).toMatchObject({
      providerMessageId: 'ee4a68a0-1203-4c85-8dc3-49d0b3226a35',
      status: 'failed',
      error: {
        code: '1002',
        title: 'Number Does Not Exists On WhatsApp',
        details: null,
        reason: 'This number does not exist on WhatsApp.',
      },
    });
  });

  it('Gupshup’s session refusals read as the closed window, opt-in ones as opt-in', () => {
    const failed = (code: number) => {
      const body = structuredClone(statusFixtures.failedSync);
      body.payload.payload = { code, reason: 'x' };
      return status(body).report.error?.reason;
    };
    for (const code of [1004, 1005, 1007]) expect(failed(code)).toBe(WINDOW_CLOSED);
    for (const code of [1006, 1008]) expect(failed(code)).toMatch(/^Gupshup only sends templates/);
    expect(failed(4003)).toMatch(/^Gupshup found no approved template/);
    expect(failed(9999)).toBe('Gupshup could not deliver the message: x');
  });

  it('failed with a Meta code gets Meta’s meaning', () => {
    expect(status(statusFixtures.failedMeta).report).toMatchObject({
      providerMessageId: '91f58e90-f5ba-4cfc-9ca7-e4ab965b9449',
      error: { code: '131047', title: 'Re-engagement message', reason: WINDOW_CLOSED },
    });
    const body = structuredClone(statusFixtures.failedMeta);
    body.payload.payload = { code: 131026, reason: 'Message undeliverable' };
    expect(status(body).report.error?.reason).toMatch(/^WhatsApp could not deliver to this number/);
  });

  it('a failed event without its code is a problem with the path', () => {
    const body = structuredClone(statusFixtures.failedSync);
    body.payload.payload = { reason: 'x' } as never;
    expect(gupshupAdapter.parse(body, statusApp)).toEqual({
      items: [],
      problems: ['payload.payload.code: Invalid input'],
      notes: [],
    });
  });

  it('deleted and mismatch are notes, not problems', () => {
    const deleted = structuredClone(statusFixtures.read);
    deleted.payload.type = 'deleted';
    expect(gupshupAdapter.parse(deleted, statusApp)).toEqual({
      items: [],
      problems: [],
      notes: [`payload: Gupshup event deleted: the customer deleted message ${GUPSHUP_ID}`],
    });
    const mismatch = structuredClone(statusFixtures.enqueued);
    mismatch.payload.type = 'mismatch';
    expect(gupshupAdapter.parse(mismatch, statusApp).notes).toHaveLength(1);
  });
});

describe('parse: everything else', () => {
  it('user, template, account and billing events are understood and noted', () => {
    expect(gupshupAdapter.parse(userEventFixtures.optedIn, app)).toEqual({
      items: [],
      problems: [],
      notes: [`payload: Gupshup user event opted-in for ${CUSTOMER} (nothing ingested)`],
    });
    expect(gupshupAdapter.parse(userEventFixtures.sandboxStart, app).notes).toEqual([
      'payload: Gupshup user event sandbox-start for callbackSetPhone (nothing ingested)',
    ]);
    for (const type of ['template-event', 'account-event', 'billing-event']) {
      expect(gupshupAdapter.parse({ ...userEventFixtures.optedIn, type }, app)).toEqual({
        items: [],
        problems: [],
        notes: [`type: Gupshup ${type} (nothing ingested)`],
      });
    }
  });

  it('reports what it does not understand, with the path', () => {
    const problems = (body: unknown) => gupshupAdapter.parse(body, app).problems;
    const image = structuredClone(inboundFixtures.image);
    delete (image.payload.payload as { url?: string }).url;
    expect(problems(image)).toEqual([
      'payload.payload.url: Invalid input: expected string, received undefined',
    ]);
    expect(problems({ ...inboundFixtures.text, type: 'carrier-pigeon' })).toEqual([
      'type: callback type "carrier-pigeon" is not handled',
    ]);
    const odd = structuredClone(inboundFixtures.text);
    odd.payload.type = 'hologram';
    expect(problems(odd)).toEqual(['payload.type: message type "hologram" is not handled']);
    const event = structuredClone(statusFixtures.read);
    event.payload.type = 'teleported';
    expect(gupshupAdapter.parse(event, statusApp).problems).toEqual([
      'payload.type: message event "teleported" is not handled',
    ]);
    expect(problems('not json')).toEqual(['(body): not a JSON object']);
    expect(problems({ app: 'DemoApp' })).toEqual([
      'timestamp: Invalid input; type: Invalid input: expected string, received undefined; ' +
        'payload: Invalid input: expected nonoptional, received undefined',
    ]);
  });

  it('refuses a callback for another Gupshup app', () => {
    expect(gupshupAdapter.parse(inboundFixtures.text, statusApp)).toEqual({
      items: [],
      problems: ['app: "DemoApp" is not this account\'s Gupshup app ("DemoAPI")'],
      notes: [],
    });
  });

  it('refuses timestamps out of range', () => {
    const body = { ...inboundFixtures.text, timestamp: 1718007189 };
    expect(gupshupAdapter.parse(body, app).problems).toEqual(['timestamp: timestamp out of range']);
  });
});

describe('request', () => {
  const input = (message: WhatsAppMessage, extra: Partial<ProviderSendInput> = {}) => ({
    message,
    to: CUSTOMER,
    replyTo: null,
    messageId: '0b7c5a1e-4d0a-4c1e-9a52-9f1b2c3d4e5f',
    providerTemplateId: null,
    ...extra,
  });
  const addressed = {
    channel: 'whatsapp',
    source: '917834811114',
    destination: CUSTOMER,
    'src.name': 'DemoApp',
  };
  const session = (message: WhatsAppMessage, extra?: Partial<ProviderSendInput>) => {
    const request = gupshupAdapter.request(input(message, extra), app) as {
      path: string;
      form: Record<string, string>;
    };
    expect(request.path).toBe('/wa/api/v1/msg');
    const { message: json, ...rest } = request.form;
    expect(rest).toEqual(addressed);
    return JSON.parse(json ?? '');
  };

  it('text, with the preview flag and the quoted message', () => {
    expect(session({ type: 'text', text: 'Hello' })).toEqual({ type: 'text', text: 'Hello' });
    expect(
      session({ type: 'text', text: 'Hello', preview_url: true }, { replyTo: 'ABEGkZUTIX' }),
    ).toEqual({ type: 'text', text: 'Hello', previewUrl: true, context: { msgId: 'ABEGkZUTIX' } });
  });

  it('media by link and by id', () => {
    const link = 'https://cdn.example/a.jpg';
    expect(session({ type: 'image', link, caption: 'Look' })).toEqual({
      type: 'image',
      originalUrl: link,
      previewUrl: link,
      caption: 'Look',
    });
    expect(session({ type: 'image', id: 'media-1' })).toEqual({ type: 'image', id: 'media-1' });
    expect(session({ type: 'video', link, caption: 'Clip' })).toEqual({
      type: 'video',
      url: link,
      caption: 'Clip',
    });
    expect(session({ type: 'audio', link })).toEqual({ type: 'audio', url: link });
    expect(session({ type: 'sticker', link })).toEqual({ type: 'sticker', url: link });
    expect(session({ type: 'document', link, filename: 'x.pdf', caption: 'Bill' })).toEqual({
      type: 'file',
      url: link,
      filename: 'x.pdf',
      caption: 'Bill',
    });
  });

  it('reply buttons as a quick_reply whose options carry our ids back', () => {
    expect(
      session({
        type: 'buttons',
        body: 'Pick one',
        header: { type: 'text', text: 'Hello' },
        footer: 'Thanks',
        buttons: [
          { id: 'order:1:yes', title: 'Yes' },
          { id: 'order:1:no', title: 'No' },
        ],
      }),
    ).toEqual({
      type: 'quick_reply',
      msgid: '0b7c5a1e-4d0a-4c1e-9a52-9f1b2c3d4e5f',
      content: { type: 'text', header: 'Hello', text: 'Pick one', caption: 'Thanks' },
      options: [
        { type: 'text', title: 'Yes', postbackText: 'order:1:yes' },
        { type: 'text', title: 'No', postbackText: 'order:1:no' },
      ],
    });
    expect(
      session({
        type: 'buttons',
        body: 'Pick one',
        header: { type: 'document', link: 'https://cdn.example/m.pdf' },
        buttons: [{ id: 'a', title: 'A' }],
      }).content,
    ).toEqual({ type: 'file', url: 'https://cdn.example/m.pdf', text: 'Pick one' });
  });

  it('a list', () => {
    expect(
      session({
        type: 'list',
        body: 'Our menu',
        header: 'Menu',
        button: 'See options',
        sections: [
          {
            title: 'Pizza',
            rows: [{ id: 'row-1', title: 'Margherita', description: 'Tomato, basil' }],
          },
        ],
      }),
    ).toEqual({
      type: 'list',
      title: 'Menu',
      body: 'Our menu',
      msgid: '0b7c5a1e-4d0a-4c1e-9a52-9f1b2c3d4e5f',
      globalButtons: [{ type: 'text', title: 'See options' }],
      items: [
        {
          title: 'Pizza',
          subtitle: 'Pizza',
          options: [
            {
              type: 'text',
              title: 'Margherita',
              description: 'Tomato, basil',
              postbackText: 'row-1',
            },
          ],
        },
      ],
    });
  });

  it('a reaction names the message reacted to, without a quote', () => {
    const reaction: WhatsAppMessage = {
      type: 'reaction',
      message_id: '0b7c5a1e-4d0a-4c1e-9a52-9f1b2c3d4e50',
      emoji: '👍',
    };
    expect(session(reaction, { replyTo: 'ABEGkZUTIX' })).toEqual({
      type: 'reaction',
      msgId: 'ABEGkZUTIX',
      emoji: '👍',
    });
    expect(() => gupshupAdapter.request(input(reaction), app)).toThrow(GraphApiError);
  });

  it('a template goes to the template API by Gupshup’s id with positional parameters', () => {
    const request = gupshupAdapter.request(
      input(
        {
          type: 'template',
          name: 'order_update',
          language: 'en',
          components: [
            {
              type: 'header',
              parameters: [{ type: 'image', image: { link: 'https://x.io/a.png' } }],
            },
            {
              type: 'body',
              parameters: [
                { type: 'text', text: 'Asha' },
                { type: 'text', text: '#1042' },
              ],
            },
            {
              type: 'button',
              sub_type: 'quick_reply',
              index: 0,
              parameters: [{ type: 'payload', payload: 'track' }],
            },
          ],
        },
        { providerTemplateId: '2d3f1c0e-5a3b-4e1a-8f3b-1c2d3e4f5a6b', replyTo: 'ignored' },
      ),
      app,
    );
    expect(request).toEqual({
      path: '/wa/api/v1/template/msg',
      form: {
        ...addressed,
        template: '{"id":"2d3f1c0e-5a3b-4e1a-8f3b-1c2d3e4f5a6b","params":["Asha","#1042"]}',
        message: '{"type":"image","image":{"link":"https://x.io/a.png"}}',
        postbackTexts: '[{"index":0,"text":"track"}]',
      },
    });
  });

  it('a template without Gupshup’s id, or an account without a number, cannot be sent', () => {
    const template: WhatsAppMessage = { type: 'template', name: 'hello', language: 'en' };
    const refused = (fn: () => unknown) => {
      try {
        fn();
      } catch (err) {
        return err instanceof GraphApiError ? [err.info.code, err.transient] : err;
      }
      return 'no error';
    };
    expect(refused(() => gupshupAdapter.request(input(template), app))).toEqual([
      'template_unknown',
      false,
    ]);
    expect(
      refused(() =>
        gupshupAdapter.request(input({ type: 'text', text: 'hi' }), {
          ...app,
          displayPhoneNumber: null,
        }),
      ),
    ).toEqual(['not_connected', false]);
  });

  it('keeps no API key in the request', () => {
    const request = gupshupAdapter.request(input({ type: 'text', text: 'hi' }), app);
    expect(JSON.stringify(request)).not.toContain('apikey');
  });
});

describe('send', () => {
  let gupshup: GupshupStandIn;
  const KEY = 'gs-test-key-0123456789abcdef';
  const connection = () => ({ baseUrl: gupshup.url, apiKey: KEY, timeoutMs: 2_000 });
  const text = () =>
    gupshupAdapter.request(
      {
        message: { type: 'text', text: 'Hello' },
        to: CUSTOMER,
        replyTo: null,
        messageId: '0b7c5a1e-4d0a-4c1e-9a52-9f1b2c3d4e5f',
        providerTemplateId: null,
      },
      app,
    );
  const failure = async (promise: Promise<unknown>) => {
    try {
      await promise;
    } catch (err) {
      if (!(err instanceof GraphApiError)) throw err;
      return {
        httpStatus: err.info.httpStatus,
        code: err.info.code,
        transient: err.transient,
        outcomeUnknown: err.outcomeUnknown,
        reason: err.meaning.reason,
      };
    }
    throw new Error('the send did not fail');
  };

  beforeAll(async () => {
    gupshup = await startGupshup({
      statusProgression: false,
      accounts: [
        {
          appName: 'DemoApp',
          apiKey: KEY,
          source: '917834811114',
          callbackUrl: 'http://127.0.0.1:9/unused',
        },
      ],
    });
  });
  beforeEach(() => gupshup.reset());
  afterAll(() => gupshup.close());

  it('posts the form with the key and returns Gupshup’s message id', async () => {
    const { providerMessageId } = await gupshupAdapter.send(text(), app, connection());
    const [sent] = gupshup.sends();
    expect(sent?.messageId).toBe(providerMessageId);
    expect(providerMessageId).toMatch(/^[0-9a-f-]{36}$/);
    expect(sent?.form).toEqual({
      channel: 'whatsapp',
      source: '917834811114',
      destination: CUSTOMER,
      'src.name': 'DemoApp',
      message: '{"type":"text","text":"Hello"}',
    });
  });

  it('a refused number is permanent', async () => {
    gupshup.failNext({ status: 400, message: 'Invalid Destination' });
    expect(await failure(gupshupAdapter.send(text(), app, connection()))).toEqual({
      httpStatus: 400,
      code: 'http_400',
      transient: false,
      outcomeUnknown: false,
      reason: "Gupshup says the customer's number is not a valid WhatsApp number.",
    });
  });

  it('a wrong key is permanent and asks to reconnect', async () => {
    const result = await failure(
      gupshupAdapter.send(text(), app, { ...connection(), apiKey: 'wrong' }),
    );
    expect(result).toEqual({
      httpStatus: 401,
      code: 'http_401',
      transient: false,
      outcomeUnknown: false,
      reason:
        "Gupshup refused the channel's API key. Reconnect the channel in the settings; sending " +
        'is stopped until then.',
    });
  });

  it('429 and 5xx are transient', async () => {
    gupshup.failNext({ status: 429 });
    expect(await failure(gupshupAdapter.send(text(), app, connection()))).toMatchObject({
      httpStatus: 429,
      transient: true,
      outcomeUnknown: false,
      reason: 'Gupshup is rate limiting this app. It will be retried automatically.',
    });
    gupshup.failNext({ status: 503 });
    expect(await failure(gupshupAdapter.send(text(), app, connection()))).toMatchObject({
      httpStatus: 503,
      transient: true,
      outcomeUnknown: false,
    });
  });

  it('a refused connection is a transient network error: nothing was sent', async () => {
    const port = await freeLoopbackPort();
    const result = await failure(
      gupshupAdapter.send(text(), app, { ...connection(), baseUrl: `http://127.0.0.1:${port}` }),
    );
    expect(result).toEqual({
      httpStatus: null,
      code: 'network',
      transient: true,
      outcomeUnknown: false,
      reason: 'Gupshup could not be reached. It will be retried automatically.',
    });
  });

  it('a timeout leaves the outcome unknown', async () => {
    const silent = await listenOnLoopback(() => new Promise<Response>(() => {}));
    try {
      const result = await failure(
        gupshupAdapter.send(text(), app, { baseUrl: silent.url, apiKey: KEY, timeoutMs: 200 }),
      );
      expect(result).toMatchObject({ httpStatus: null, code: 'no_answer', outcomeUnknown: true });
    } finally {
      await silent.close();
    }
  });

  it('a 2xx without a message id may have been taken: outcome unknown', async () => {
    const odd = await listenOnLoopback(() => new Response('<html>ok</html>', { status: 200 }));
    try {
      const result = await failure(
        gupshupAdapter.send(text(), app, { baseUrl: odd.url, apiKey: KEY, timeoutMs: 2_000 }),
      );
      expect(result).toMatchObject({ httpStatus: 200, code: 'no_answer', outcomeUnknown: true });
    } finally {
      await odd.close();
    }
  });

  it('the stand-in accepts every kind the adapter builds', async () => {
    const link = 'https://cdn.example/a.jpg';
    const kinds: WhatsAppMessage[] = [
      { type: 'image', link, caption: 'Look' },
      { type: 'video', link },
      { type: 'audio', link },
      { type: 'sticker', link },
      { type: 'document', link, filename: 'a.pdf' },
      { type: 'buttons', body: 'Pick', buttons: [{ id: 'a', title: 'A' }] },
      {
        type: 'list',
        body: 'Menu',
        button: 'Open',
        sections: [{ rows: [{ id: 'r', title: 'Row' }] }],
      },
      { type: 'template', name: 'hello', language: 'en' },
    ];
    for (const message of kinds) {
      const request = gupshupAdapter.request(
        {
          message,
          to: CUSTOMER,
          replyTo: null,
          messageId: '0b7c5a1e-4d0a-4c1e-9a52-9f1b2c3d4e5f',
          providerTemplateId: '2d3f1c0e-5a3b-4e1a-8f3b-1c2d3e4f5a6b',
        },
        app,
      );
      await expect(gupshupAdapter.send(request, app, connection())).resolves.toMatchObject({
        providerMessageId: expect.any(String),
      });
    }
    expect(gupshup.sends().map((s) => s.status)).toEqual(kinds.map(() => 202));
  });
});
