import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  batchWebhooks,
  encodeMetaBody,
  instagramMessageBody,
  instagramReadBody,
  messengerDeliveryBody,
  messengerMessageBody,
  messengerReadBody,
  metaWebhookHeaders,
  signedWebhookRequest,
  signMetaBody,
  whatsappMessageBody,
  whatsappStatusBody,
} from './meta-payloads';

const number = {
  wabaId: '102290129340398',
  phoneNumberId: '106540352242922',
  displayPhoneNumber: '15550783881',
};

describe('signMetaBody', () => {
  it('matches an HMAC-SHA256 computed independently with node:crypto', async () => {
    const raw = '{"object":"page","entry":[]}';
    const expected = createHmac('sha256', 'app-secret').update(raw).digest('hex');
    expect(await signMetaBody(raw, 'app-secret')).toBe(`sha256=${expected}`);
  });

  it('signs the raw bytes, so escaped and unescaped JSON sign differently', async () => {
    const body = { text: 'Grüße / ok' };
    const escaped = encodeMetaBody(body);
    const plain = encodeMetaBody(body, { escape: false });
    expect(escaped).toBe('{"text":"Gr\\u00fc\\u00dfe \\/ ok"}');
    expect(JSON.parse(escaped)).toEqual(body);
    const bytes = new TextEncoder().encode(plain);
    const expected = createHmac('sha256', 's').update(Buffer.from(bytes)).digest('hex');
    expect(await signMetaBody(bytes, 's')).toBe(`sha256=${expected}`);
    expect(await signMetaBody(escaped, 's')).not.toBe(await signMetaBody(plain, 's'));
  });

  it('escapes astral characters as lowercase UTF-16 surrogate pairs', () => {
    expect(encodeMetaBody({ e: '👍' })).toBe('{"e":"\\ud83d\\udc4d"}');
  });

  it('also sends the legacy SHA-1 header, as Meta does', async () => {
    const headers = await metaWebhookHeaders('{}', 'k');
    expect(headers['x-hub-signature']).toBe(
      `sha1=${createHmac('sha1', 'k').update('{}').digest('hex')}`,
    );
  });

  it('builds a request whose body is the signed bytes', async () => {
    const request = await signedWebhookRequest('http://x/webhook', { a: '/' }, 'k');
    const raw = await request.text();
    expect(raw).toBe('{"a":"\\/"}');
    expect(request.headers.get('x-hub-signature-256')).toBe(
      `sha256=${createHmac('sha256', 'k').update(raw).digest('hex')}`,
    );
  });
});

describe('WhatsApp bodies', () => {
  it('builds a text message exactly as Meta nests it', () => {
    const body = whatsappMessageBody({
      ...number,
      from: '16315551181',
      userId: 'US.13491208655302741918',
      name: 'Kerry',
      id: 'wamid.ABC',
      timestamp: 1_700_000_000,
      message: { type: 'text', text: 'hi' },
    });
    expect(body).toEqual({
      object: 'whatsapp_business_account',
      entry: [
        {
          id: number.wabaId,
          changes: [
            {
              field: 'messages',
              value: {
                messaging_product: 'whatsapp',
                metadata: {
                  display_phone_number: '15550783881',
                  phone_number_id: '106540352242922',
                },
                contacts: [
                  {
                    profile: { name: 'Kerry' },
                    wa_id: '16315551181',
                    user_id: 'US.13491208655302741918',
                  },
                ],
                messages: [
                  {
                    from: '16315551181',
                    from_user_id: 'US.13491208655302741918',
                    id: 'wamid.ABC',
                    timestamp: '1700000000',
                    type: 'text',
                    text: { body: 'hi' },
                  },
                ],
              },
            },
          ],
        },
      ],
    });
  });

  it('builds media, interactive, button, reaction and reply-context messages', () => {
    const voice = whatsappMessageBody({
      ...number,
      from: '1',
      message: { type: 'audio', mediaId: 'm1', mimeType: 'audio/ogg; codecs=opus', voice: true },
    }).entry[0]!.changes[0]!.value;
    expect(voice).toMatchObject({
      messages: [
        { type: 'audio', audio: { id: 'm1', mime_type: 'audio/ogg; codecs=opus', voice: true } },
      ],
    });
    const doc = whatsappMessageBody({
      ...number,
      from: '1',
      context: { from: '15550783881', id: 'wamid.PREV' },
      message: {
        type: 'document',
        mediaId: 'd',
        mimeType: 'application/pdf',
        filename: 'a.pdf',
        caption: 'c',
      },
    }).entry[0]!.changes[0]!.value;
    expect(doc).toMatchObject({
      messages: [
        {
          context: { from: '15550783881', id: 'wamid.PREV' },
          document: { filename: 'a.pdf', caption: 'c', id: 'd' },
        },
      ],
    });
    const list = whatsappMessageBody({
      ...number,
      from: '1',
      message: { type: 'interactive', listReply: { id: 'r1', title: 'Row', description: 'd' } },
    }).entry[0]!.changes[0]!.value;
    expect(list).toMatchObject({
      messages: [{ interactive: { type: 'list_reply', list_reply: { id: 'r1', title: 'Row' } } }],
    });
    const unreact = whatsappMessageBody({
      ...number,
      from: '1',
      message: { type: 'reaction', messageId: 'wamid.X' },
    }).entry[0]!.changes[0]!.value;
    expect(unreact).toMatchObject({ messages: [{ reaction: { message_id: 'wamid.X' } }] });
    expect(JSON.stringify(unreact)).not.toContain('emoji');
  });

  it('omits from / wa_id for username-only users but keeps the BSUID', () => {
    const value = whatsappMessageBody({
      ...number,
      userId: 'US.1',
      message: { type: 'text', text: 'x' },
    }).entry[0]!.changes[0]!.value;
    expect(value).toMatchObject({
      contacts: [{ user_id: 'US.1' }],
      messages: [{ from_user_id: 'US.1' }],
    });
    expect(JSON.stringify(value)).not.toMatch(/"from"|wa_id/);
  });

  it('builds a failed status with Meta error objects', () => {
    const body = whatsappStatusBody({
      ...number,
      messageId: 'wamid.S',
      status: 'failed',
      recipientId: '16315551181',
      timestamp: '1700000001',
      errors: [{ code: 131047, title: 'Re-engagement message', details: 'More than 24 hours' }],
    });
    expect(body.entry[0]!.changes[0]!.value).toMatchObject({
      statuses: [
        {
          id: 'wamid.S',
          status: 'failed',
          timestamp: '1700000001',
          recipient_id: '16315551181',
          errors: [
            {
              code: 131047,
              title: 'Re-engagement message',
              message: 'Re-engagement message',
              error_data: { details: 'More than 24 hours' },
            },
          ],
        },
      ],
    });
  });
});

