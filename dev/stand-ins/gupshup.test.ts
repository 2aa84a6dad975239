import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ProviderAccount } from '../../functions/providers/adapter';
import { gupshupAdapter } from '../../functions/providers/gupshup/adapter';
import { type GupshupStandIn, startGupshup } from './gupshup';
import { type LoopbackServer, listenOnLoopback } from './http-server';

const KEY = 'gs-stand-in-key-0123456789';
const SECRET = 'callback-secret-5f1e2d';
const CUSTOMER = '919812345678';
const account: ProviderAccount = {
  id: '5b0c1f8e-0000-4000-8000-000000000002',
  externalId: 'ShopBot',
  displayPhoneNumber: '917834811114',
  wabaId: null,
};

/** What reached the app's callback URL, and whether the adapter believed it. */
type Received = { authentic: boolean; body: unknown };
const received: Received[] = [];
let receiver: LoopbackServer;
let gupshup: GupshupStandIn;
let clock = Date.UTC(2026, 11, 1, 9, 0, 0);

beforeAll(async () => {
  receiver = await listenOnLoopback(async (request) => {
    const text = await request.text();
    const authentic = await gupshupAdapter.authenticate(
      {
        raw: new TextEncoder().encode(text),
        text,
        headers: request.headers,
        url: new URL(request.url),
        now: new Date(),
      },
      SECRET,
    );
    received.push({ authentic, body: JSON.parse(text) });
    // Gupshup wants an empty 2xx.
    return new Response(null, { status: 200 });
  });
  gupshup = await startGupshup({
    statusDelayMs: 1,
    now: () => (clock += 1_000),
    accounts: [
      {
        appName: 'ShopBot',
        apiKey: KEY,
        source: '917834811114',
        callbackUrl: `${receiver.url}/webhooks/gupshup/${account.id}?secret=${SECRET}`,
      },
    ],
  });
});
beforeEach(() => {
  gupshup.reset();
  received.length = 0;
});
afterAll(async () => {
  await gupshup.close();
  await receiver.close();
});

const connection = () => ({ baseUrl: gupshup.url, apiKey: KEY, timeoutMs: 2_000 });
const textTo = (text: string) =>
  gupshupAdapter.request(
    {
      message: { type: 'text', text },
      to: CUSTOMER,
      replyTo: null,
      messageId: '0b7c5a1e-4d0a-4c1e-9a52-9f1b2c3d4e5f',
      providerTemplateId: null,
    },
    account,
  );
const statuses = () =>
  received.flatMap(({ body }) =>
    gupshupAdapter
      .parse(body, account)
      .items.flatMap(({ item }) => (item.kind === 'status' ? [item.report] : [])),
  );

