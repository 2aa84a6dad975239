import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { MessageItem, StatusItem } from '../../db/inbound';
import type { ProviderAccount, ProviderConnection } from '../../functions/providers/adapter';
import { ycloudAdapter } from '../../functions/providers/ycloud/adapter';
import { type LoopbackServer, listenOnLoopback } from './http-server';
import { startYCloud, type YCloudStandIn, ycloudSignature } from './ycloud';

const PHONE = '+447901614024';
const API_KEY = 'yc-stand-in-key';
const SECRET = 'whsec_c3RhbmQtaW4tc2VjcmV0';
const MESSAGE_ID = '0193b7a4-5d2e-7c3f-8a1b-2c3d4e5f6a7b';
const account: ProviderAccount = {
  id: '0193b7a4-0000-7000-8000-000000000002',
  externalId: PHONE,
  displayPhoneNumber: '447901614024',
  wabaId: '102290129340398',
};

type Received = { path: string; text: string; headers: Headers };

const received: Received[] = [];
let receiver: LoopbackServer;
let ycloud: YCloudStandIn;
let connection: ProviderConnection;

beforeAll(async () => {
  receiver = await listenOnLoopback(async (request) => {
    received.push({
      path: new URL(request.url).pathname,
      text: await request.text(),
      headers: request.headers,
    });
    return new Response('ok');
  });
  ycloud = await startYCloud({
    statusDelayMs: 5,
    accounts: [
      {
        phone: PHONE,
        apiKey: API_KEY,
        webhookSecret: SECRET,
        callbackUrl: `${receiver.url}/webhooks/ycloud/${account.id}`,
        wabaId: '102290129340398',
      },
      {
        phone: '+15550001111',
        apiKey: 'other-key',
        webhookSecret: 'whsec_other',
        callbackUrl: `${receiver.url}/webhooks/ycloud/other`,
      },
    ],
  });
  connection = { baseUrl: ycloud.url, apiKey: API_KEY, timeoutMs: 5_000 };
});
afterAll(async () => {
  await ycloud.close();
  await receiver.close();
});
beforeEach(async () => {
  await ycloud.flush();
  received.length = 0;
});

/** What the app's route will do with a callback: authenticate it, then parse it. */
async function accept(callback: Received) {
  const raw = new TextEncoder().encode(callback.text);
  const url = new URL(`http://app.local${callback.path}`);
  const request = { raw, text: callback.text, headers: callback.headers, url, now: new Date() };
  expect(await ycloudAdapter.authenticate(request, SECRET)).toBe(true);
  const parsed = ycloudAdapter.parse(JSON.parse(callback.text), account);
  expect(parsed.problems).toEqual([]);
  return parsed;
}

