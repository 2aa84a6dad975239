import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { graphErrorMeaning, graphErrorReason } from '../../core/messaging/graph-errors';
import { listenOnLoopback } from '../../dev/stand-ins/http-server';
import {
  type MetaGraphStandIn,
  startMetaGraph,
  type TemplateFixture,
} from '../../dev/stand-ins/meta-graph';
import { type GraphAccount, GraphApiError, graphClient } from './graph';

const TOKEN = 'graph-client-test-token';
const wa = {
  channel: 'whatsapp',
  phoneNumberId: '106540352242922',
  wabaId: '102290129340398',
  displayPhoneNumber: '+1 555 0100',
} as const;
const page = { channel: 'messenger', pageId: '200000000000001' } as const;

const manyTemplates: TemplateFixture[] = Array.from({ length: 250 }, (_, i) => ({
  id: String(1_200_000_000_000_000 + i),
  name: `template_${String(i).padStart(3, '0')}`,
  language: 'en_US',
  status: i % 10 === 0 ? 'PAUSED' : 'APPROVED',
  category: 'UTILITY',
  parameter_format: 'POSITIONAL',
  components: [{ type: 'BODY', text: `Template ${i}: {{1}}` }],
}));

describe('graphClient', () => {
  let graph: MetaGraphStandIn;
  let client: ReturnType<typeof graphClient>;
  const whatsapp: GraphAccount = {
    channel: 'whatsapp',
    externalId: wa.phoneNumberId,
    wabaId: wa.wabaId,
    accessToken: TOKEN,
  };
  const messenger: GraphAccount = {
    channel: 'messenger',
    externalId: page.pageId,
    wabaId: null,
    accessToken: TOKEN,
  };

  beforeAll(async () => {
    graph = await startMetaGraph({
      appSecret: 'unused-app-secret',
      accessToken: TOKEN,
      accounts: [wa, page],
      templates: { [wa.wabaId]: manyTemplates },
      statusProgression: false,
    });
    client = graphClient({ GRAPH_API_BASE_URL: graph.url, GRAPH_API_VERSION: 'v23.0' });
  });
  afterAll(() => graph.close());
  beforeEach(() => graph.reset());

  it('lists every template, following paging.next across pages', async () => {
    const templates = await client.listTemplates(whatsapp);
    expect(templates.map((t) => t.name)).toEqual(manyTemplates.map((t) => t.name));
    expect(templates[0]).toEqual({
      id: manyTemplates[0]!.id,
      name: 'template_000',
      language: 'en_US',
      status: 'PAUSED',
      category: 'UTILITY',
      parameter_format: 'POSITIONAL',
      components: [{ type: 'BODY', text: 'Template 0: {{1}}' }],
    });
    expect(graph.requests).toHaveLength(3);
    expect(graph.requests[0]!.path).toBe(`/v23.0/${wa.wabaId}/message_templates`);
    expect(graph.requests[0]!.query).toMatchObject({ limit: '100' });
    expect(graph.requests.every((r) => r.headers.authorization === `Bearer ${TOKEN}`)).toBe(true);
  });

  it('returns the provider id of a WhatsApp send and of a Messenger send', async () => {
    const sent = await client.sendWhatsApp(whatsapp, {
      messaging_product: 'whatsapp',
      recipient_type: 'individual',
      to: '34600000000',
      type: 'text',
      text: { body: 'hi' },
    });
    expect(sent.providerMessageId).toMatch(/^wamid\./);
    const mid = await client.sendMessaging(messenger, {
      recipient: { id: '7000' },
      messaging_type: 'RESPONSE',
      message: { text: 'hi' },
    });
    expect(mid.providerMessageId).toMatch(/^m_/);
  });

  it('marks a WhatsApp message read with the typing indicator, and Messenger with sender actions', async () => {
    await client.markRead(whatsapp, {
      providerMessageId: 'wamid.ABC',
      recipientId: '34600000000',
      typing: true,
    });
    await client.markRead(messenger, {
      providerMessageId: 'm_1',
      recipientId: '7000',
      typing: true,
    });
    expect(graph.requests.map((r) => [r.path, r.body])).toEqual([
      [
        `/v23.0/${wa.phoneNumberId}/messages`,
        {
          messaging_product: 'whatsapp',
          status: 'read',
          message_id: 'wamid.ABC',
          typing_indicator: { type: 'text' },
        },
      ],
      [`/v23.0/${page.pageId}/messages`, { recipient: { id: '7000' }, sender_action: 'mark_seen' }],
      [`/v23.0/${page.pageId}/messages`, { recipient: { id: '7000' }, sender_action: 'typing_on' }],
    ]);
  });

  it('parses Graph errors and classifies them (transient vs permanent, with a reason)', async () => {
    const attempt = async () => {
      try {
        await client.sendWhatsApp(whatsapp, {
          messaging_product: 'whatsapp',
          to: '34600000000',
          type: 'text',
          text: { body: 'x' },
        });
      } catch (err) {
        return err as GraphApiError;
      }
      throw new Error('expected a Graph error');
    };
    graph.failNext({
      code: 131047,
      message: '(#131047) Re-engagement message',
      details: 'more than 24 hours',
    });
    const window = await attempt();
    expect(window).toBeInstanceOf(GraphApiError);
    expect(window.info).toMatchObject({
      httpStatus: 400,
      code: '131047',
      details: 'more than 24 hours',
    });
    expect(window.transient).toBe(false);
    expect(window.meaning.reason).toContain('approved template');

    graph.failNext({ status: 503, code: 2, message: 'Service temporarily unavailable' });
    expect((await attempt()).transient).toBe(true);
    graph.failNext({ status: 400, code: 131056, message: '(#131056) Pair rate limit' });
    const pair = await attempt();
    expect(pair.transient).toBe(true);
    expect(pair.meaning.backoff).toBe('pair-rate');
    graph.failNext({ status: 401, code: 190, message: 'Invalid OAuth access token' });
    expect((await attempt()).transient).toBe(false);
  });

  it('treats an unreachable Graph as a transient network failure', async () => {
    const offline = graphClient({
      GRAPH_API_BASE_URL: 'http://127.0.0.1:9',
      GRAPH_API_VERSION: 'v23.0',
    });
    const err = await offline.sendWhatsApp(whatsapp, {}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GraphApiError);
    expect((err as GraphApiError).info.code).toBe('network');
    expect((err as GraphApiError).transient).toBe(true);
    expect((err as GraphApiError).outcomeUnknown).toBe(false);
  });

  it('a refused connection is "network": nothing reached Meta, so a retry is safe', async () => {
    const closed = await listenOnLoopback(() => new Response('unused'));
    await closed.close();
    const offline = graphClient({ GRAPH_API_BASE_URL: closed.url, GRAPH_API_VERSION: 'v23.0' });
    const err = (await offline
      .sendWhatsApp(whatsapp, {})
      .catch((e: unknown) => e)) as GraphApiError;
    expect(err).toBeInstanceOf(GraphApiError);
    expect(err.info.code).toBe('network');
    expect(err.outcomeUnknown).toBe(false);
    expect(err.transient).toBe(true);
  });

  it('no answer in time is an unknown outcome, not a network error: Meta already has the send', async () => {
    const impatient = graphClient(
      { GRAPH_API_BASE_URL: graph.url, GRAPH_API_VERSION: 'v23.0' },
      undefined,
      { timeoutMs: 50 },
    );
    graph.delayNext(60_000);
    const err = (await impatient
      .sendWhatsApp(whatsapp, {
        messaging_product: 'whatsapp',
        to: '34600000000',
        type: 'text',
        text: { body: 'slow' },
      })
      .catch((e: unknown) => e)) as GraphApiError;
    expect(err).toBeInstanceOf(GraphApiError);
    expect(err.info.code).toBe('no_answer');
    expect(err.outcomeUnknown).toBe(true);
    // The stand-in did take the message: resending it would be a duplicate.
    expect(graph.requests).toHaveLength(1);
  });

  it('calls fetch as a plain function, as workerd requires', async () => {
    // workerd's fetch throws "Illegal invocation" when called as a method of another object;
    // Node's does not care, so this strict-mode stand-in for it checks `this` itself.
    function workerdFetch(this: unknown, input: RequestInfo | URL, init?: RequestInit) {
      if (this !== undefined) throw new TypeError('Illegal invocation');
      return fetch(input, init);
    }
    const strict = graphClient(
      { GRAPH_API_BASE_URL: graph.url, GRAPH_API_VERSION: 'v23.0' },
      workerdFetch,
    );
    const sent = await strict.sendMessaging(messenger, {
      recipient: { id: '7000' },
      messaging_type: 'RESPONSE',
      message: { text: 'hi' },
    });
    expect(sent.providerMessageId).toMatch(/^m_/);
  });

  it('a connection dropped after sending, or an answer cut off, is an unknown outcome too', async () => {
    const failingWith = (error: unknown) =>
      graphClient({ GRAPH_API_BASE_URL: graph.url, GRAPH_API_VERSION: 'v23.0' }, async () => {
        throw error;
      });
    const classify = async (client: ReturnType<typeof graphClient>) =>
      ((await client.sendMessaging(messenger, {}).catch((e: unknown) => e)) as GraphApiError).info
        .code;
    const socketClosed = new TypeError('fetch failed', {
      cause: Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' }),
    });
    expect(await classify(failingWith(socketClosed))).toBe('no_answer');
    // Workers' fetch says little more than this.
    expect(await classify(failingWith(new Error('Network connection lost.')))).toBe('no_answer');
    const refused = new TypeError('fetch failed', {
      cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }),
    });
    expect(await classify(failingWith(refused))).toBe('network');
    const everyAddressRefused = new TypeError('fetch failed', {
      cause: new AggregateError([
        Object.assign(new Error('a'), { code: 'ECONNREFUSED' }),
        Object.assign(new Error('b'), { code: 'EHOSTUNREACH' }),
      ]),
    });
    expect(await classify(failingWith(everyAddressRefused))).toBe('network');

    const cutOff = graphClient(
      { GRAPH_API_BASE_URL: graph.url, GRAPH_API_VERSION: 'v23.0' },
      async () =>
        new Response(
          new ReadableStream({
            start(controller) {
              controller.enqueue(new TextEncoder().encode('{"message_id":'));
              controller.error(new Error('terminated'));
            },
          }),
          { status: 200 },
        ),
    );
    expect(await classify(cutOff)).toBe('no_answer');
  });
});

