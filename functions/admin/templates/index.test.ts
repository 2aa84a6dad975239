import { describe, expect } from 'vitest';
import { asTenant } from '../../../db/client';
import { handleOptOutKeywords } from '../../../db/opt-ins';
import { createConversation } from '../../../test/conversations';
import type { TenantFixture } from '../../../test/fixtures';
import type { Harness } from '../../../test/harness';
import { it, must } from '../../../test/it';
import { describeOperatorSecurity } from '../../../test/operator-security';

describeOperatorSecurity({ method: 'GET', path: '/admin/templates' });
describeOperatorSecurity({ method: 'POST', path: '/admin/templates/sync' });
describeOperatorSecurity({
  method: 'POST',
  path: '/admin/templates/send',
  body: { conversation_id: crypto.randomUUID(), template_id: crypto.randomUUID(), parameters: [] },
});

const DAY = 24 * 60 * 60 * 1000;

type TemplateItem = {
  id: string;
  name: string;
  language: string;
  status: string;
  category: string;
  sendable: boolean;
  refusal: string | null;
  parameter_format: string;
  placeholders: { header: { format: string; names: string[] } | null; body: string[] };
  parameter_count: number;
};

it.override('harnessOptions', { statusProgression: false });

const graph = (h: Harness) => must(h.graph, 'the Graph stand-in');