describe('YCloud stand-in with the adapter', () => {
  it('signs exactly as YCloud documents: HMAC-SHA256 of "t.body", hex', () => {
    const body = '{"id":"evt_1"}';
    const expected = createHmac('sha256', SECRET).update(`1700000000.${body}`).digest('hex');
    expect(ycloudSignature(SECRET, 1700000000, body)).toBe(`t=1700000000,s=${expected}`);
  });

  it('a send is answered with its id, then signed sent / delivered / read callbacks arrive', async () => {
    const body = ycloudAdapter.request(
      {
        message: { type: 'text', text: 'Your table is booked' },
        to: '34600000000',
        replyTo: null,
        messageId: MESSAGE_ID,
        providerTemplateId: null,
      },
      account,
    );
    const { providerMessageId } = await ycloudAdapter.send(body, account, connection);
    await ycloud.flush();
    expect(received.map((r) => r.path)).toEqual(Array(3).fill(`/webhooks/ycloud/${account.id}`));
    expect(received.every((r) => r.headers.get('x-webhook-endpoint-id')?.startsWith('we_'))).toBe(
      true,
    );
    const reports = [];
    for (const callback of received) {
      const parsed = await accept(callback);
      expect(parsed.items).toHaveLength(1);
      reports.push((parsed.items[0]!.item as StatusItem).report);
    }
    expect(
      reports.map((r) => [r.providerMessageId, r.status, r.callbackData, r.recipientId]),
    ).toEqual([
      [providerMessageId, 'sent', MESSAGE_ID, '34600000000'],
      [providerMessageId, 'delivered', MESSAGE_ID, '34600000000'],
      [providerMessageId, 'read', MESSAGE_ID, '34600000000'],
    ]);
    expect(reports.every((r) => r.error === null)).toBe(true);
    expect(
      ycloud
        .deliveries()
        .slice(-3)
        .map((d) => d.status),
    ).toEqual([200, 200, 200]);
  });

  it("a failure injected via webhook is accepted, then reported failed with Meta's code", async () => {
    ycloud.failNext({
      status: 400,
      code: 'BAD_REQUEST',
      via: 'webhook',
      whatsappApiError: { code: '131026', message: 'Message undeliverable' },
    });
    const body = ycloudAdapter.request(
      {
        message: { type: 'text', text: 'Hi' },
        to: '34600000000',
        replyTo: null,
        messageId: MESSAGE_ID,
        providerTemplateId: null,
      },
      account,
    );
    const { providerMessageId } = await ycloudAdapter.send(body, account, connection);
    await ycloud.flush();
    expect(received).toHaveLength(1);
    const report = ((await accept(received[0]!)).items[0]!.item as StatusItem).report;
    expect(report.providerMessageId).toBe(providerMessageId);
    expect(report.status).toBe('failed');
    expect(report.error?.code).toBe('131026');
    expect(report.error?.title).toBe('Message undeliverable');
    expect(report.error?.reason).toMatch(/^WhatsApp could not deliver to this number/);
  });

  it('an inbound text arrives signed and parses into the expected message', async () => {
    const delivery = await ycloud.inbound({
      account: PHONE,
      from: '+34600000000',
      name: 'Paula',
      text: 'Hola',
    });
    expect(delivery.status).toBe(200);
    expect(received).toHaveLength(1);
    const parsed = await accept(received[0]!);
    const sent = delivery.event.whatsappInboundMessage as { wamid: string; id: string };
    expect(parsed.items).toHaveLength(1);
    const item = parsed.items[0]?.item as MessageItem;
    expect(item).toMatchObject({
      kind: 'message',
      providerMessageId: sent.wamid,
      contact: { externalUserId: '34600000000', phone: '34600000000', bsuid: null, name: 'Paula' },
      from: 'customer',
      type: 'text',
      content: 'Hola',
      attachments: [],
      replyToProviderMessageId: null,
      wantsReply: true,
    });
    expect(item.payload.ycloud).toEqual({
      eventId: delivery.event.id,
      id: sent.id,
      wabaId: '102290129340398',
    });
  });

  it('an inbound of another type (over HTTP control) keeps its object', async () => {
    const answer = await fetch(`${ycloud.url}/__inbound`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        account: PHONE,
        from: '34600000000',
        type: 'image',
        payload: {
          link: 'https://api.ycloud.com/v2/whatsapp/media/download/1',
          id: '1',
          mime_type: 'image/png',
          caption: 'the menu',
        },
        replyTo: 'wamid.quoted',
      }),
    });
    expect(answer.status).toBe(200);
    const item = (await accept(received[0]!)).items[0]!.item as MessageItem;
    expect(item.content).toBe('the menu');
    expect(item.replyToProviderMessageId).toBe('wamid.quoted');
    expect(item.attachments).toEqual([
      {
        kind: 'image',
        mimeType: 'image/png',
        providerMediaId: '1',
        url: 'https://api.ycloud.com/v2/whatsapp/media/download/1',
        caption: 'the menu',
      },
    ]);
  });

  it("refuses a send from a number that is not the key's, and fields a type needs", async () => {
    const post = (path: string, body: unknown, key = API_KEY) =>
      fetch(`${ycloud.url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': key },
        body: JSON.stringify(body),
      });
    const base = { from: PHONE, to: '+34600000000', type: 'text', text: { body: 'x' } };
    const wrongFrom = await post('/v2/whatsapp/messages/sendDirectly', base, 'other-key');
    expect(wrongFrom.status).toBe(400);
    expect(
      ((await wrongFrom.json()) as { error: { code: string; target: string } }).error,
    ).toMatchObject({
      status: 400,
      code: 'BAD_REQUEST',
      target: 'from',
    });
    const noPlus = await post('/v2/whatsapp/messages/sendDirectly', { ...base, to: '34600000000' });
    expect(noPlus.status).toBe(400);
    const noTemplateName = await post('/v2/whatsapp/messages/sendDirectly', {
      ...base,
      type: 'template',
      template: { language: { code: 'es' } },
    });
    expect(((await noTemplateName.json()) as { error: { target: string } }).error.target).toBe(
      'template.name',
    );
    const queued = await post('/v2/whatsapp/messages', { ...base, externalId: MESSAGE_ID });
    expect(queued.status).toBe(200);
    const message = (await queued.json()) as Record<string, unknown>;
    expect(message).toMatchObject({
      from: PHONE,
      to: '+34600000000',
      type: 'text',
      text: { body: 'x' },
      externalId: MESSAGE_ID,
      status: 'accepted',
    });
    expect(message.wamid).toBeUndefined();
    const sends = (await (await fetch(`${ycloud.url}/__sends`)).json()) as Array<{ path: string }>;
    expect(sends.at(-1)?.path).toBe('/v2/whatsapp/messages');
  });

  it('fails the next send as told over HTTP control', async () => {
    const control = await fetch(`${ycloud.url}/__fail-next`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ status: 500, code: 'INTERNAL_ERROR', message: 'boom' }),
    });
    expect(control.status).toBe(200);
    const body = { from: PHONE, to: '+34600000000', type: 'text', text: { body: 'x' } };
    const error = await ycloudAdapter.send(body, account, connection).catch((e: unknown) => e);
    expect(error).toMatchObject({ info: { httpStatus: 500, code: 'INTERNAL_ERROR' } });
  });
});
