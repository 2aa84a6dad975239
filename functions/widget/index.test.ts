import { sign } from 'hono/jwt';
import type postgres from 'postgres';
import { describe, expect } from 'vitest';
import type { TenantFixture } from '../../test/fixtures';
import { type Harness, TEST_WIDGET_TOKEN_SECRET } from '../../test/harness';
import { it } from '../../test/it';
import { WIDGET_BODY_LIMIT } from '.';

/**
 * The web chat widget's public API, in-process against the run's database and the stand-ins:
 * sessions, sending through the common ingest (the agent answers through the real send job, never
 * Meta), polling with delta sync, the operator's reply and takeover, and every refusal: bad key,
 * forged and expired tokens, another visitor's or another tenant's token, a foreign origin, a
 * body too large, malformed input and the rate limits.
 */

const ORIGIN = 'https://shop.example';

type Widget = { key: string; channelAccountId: string };

async function createWidget(
  sql: postgres.Sql,
  t: TenantFixture,
  origins: string[] = [ORIGIN],
): Promise<Widget> {
  const key = `pk_test_${crypto.randomUUID().replaceAll('-', '')}`;
  const channelAccountId = crypto.randomUUID();
  await sql`insert into channel_accounts (id, tenant_id, channel, external_id, display_name)
    values (${channelAccountId}, ${t.tenantId}, 'web', ${key}, ${`${t.name} website`})`;
  await sql`insert into widgets (tenant_id, channel_account_id, allowed_origins, title, greeting)
    values (${t.tenantId}, ${channelAccountId}, ${sql.json(origins)}, ${t.name}, 'Hi! How can we help?')`;
  return { key, channelAccountId };
}

/** Each call a new client address, so tests do not share the per-IP windows. */
const newIp = () => `198.51.100.${Math.floor(Math.random() * 250) + 1}-${crypto.randomUUID()}`;

function widgetClient(h: Harness, options: { origin?: string | null; ip?: string } = {}) {
  const ip = options.ip ?? newIp();
  const origin = options.origin === undefined ? ORIGIN : options.origin;
  const call = (path: string, init: RequestInit & { token?: string } = {}) => {
    const headers = new Headers(init.headers);
    if (origin) headers.set('origin', origin);
    headers.set('cf-connecting-ip', ip);
    if (init.token) headers.set('authorization', `Bearer ${init.token}`);
    if (init.body) headers.set('content-type', 'application/json');
    return h.request(`http://switchboard.test${path}`, { ...init, headers });
  };
  return {
    call,
    session: (key: string, token?: string) =>
      call('/widget/session', { method: 'POST', body: JSON.stringify({ key, token }) }),
    poll: (token: string, after?: string) =>
      call(`/widget/messages${after ? `?after=${encodeURIComponent(after)}` : ''}`, { token }),
    send: (token: string, text: string, clientMessageId = crypto.randomUUID()) =>
      call('/widget/messages', {
        method: 'POST',
        token,
        body: JSON.stringify({ text, client_message_id: clientMessageId }),
      }),
  };
}

type Poll = {
  messages: Array<{ id: string; from: string; by: string | null; text: string }>;
  cursor: string;
  human: boolean;
  visitor: { name: string | null; email: string | null } | null;
};

async function startSession(h: Harness, w: Widget) {
  const res = await widgetClient(h).session(w.key);
  expect(res.status).toBe(200);
  return (await res.json()) as { token: string; visitor_id: string };
}