describe('Gupshup stand-in with the adapter', () => {
  it('a send is followed by enqueued, sent, delivered and read, naming the send’s id', async () => {
    const { providerMessageId } = await gupshupAdapter.send(textTo('Hello'), account, connection());
    await gupshup.flush();
    expect(received.every((r) => r.authentic)).toBe(true);
    const reports = statuses();
    expect(reports.map((r) => [r.providerStatus, r.status, r.providerMessageId])).toEqual([
      ['enqueued', 'sent', providerMessageId],
      ['sent', 'sent', providerMessageId],
      ['delivered', 'delivered', providerMessageId],
      ['read', 'read', providerMessageId],
    ]);
    expect(reports.every((r) => r.recipientId === CUSTOMER)).toBe(true);
    // The WhatsApp id the send got is what sent/delivered/read carry as `id`.
    const [send] = gupshup.sends();
    // The enqueued event names Gupshup's id, and WhatsApp's id in its own payload.
    expect(received[0]?.body).toMatchObject({
      app: 'ShopBot',
      version: 2,
      type: 'message-event',
      payload: {
        id: send?.messageId,
        type: 'enqueued',
        destination: CUSTOMER,
        payload: { whatsappMessageId: send?.whatsappId, type: 'session' },
      },
    });
    expect(
      received.slice(1).map((r) => (r.body as { payload: { id: string } }).payload.id),
    ).toEqual([send?.whatsappId, send?.whatsappId, send?.whatsappId]);
  });

  it('an injected failure event reads as failed with its meaning', async () => {
    gupshup.failNext({ via: 'event', code: 1005, reason: 'User is inactive' });
    const { providerMessageId } = await gupshupAdapter.send(textTo('Hello'), account, connection());
    await gupshup.flush();
    const failed = statuses().find((r) => r.status === 'failed');
    expect(failed).toMatchObject({
      providerMessageId,
      error: { code: '1005', title: 'User is inactive' },
    });
    expect(failed?.error?.reason).toMatch(/^More than 24 hours have passed/);
  });

  it('refuses what Gupshup refuses: a wrong app name, a bad message', async () => {
    const request = textTo('Hello') as { path: string; form: Record<string, string> };
    await expect(
      gupshupAdapter.send(
        { ...request, form: { ...request.form, 'src.name': 'OtherApp' } },
        account,
        connection(),
      ),
    ).rejects.toMatchObject({ info: { httpStatus: 400, graphMessage: 'Invalid App Details' } });
    await expect(
      gupshupAdapter.send(
        { ...request, form: { ...request.form, message: '{"type":"text"}' } },
        account,
        connection(),
      ),
    ).rejects.toMatchObject({ info: { httpStatus: 400 }, transient: false });
    const template = await fetch(`${gupshup.url}/wa/api/v1/template/msg`, {
      method: 'POST',
      headers: { apikey: KEY, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ ...request.form, template: '{"params":[]}' }).toString(),
    });
    expect(template.status).toBe(400);
    const unknownKind = await fetch(`${gupshup.url}/wa/api/v1/msg`, {
      method: 'POST',
      headers: { apikey: KEY, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ ...request.form, message: '{"type":"hologram"}' }).toString(),
    });
    expect(await unknownKind.json()).toMatchObject({ status: 'error' });
    const answer = (await fetch(`${gupshup.url}/__sends`).then((r) => r.json())) as Array<{
      status: number;
      path: string;
      messageId: string | null;
    }>;
    expect(answer.map((s) => [s.status, s.path, s.messageId])).toEqual([
      [400, '/wa/api/v1/msg', null],
      [400, '/wa/api/v1/msg', null],
      [400, '/wa/api/v1/template/msg', null],
      [400, '/wa/api/v1/msg', null],
    ]);
    expect(received).toEqual([]);
  });

  it('a customer message posted in is parsed by the adapter as Meta’s would be', async () => {
    const { status, id } = await gupshup.sendInbound({
      account: 'ShopBot',
      from: CUSTOMER,
      name: 'Asha',
      text: 'Is my order ready?',
    });
    expect(status).toBe(200);
    const [callback] = received;
    if (!callback) throw new Error('no callback arrived');
    expect(callback.authentic).toBe(true);
    const envelope = callback.body as { timestamp: number };
    // The stand-in's clock: the envelope's milliseconds are the message's time.
    expect(envelope.timestamp).toBe(clock);
    const parsed = gupshupAdapter.parse(callback.body, account);
    expect(parsed.problems).toEqual([]);
    expect(parsed.items[0]?.item).toEqual({
      kind: 'message',
      providerMessageId: id,
      timestamp: new Date(clock),
      contact: { externalUserId: CUSTOMER, phone: CUSTOMER, name: 'Asha' },
      from: 'customer',
      type: 'text',
      content: 'Is my order ready?',
      attachments: [],
      payload: { gupshup: { type: 'text', payload: { text: 'Is my order ready?' } } },
      replyToProviderMessageId: null,
      wantsReply: true,
    });
  });

  it('over HTTP: /__inbound posts a tap, /__fail-next fails the next send', async () => {
    const inbound = await fetch(`${gupshup.url}/__inbound`, {
      method: 'POST',
      body: JSON.stringify({
        account: 'ShopBot',
        from: CUSTOMER,
        type: 'button_reply',
        payload: { title: 'Yes', id: 'msg-1', postbackText: 'order:7:yes' },
      }),
    });
    expect(inbound.status).toBe(200);
    expect(gupshupAdapter.parse(received[0]?.body, account).items[0]?.item).toMatchObject({
      type: 'interactive',
      payload: { interactive: { button_reply: { id: 'order:7:yes', title: 'Yes' } } },
    });
    await fetch(`${gupshup.url}/__fail-next`, {
      method: 'POST',
      body: JSON.stringify({ status: 500 }),
    });
    await expect(gupshupAdapter.send(textTo('Hi'), account, connection())).rejects.toMatchObject({
      info: { httpStatus: 500 },
      transient: true,
    });
  });
});