describe('Messenger and Instagram bodies', () => {
  it('builds an inbound Messenger message with millisecond timestamps', () => {
    expect(
      messengerMessageBody({
        pageId: 'P',
        psid: 'U',
        mid: 'm_1',
        text: 'hey',
        timestamp: 1_700_000_000_123,
      }),
    ).toEqual({
      object: 'page',
      entry: [
        {
          id: 'P',
          time: 1_700_000_000_123,
          messaging: [
            {
              sender: { id: 'U' },
              recipient: { id: 'P' },
              timestamp: 1_700_000_000_123,
              message: { mid: 'm_1', text: 'hey' },
            },
          ],
        },
      ],
    });
  });

  it('reverses sender and recipient on echoes and sends app_id as a number', () => {
    const event = messengerMessageBody({
      pageId: 'P',
      psid: 'U',
      text: 'x',
      isEcho: true,
      appId: '123',
    }).entry[0]!.messaging[0]!;
    expect(event).toMatchObject({
      sender: { id: 'P' },
      recipient: { id: 'U' },
      message: { is_echo: true, app_id: 123 },
    });
  });

  it('builds quick-reply taps, deliveries and reads for both products', () => {
    expect(
      instagramMessageBody({ igId: 'I', igsid: 'S', text: 'Yes', quickReplyPayload: 'YES' })
        .entry[0]!.messaging[0],
    ).toMatchObject({ message: { text: 'Yes', quick_reply: { payload: 'YES' } } });
    expect(
      messengerDeliveryBody({ pageId: 'P', psid: 'U', mids: ['m_1'], watermark: 5 }).entry[0]!
        .messaging[0],
    ).toMatchObject({ sender: { id: 'U' }, delivery: { mids: ['m_1'], watermark: 5 } });
    expect(
      messengerReadBody({ pageId: 'P', psid: 'U', watermark: 6 }).entry[0]!.messaging[0],
    ).toMatchObject({
      read: { watermark: 6 },
    });
    const igRead = instagramReadBody({ igId: 'I', igsid: 'S', mid: 'm_2' });
    expect(igRead.object).toBe('instagram');
    expect(igRead.entry[0]!.messaging[0]).toMatchObject({ read: { mid: 'm_2' } });
  });

  it('batches entries of several bodies into one POST', () => {
    const a = messengerReadBody({ pageId: 'P', psid: 'U', watermark: 1 });
    const b = messengerReadBody({ pageId: 'Q', psid: 'V', watermark: 2 });
    expect(batchWebhooks(a, b).entry.map((e) => e.id)).toEqual(['P', 'Q']);
  });
});