describe('web widget API', () => {
  it('a visitor sends, the agent answers through the send job (not Meta), an operator takes over', async ({
    harness: h,
    sql,
    tenant,
  }) => {
    const widget = await createWidget(sql, tenant);
    const client = widgetClient(h);
    const session = await client.session(widget.key);
    expect(session.status).toBe(200);
    expect(session.headers.get('access-control-allow-origin')).toBe(ORIGIN);
    const { token, visitor_id } = (await session.json()) as { token: string; visitor_id: string };

    const empty = (await (await client.poll(token)).json()) as Poll;
    expect(empty.messages).toEqual([]);
    expect(empty.human).toBe(false);

    const graphBefore = h.graph?.requests.length ?? 0;
    const clientId = crypto.randomUUID();
    const sent = await client.send(token, 'Hello, are you open on Saturday?', clientId);
    expect(sent.status).toBe(201);
    // Sent again (the widget retrying after a lost answer): stored once.
    const again = await client.send(token, 'Hello, are you open on Saturday?', clientId);
    expect(again.status).toBe(200);
    expect(await again.json()).toMatchObject({ status: 'duplicate' });

    // The same rows as every channel: a web contact keyed by the visitor, its conversation.
    const [contact] = await sql`select c.channel, count(m.*)::int as messages
      from contacts c join conversations v on v.contact_id = c.id join messages m on m.conversation_id = v.id
      where c.tenant_id = ${tenant.tenantId} and c.external_user_id = ${visitor_id}
      group by c.channel`;
    expect(contact).toMatchObject({ channel: 'web', messages: 1 });

    await h.settle();
    const afterAgent = (await (await client.poll(token)).json()) as Poll;
    expect(afterAgent.messages[0]).toMatchObject({
      from: 'visitor',
      text: 'Hello, are you open on Saturday?',
    });
    const reply = afterAgent.messages.find((m) => m.from === 'business');
    expect(reply).toMatchObject({ by: 'agent' });
    // Delivered at once, and nothing went to Meta.
    const [stored] = await sql`select status, provider_message_id from messages
      where id = ${reply?.id ?? ''}`;
    expect(stored).toMatchObject({ status: 'delivered' });
    expect(String(stored?.provider_message_id)).toMatch(/^web:/);
    expect(h.graph?.requests.length ?? 0).toBe(graphBefore);

    // Delta sync: nothing new since the cursor except what changed within its safety margin.
    const cursor = afterAgent.cursor;
    const [conv] = await sql`select v.id from conversations v join contacts c on c.id = v.contact_id
      where c.external_user_id = ${visitor_id}`;
    const operator = await h.asUser(tenant.owner, '/admin/whatsapp/send', {
      method: 'POST',
      headers: { 'x-tenant-id': tenant.tenantId },
      body: JSON.stringify({
        conversation_id: conv?.id,
        message: 'Hi, this is Ana from the team.',
      }),
    });
    expect(operator.status).toBe(202);
    await h.settle();
    const delta = (await (await client.poll(token, cursor)).json()) as Poll;
    expect(delta.messages.map((m) => m.text)).toContain('Hi, this is Ana from the team.');
    expect(delta.messages.find((m) => m.text === 'Hi, this is Ana from the team.')?.by).toBe(
      'operator',
    );
    // The operator's reply took the conversation over: the widget says a person is here.
    expect(delta.human).toBe(true);
    expect(h.graph?.requests.length ?? 0).toBe(graphBefore);
  });

  it('a visitor asking for a person is handed off as on any channel: the widget says so', async ({
    harness: h,
    sql,
    tenant,
  }) => {
    const widget = await createWidget(sql, tenant);
    const { token } = await startSession(h, widget);
    const client = widgetClient(h);
    expect((await client.send(token, 'human please')).status).toBe(201);
    await h.settle();
    const polled = (await (await client.poll(token)).json()) as Poll;
    expect(polled.human).toBe(true);
    const [conv] = await sql`select v.locked_by from conversations v
      join channel_accounts a on a.id = v.channel_account_id
      where a.id = ${widget.channelAccountId}`;
    expect(conv?.locked_by).toBe('keyword');
  });

  it('a reload keeps the visitor: their token is given back; any other token is replaced', async ({
    harness: h,
    sql,
    tenant,
    otherTenant,
  }) => {
    const widget = await createWidget(sql, tenant);
    const otherWidget = await createWidget(sql, otherTenant);
    const first = await startSession(h, widget);
    const reloaded = (await (await widgetClient(h).session(widget.key, first.token)).json()) as {
      token: string;
      visitor_id: string;
    };
    expect(reloaded).toMatchObject({ token: first.token, visitor_id: first.visitor_id });
    // Another widget's token is not this widget's visitor: a new one.
    const foreign = await startSession(h, otherWidget);
    const replaced = (await (await widgetClient(h).session(widget.key, foreign.token)).json()) as {
      visitor_id: string;
    };
    expect(replaced.visitor_id).not.toBe(foreign.visitor_id);
  });

  it('the profile: name and email or phone, on the visitor’s contact, before or after writing', async ({
    harness: h,
    sql,
    tenant,
  }) => {
    const widget = await createWidget(sql, tenant);
    const { token, visitor_id } = await startSession(h, widget);
    const client = widgetClient(h);
    const put = (body: unknown) =>
      client.call('/widget/profile', { method: 'PUT', token, body: JSON.stringify(body) });
    expect((await put({ name: 'Lina' })).status).toBe(400);
    expect((await put({ name: 'Lina', email: 'not-an-email' })).status).toBe(400);
    expect((await put({ name: 'Lina', email: 'lina@example.com' })).status).toBe(200);
    expect((await client.send(token, 'Hi')).status).toBe(201);
    const [contact] = await sql`select name, email from contacts
      where tenant_id = ${tenant.tenantId} and external_user_id = ${visitor_id}`;
    expect(contact).toEqual({ name: 'Lina', email: 'lina@example.com' });
    const polled = (await (await client.poll(token)).json()) as Poll;
    expect(polled.visitor).toMatchObject({ name: 'Lina', email: 'lina@example.com' });
  });

  it('refuses: unknown key 404, foreign or missing origin 403, malformed 400, too large 413', async ({
    harness: h,
    sql,
    tenant,
  }) => {
    const widget = await createWidget(sql, tenant);
    expect((await widgetClient(h).session('pk_no_such_widget_key')).status).toBe(404);

    const foreign = await widgetClient(h, { origin: 'https://evil.example' }).session(widget.key);
    expect(foreign.status).toBe(403);
    const refusal = (await foreign.json()) as { error: { code: string; message: string } };
    expect(refusal.error.code).toBe('FORBIDDEN');
    expect(refusal.error.message).toContain('https://evil.example');
    // Echoed, so the widget on that page can read why and say so.
    expect(foreign.headers.get('access-control-allow-origin')).toBe('https://evil.example');
    expect((await widgetClient(h, { origin: null }).session(widget.key)).status).toBe(403);

    // A visitor's token used from a page of another origin: refused too.
    const { token } = await startSession(h, widget);
    expect((await widgetClient(h, { origin: 'https://evil.example' }).poll(token)).status).toBe(
      403,
    );
    expect(
      (await widgetClient(h, { origin: 'https://evil.example' }).send(token, 'hi')).status,
    ).toBe(403);

    const client = widgetClient(h);
    const malformed = await client.call('/widget/messages', {
      method: 'POST',
      token,
      body: '{"text":',
    });
    expect(malformed.status).toBe(400);
    const noId = await client.call('/widget/messages', {
      method: 'POST',
      token,
      body: JSON.stringify({ text: 'hi' }),
    });
    expect(noId.status).toBe(400);
    expect(((await noId.json()) as { error: { message: string } }).error.message).toContain(
      'client_message_id',
    );
    expect((await client.send(token, '   ')).status).toBe(400);
    expect((await client.send(token, 'x'.repeat(2001))).status).toBe(400);
    expect((await client.poll(token, 'yesterday')).status).toBe(400);
    const huge = await client.call('/widget/messages', {
      method: 'POST',
      token,
      body: JSON.stringify({ text: 'x'.repeat(WIDGET_BODY_LIMIT), client_message_id: 'abcdefgh' }),
    });
    expect(huge.status).toBe(413);
    // The preflight is answered without a key: the allow-list is checked on the request itself.
    const preflight = await h.request('http://switchboard.test/widget/messages', {
      method: 'OPTIONS',
      headers: {
        origin: ORIGIN,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization, content-type',
      },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-headers')).toContain('authorization');
  });

  it('tokens: forged, expired, another visitor’s, another tenant’s: none reads this conversation', async ({
    harness: h,
    sql,
    tenant,
    otherTenant,
  }) => {
    const widget = await createWidget(sql, tenant);
    const alice = await startSession(h, widget);
    const client = widgetClient(h);
    expect((await client.send(alice.token, 'Alice’s secret question')).status).toBe(201);

    expect((await client.poll('')).status).toBe(401);
    expect((await client.poll('not-a-token')).status).toBe(401);
    const claims = JSON.parse(
      Buffer.from(alice.token.split('.')[1] ?? '', 'base64url').toString(),
    ) as Record<string, unknown>;
    const forged = await sign(claims, 'another-secret-of-at-least-32-characters', 'HS256');
    expect((await client.poll(forged)).status).toBe(401);
    const expired = await sign(
      { ...claims, exp: Math.floor(Date.now() / 1000) - 60 },
      TEST_WIDGET_TOKEN_SECRET,
      'HS256',
    );
    expect((await client.poll(expired)).status).toBe(401);

    // Bob, another visitor of the same widget, sees only his own (empty) conversation.
    const bob = await startSession(h, widget);
    const bobs = (await (await client.poll(bob.token)).json()) as Poll;
    expect(bobs.messages).toEqual([]);

    // A token naming Alice's visitor id under another tenant (signed right, as if the secret
    // leaked with a bug): that tenant's handle sees none of Alice's rows.
    const otherWidget = await createWidget(sql, otherTenant);
    const crossed = await sign(
      { ...claims, tid: otherTenant.tenantId, aid: otherWidget.channelAccountId },
      TEST_WIDGET_TOKEN_SECRET,
      'HS256',
    );
    const seen = (await (await client.call('/widget/messages', { token: crossed })).json()) as Poll;
    expect(seen.messages).toEqual([]);
    // And with the other tenant bound but Alice's widget account named: no such widget there.
    const mixed = await sign(
      { ...claims, tid: otherTenant.tenantId },
      TEST_WIDGET_TOKEN_SECRET,
      'HS256',
    );
    expect((await client.poll(mixed)).status).toBe(401);
  });

  it('rate limits: a visitor sending too fast gets 429 with Retry-After and a clear message', async ({
    harness: h,
    sql,
    tenant,
  }) => {
    const widget = await createWidget(sql, tenant);
    await sql`update tenant_settings set reply_mode = 'off' where tenant_id = ${tenant.tenantId}`;
    const { token } = await startSession(h, widget);
    const client = widgetClient(h);
    const statuses: number[] = [];
    for (let i = 0; i < 13; i++) statuses.push((await client.send(token, `message ${i}`)).status);
    expect(statuses.slice(0, 12)).toEqual(Array(12).fill(201));
    const limited = await client.send(token, 'one too many');
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(((await limited.json()) as { error: { message: string } }).error.message).toMatch(
      /too quickly/,
    );

    // Sessions per IP: the 21st new visitor from one address within a minute waits.
    const oneIp = widgetClient(h, { ip: newIp() });
    const sessions: number[] = [];
    for (let i = 0; i < 21; i++) sessions.push((await oneIp.session(widget.key)).status);
    expect(sessions.slice(0, 20)).toEqual(Array(20).fill(200));
    expect(sessions[20]).toBe(429);
  });
});