describe('templates: sync, list, send', () => {
  let byName: Map<string, TemplateItem>;

  it.beforeEach(({ harness }) => graph(harness).reset());

  const sync = (h: Harness, tenant: TenantFixture) =>
    h.asUser(tenant.owner, '/admin/templates/sync', { method: 'POST' });
  const sendTemplate = (h: Harness, t: TenantFixture, body: Record<string, unknown>) =>
    h.asUser(t.agent, '/admin/templates/send', { method: 'POST', body: JSON.stringify(body) });
  const sends = (h: Harness) =>
    graph(h).requests.filter((r) => r.method === 'POST' && r.path.endsWith('/messages'));
  const id = (name: string, language = 'en_US') =>
    must(byName.get(`${name}:${language}`), `synced template ${name}:${language}`).id;

  it('syncs every template of the WABA from Meta and shows placeholders and sendability', async ({
    harness: h,
    sql,
    tenant: t,
    otherTenant: other,
  }) => {
    // A template Meta no longer lists must stop being sendable.
    await sql`insert into templates (tenant_id, channel_account_id, waba_id, provider_template_id, name, language, status, category)
      values (${t.tenantId}, ${t.accounts.whatsapp.id}, ${t.accounts.whatsapp.wabaId}, '999', 'retired', 'en_US', 'APPROVED', 'UTILITY')`;
    const res = await sync(h, t);
    expect(res.status).toBe(200);
    const body = (await res.json()) as {
      synced: number;
      accounts: unknown[];
      items: TemplateItem[];
    };
    expect(body.synced).toBe(5);
    expect(body.accounts).toEqual([
      {
        channel_account_id: t.accounts.whatsapp.id,
        waba_id: t.accounts.whatsapp.wabaId,
        templates: 5,
      },
    ]);
    expect(graph(h).requests[0]?.path).toBe(
      `/v23.0/${t.accounts.whatsapp.wabaId}/message_templates`,
    );

    // Idempotent: a second sync updates in place.
    expect((await sync(h, t)).status).toBe(200);
    const list = await h.asUser(t.agent, '/admin/templates');
    const items = ((await list.json()) as { items: TemplateItem[] }).items;
    byName = new Map(items.map((i) => [`${i.name}:${i.language}`, i]));
    expect(items.map((i) => `${i.name}:${i.language}:${i.status}`)).toEqual([
      'appointment_reminder:en_US:APPROVED',
      'feedback_request:en_US:PAUSED',
      'order_shipped:en_US:APPROVED',
      'order_shipped:es:APPROVED',
      'retired:en_US:DELETED',
      'spring_sale:en_US:APPROVED',
    ]);
    expect(byName.get('order_shipped:en_US')).toMatchObject({
      parameter_format: 'POSITIONAL',
      placeholders: { header: null, body: ['1'] },
      parameter_count: 1,
      sendable: true,
      refusal: null,
    });
    expect(byName.get('appointment_reminder:en_US')).toMatchObject({
      parameter_format: 'NAMED',
      placeholders: { body: ['first_name', 'date'] },
      parameter_count: 2,
    });
    expect(byName.get('spring_sale:en_US')).toMatchObject({
      category: 'MARKETING',
      placeholders: { header: { format: 'TEXT', names: [] }, body: [] },
    });
    expect(byName.get('feedback_request:en_US')).toMatchObject({
      sendable: false,
      refusal: expect.stringContaining('paused'),
    });
    const [count] =
      await sql`select count(*)::int as n from templates where tenant_id = ${t.tenantId}`;
    expect(count?.n).toBe(6);
    // The other tenant sees none of them.
    const theirs = await h.asUser(other.agent, '/admin/templates');
    expect(((await theirs.json()) as { items: unknown[] }).items).toEqual([]);
  });

  it('sends an approved positional template with its parameter, outside the 24 h window', async ({
    harness: h,
    sql,
    tenant: t,
  }) => {
    const conv = await createConversation(sql, t, {
      lastInboundAt: new Date(Date.now() - 3 * DAY),
    });
    const res = await sendTemplate(h, t, {
      conversation_id: conv.conversationId,
      template_id: id('order_shipped'),
      parameters: ['#4521'],
    });
    expect(res.status).toBe(202);
    const { message } = (await res.json()) as {
      message: { id: string; content: string; type: string };
    };
    expect(message.type).toBe('template');
    expect(message.content).toBe('Good news: your order #4521 has shipped and is on its way.');
    await h.settle();
    expect(sends(h)).toHaveLength(1);
    expect(sends(h)[0]?.body).toEqual({
      messaging_product: 'whatsapp',
      recipient_type: 'individual',
      to: conv.externalUserId,
      type: 'template',
      template: {
        name: 'order_shipped',
        language: { code: 'en_US' },
        components: [{ type: 'body', parameters: [{ type: 'text', text: '#4521' }] }],
      },
      biz_opaque_callback_data: message.id,
    });
    const [row] = await sql`select status from messages where id = ${message.id}`;
    expect(row?.status).toBe('sent');
  });

  it('sends a named template with parameter_name on each value', async ({
    harness: h,
    sql,
    tenant: t,
  }) => {
    const conv = await createConversation(sql, t);
    const res = await sendTemplate(h, t, {
      conversation_id: conv.conversationId,
      template_id: id('appointment_reminder'),
      parameters: { body: { first_name: 'Maria', date: 'Monday 3 March at 10:00' } },
    });
    expect(res.status).toBe(202);
    await h.settle();
    expect((must(sends(h)[0], 'the template send').body as { template: unknown }).template).toEqual(
      {
        name: 'appointment_reminder',
        language: { code: 'en_US' },
        components: [
          {
            type: 'body',
            parameters: [
              { type: 'text', text: 'Maria', parameter_name: 'first_name' },
              { type: 'text', text: 'Monday 3 March at 10:00', parameter_name: 'date' },
            ],
          },
        ],
      },
    );
  });

  it('refuses parameters that do not match the template (count, names, format) with a 400', async ({
    harness: h,
    sql,
    tenant: t,
  }) => {
    const conv = await createConversation(sql, t);
    const cases: Array<[string, unknown, string]> = [
      ['order_shipped', [], 'body takes 1 parameter(s) ({{1}}), got 0'],
      ['order_shipped', ['a', 'b'], 'body takes 1 parameter(s) ({{1}}), got 2'],
      ['order_shipped', ['two\nlines'], 'must not contain new lines'],
      ['order_shipped', ['a     b'], 'more than 4 consecutive spaces'],
      ['appointment_reminder', ['Maria', 'Monday'], 'uses named parameters'],
      ['appointment_reminder', { body: { first_name: 'Maria' } }, 'missing date'],
      [
        'appointment_reminder',
        { body: { first_name: 'Maria', date: 'Mon', extra: 'x' } },
        'not in the template: extra',
      ],
      ['spring_sale', { buttons: [{ index: 5, payload: 'x' }] }, 'has no button 5'],
    ];
    for (const [name, parameters, expected] of cases) {
      const res = await sendTemplate(h, t, {
        conversation_id: conv.conversationId,
        template_id: id(name),
        parameters,
      });
      expect(res.status, `${name} ${JSON.stringify(parameters)}`).toBe(400);
      expect(((await res.json()) as { error: { message: string } }).error.message).toContain(
        expected,
      );
    }
    await h.settle();
    expect(sends(h)).toEqual([]);
  });

  it('checks a whole template message sent through /admin/whatsapp/send the same way: 400, nothing queued', async ({
    harness: h,
    sql,
    tenant: t,
  }) => {
    const conv = await createConversation(sql, t);
    const sendMessage = (message: Record<string, unknown>) =>
      h.asUser(t.agent, '/admin/whatsapp/send', {
        method: 'POST',
        body: JSON.stringify({ conversation_id: conv.conversationId, message }),
      });
    const body = (...texts: string[]) => [
      { type: 'body', parameters: texts.map((text) => ({ type: 'text', text })) },
    ];
    const cases: Array<[Record<string, unknown>, string]> = [
      [
        { name: 'order_shipped', language: 'en_US', components: body('#1', '#2') },
        "Template order_shipped (en_US): parameters.body: the template's body takes 1 parameter(s) ({{1}}), got 2",
      ],
      [{ name: 'order_shipped', language: 'en_US' }, 'body takes 1 parameter(s) ({{1}}), got none'],
      [
        { name: 'order_shipped', language: 'en_US', components: body('two\nlines') },
        'must not contain new lines',
      ],
      [
        { name: 'appointment_reminder', language: 'en_US', components: body('Maria', 'Monday') },
        'uses named parameters',
      ],
    ];
    for (const [message, expected] of cases) {
      const res = await sendMessage({ type: 'template', ...message });
      expect(res.status, JSON.stringify(message)).toBe(400);
      const error = ((await res.json()) as { error: { code: string; message: string } }).error;
      expect(error.code).toBe('BAD_REQUEST');
      expect(error.message).toContain(expected);
    }
    const queued = async () =>
      (
        await sql`select count(*)::int as n from messages
          where conversation_id = ${conv.conversationId} and direction = 'outbound'`
      )[0]?.n;
    expect(await queued()).toBe(0);
    await h.settle();
    expect(sends(h)).toEqual([]);

    // The right count passes the same check and goes out.
    const ok = await sendMessage({
      type: 'template',
      name: 'order_shipped',
      language: 'en_US',
      components: body('#4521'),
    });
    expect(ok.status).toBe(202);
    await h.settle();
    expect(await queued()).toBe(1);
    expect(sends(h)).toHaveLength(1);
  });

  it('refuses templates that are not APPROVED, with the reason', async ({
    harness: h,
    sql,
    tenant: t,
  }) => {
    const conv = await createConversation(sql, t);
    const paused = await sendTemplate(h, t, {
      conversation_id: conv.conversationId,
      template_id: id('feedback_request'),
      parameters: [],
    });
    expect(paused.status).toBe(422);
    expect(((await paused.json()) as { error: { message: string } }).error.message).toContain(
      'paused by Meta',
    );
    for (const [status, expected] of [
      ['DISABLED', 'disabled by Meta'],
      ['PENDING', "waiting for Meta's review"],
      ['REJECTED', 'rejected by Meta'],
    ] as const) {
      await sql`update templates set status = ${status} where id = ${id('order_shipped', 'es')}`;
      const res = await sendTemplate(h, t, {
        conversation_id: conv.conversationId,
        template_id: id('order_shipped', 'es'),
        parameters: ['#1'],
      });
      expect(res.status).toBe(422);
      expect(((await res.json()) as { error: { message: string } }).error.message).toContain(
        expected,
      );
    }
    await h.settle();
    expect(sends(h)).toEqual([]);
  });

  it('needs an explicit opt-in for a MARKETING template; an opt-out stops it again', async ({
    harness: h,
    sql,
    db,
    tenant: t,
  }) => {
    const conv = await createConversation(sql, t);
    const send = () =>
      sendTemplate(h, t, {
        conversation_id: conv.conversationId,
        template_id: id('spring_sale'),
        parameters: [],
      });
    const without = await send();
    expect(without.status).toBe(422);
    expect(((await without.json()) as { error: { message: string } }).error.message).toContain(
      'explicit opt-in',
    );

    const optIn = await h.asUser(t.agent, `/admin/contacts/${conv.contactId}/opt-ins`, {
      method: 'POST',
      body: JSON.stringify({ action: 'opt_in', scope: 'marketing', source: 'web_form' }),
    });
    expect(optIn.status).toBe(201);
    expect((await send()).status).toBe(202);
    await h.settle();
    expect(sends(h)).toHaveLength(1);

    // The customer writes STOP: the opt-out is recorded and marketing is refused from then on.
    const handled = await asTenant(db, t.tenantId, (ctx) =>
      handleOptOutKeywords(ctx, {
        contactId: conv.contactId,
        conversationId: conv.conversationId,
        text: 'STOP',
      }),
    );
    expect(handled.matched).toBe(true);
    const after = await send();
    expect(after.status).toBe(422);
    expect(((await after.json()) as { error: { message: string } }).error.message).toContain(
      'opted out',
    );
  });

  it('sends no template to a contact who never wrote and never opted in (no outreach)', async ({
    harness: h,
    sql,
    tenant: t,
  }) => {
    const conv = await createConversation(sql, t, { lastInboundAt: null });
    const res = await sendTemplate(h, t, {
      conversation_id: conv.conversationId,
      template_id: id('order_shipped'),
      parameters: ['#1'],
    });
    expect(res.status).toBe(422);
    expect(((await res.json()) as { error: { message: string } }).error.message).toContain(
      'never wrote to us and never opted in',
    );
  });

  it("answers 404 for another tenant's template or conversation", async ({
    harness: h,
    sql,
    tenant: t,
    otherTenant: other,
  }) => {
    expect((await sync(h, other)).status).toBe(200);
    const [theirs] =
      await sql`select id from templates where tenant_id = ${other.tenantId} and name = 'order_shipped' and language = 'en_US'`;
    const conv = await createConversation(sql, t);
    const foreignTemplate = await sendTemplate(h, t, {
      conversation_id: conv.conversationId,
      template_id: must(theirs, "the other tenant's template").id,
      parameters: ['#1'],
    });
    expect(foreignTemplate.status).toBe(404);
    const foreignConv = await createConversation(sql, other);
    const res = await sendTemplate(h, t, {
      conversation_id: foreignConv.conversationId,
      template_id: id('order_shipped'),
      parameters: ['#1'],
    });
    expect(res.status).toBe(404);
  });
});