describe('graph error table', () => {
  it.each([
    ['130429', 'transient'],
    ['131056', 'transient'],
    ['131057', 'transient'],
    ['131000', 'transient'],
    ['131016', 'transient'],
    ['2', 'transient'],
    ['133004', 'transient'],
    ['80007', 'transient'],
    ['4', 'transient'],
    ['131047', 'permanent'],
    ['470', 'permanent'],
    ['131026', 'permanent'],
    ['132000', 'permanent'],
    ['132001', 'permanent'],
    ['132015', 'permanent'],
    ['132016', 'permanent'],
    ['368', 'permanent'],
    ['131031', 'permanent'],
    ['131042', 'permanent'],
    ['0', 'permanent'],
    ['190', 'permanent'],
    ['10', 'permanent'],
    ['250', 'permanent'],
    ['131008', 'permanent'],
    ['131009', 'permanent'],
    ['100', 'permanent'],
  ])('%s is %s, with a reason', (code, classification) => {
    const meaning = graphErrorMeaning({ code, httpStatus: 400 });
    expect(meaning.classification).toBe(classification);
    expect(meaning.reason.length).toBeGreaterThan(20);
  });

  it('decides unknown codes by HTTP status, and Messenger window errors by subcode', () => {
    expect(graphErrorMeaning({ code: 999999, httpStatus: 502 }).classification).toBe('transient');
    expect(graphErrorMeaning({ code: 999999, httpStatus: 400, message: 'odd' })).toEqual({
      classification: 'permanent',
      reason: 'Meta refused the message: odd',
    });
    expect(graphErrorReason(10, 2018278)).toContain('reply window has closed');
  });
});
