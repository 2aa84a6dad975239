import fc from 'fast-check';
import type postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultTemplateFixtures } from '../../dev/stand-ins/meta-graph';
import { ycloudSignature } from '../../dev/stand-ins/ycloud';
import { replyWith, scriptedModels } from '../../test/agent';
import { adminSql, createTenant, type TenantFixture } from '../../test/fixtures';
import { createHarness, type Harness } from '../../test/harness';
import { must } from '../../test/must';
import {
  connectProviderNumber,
  customerWrites,
  type ProviderNumber,
  type ProviderStandIns,
  registerWithStandIn,
  startProviderStandIns,
} from '../../test/providers';
import { agentTurnJob } from '../jobs/agent-turn';

/**
 * Issue 13: a WhatsApp number carried by Gupshup or YCloud goes through the same pipeline as one
 * on Meta's Cloud API. Each provider's stand-in posts callbacks the way the provider does (Gupshup:
 * the secret in the callback URL; YCloud: a signed body) into the app, and takes the app's sends
 * in the provider's request shape, answering like the provider.
 */
const script = scriptedModels(
  Array.from({ length: 40 }, () => replyWith('Con gusto, ¿a qué hora?')),
);

let h: Harness;
let sql: postgres.Sql;
let standIns: ProviderStandIns;
let t: TenantFixture;
let other: TenantFixture;

beforeAll(async () => {
  let deliverTo: Harness | undefined;
  standIns = await startProviderStandIns((request) => must(deliverTo, 'harness').request(request));
  h = await createHarness({
    bindings: standIns.bindings,
    jobs: [agentTurnJob({ models: script.resolver })],
  });
  deliverTo = h;
  sql = adminSql();
  t = await createTenant(sql, 'Providers');
  other = await createTenant(sql, 'Providers other');
});
afterAll(async () => {
  await standIns?.close();
  await sql?.end();
  await h?.close();
});

/** Runs jobs and the stand-ins' callbacks until nothing more happens. */
async function settleAll() {
  for (let round = 0; round < 6; round++) {
    await standIns.gupshup.flush();
    await standIns.ycloud.flush();
    await h.settle();
  }
}

const customer = () => `5491${String(Math.floor(Math.random() * 1e9)).padStart(9, '0')}`;

async function number(provider: 'gupshup' | 'ycloud', tenant = t): Promise<ProviderNumber> {
  const n = await connectProviderNumber(sql, tenant, provider);
  registerWithStandIn(standIns, n);
  return n;
}

const counts = async (accountId: string) => {
  const [row] = await sql`select
      (select count(*)::int from messages where channel_account_id = ${accountId}) as messages,
      (select count(*)::int from webhook_events where signed_for @> array[${accountId}]::uuid[]) as events`;
  return must(row, 'counts');
};

/** The last callback the stand-in posted, as a request that can be posted again. */
function lastCallback(n: ProviderNumber): { url: string; body: string; headers: Headers } {
  if (n.provider === 'gupshup') {
    const callback = must(standIns.gupshup.callbacks().at(-1), 'gupshup callback');
    return { url: callback.url, body: JSON.stringify(callback.body), headers: new Headers() };
  }
  const delivery = must(standIns.ycloud.deliveries().at(-1), 'ycloud delivery');
  const body = JSON.stringify(delivery.event);
  const headers = new Headers({
    'YCloud-Signature': ycloudSignature(n.webhookSecret, Math.floor(Date.now() / 1000), body),
  });
  return { url: delivery.url, body, headers };
}

const post = (url: string, body: string, headers = new Headers()) => {
  headers.set('content-type', 'application/json');
  return h.request(url, { method: 'POST', headers, body });
};

describe.each(['gupshup', 'ycloud'] as const)('a WhatsApp number on %s', (provider) => {
  it("a customer's message is stored once, gets the agent's reply through the provider, and its statuses come back", async () => {
    const n = await number(provider);
    const from = customer();
    const sendsBefore =
      provider === 'gupshup' ? standIns.gupshup.sends().length : standIns.ycloud.sends().length;
    expect(
      await customerWrites(standIns, n, { from, name: 'Lucía', text: 'Hola, ¿turno mañana?' }),
    ).toBe(200);
    const [inbound] = await sql`select m.content, m.direction, c.external_user_id, c.phone, c.name
      from messages m join conversations cv on cv.id = m.conversation_id
      join contacts c on c.id = cv.contact_id
      where m.channel_account_id = ${n.id} and m.direction = 'inbound'`;
    expect(inbound).toEqual({
      content: 'Hola, ¿turno mañana?',
      direction: 'inbound',
      external_user_id: from,
      phone: from,
      name: 'Lucía',
    });

    await settleAll();
    const sends =
      provider === 'gupshup'
        ? standIns.gupshup.sends().slice(sendsBefore)
        : standIns.ycloud.sends().slice(sendsBefore);
    expect(sends).toHaveLength(1);
    const [outbound] = await sql`select id, status, provider_message_id, content from messages
      where channel_account_id = ${n.id} and direction = 'outbound'`;
    expect(outbound?.content).toBe('Con gusto, ¿a qué hora?');
    // The provider's statuses (sent, delivered, read) came back through the callback URL.
    expect(outbound?.status).toBe('read');
    if (provider === 'gupshup') {
      const [send] = standIns.gupshup.sends().slice(sendsBefore);
      expect(send?.path).toBe('/wa/api/v1/msg');
      expect(send?.form).toMatchObject({
        channel: 'whatsapp',
        source: n.phone,
        destination: from,
        'src.name': n.externalId,
      });
      expect(send?.message).toEqual({ type: 'text', text: 'Con gusto, ¿a qué hora?' });
      expect(outbound?.provider_message_id).toBe(send?.messageId);
    } else {
      const [send] = standIns.ycloud.sends().slice(sendsBefore);
      expect(send?.path).toBe('/v2/whatsapp/messages/sendDirectly');
      expect(send?.body).toMatchObject({
        from: n.externalId,
        to: `+${from}`,
        type: 'text',
        text: { body: 'Con gusto, ¿a qué hora?' },
        externalId: outbound?.id,
      });
      expect(outbound?.provider_message_id).toBe(
        (must(send, 'send').answer.body as { id: string }).id,
      );
    }
  });

  it('the same callback 20 times at once is one message; a late "delivered" never undoes "read"', async () => {
    const n = await number(provider);
    await customerWrites(standIns, n, { from: customer(), text: 'una vez' });
    const again = lastCallback(n);
    const answers = await Promise.all(
      Array.from({ length: 20 }, () => post(again.url, again.body, new Headers(again.headers))),
    );
    expect(answers.map((r) => r.status)).toEqual(Array(20).fill(200));
    const statuses = await Promise.all(
      answers.map(async (r) => ((await r.json()) as { status: string }).status),
    );
    expect(new Set(statuses)).toEqual(new Set(['duplicate']));
    expect((await counts(n.id)).messages).toBe(1);

    await settleAll();
    const [reply] = await sql`select status from messages
      where channel_account_id = ${n.id} and direction = 'outbound'`;
    expect(reply?.status).toBe('read');
    // Replay the "delivered" status after "read": statuses arrive out of order.
    const delivered =
      provider === 'gupshup'
        ? standIns.gupshup
            .callbacks()
            .filter((c) => c.body.type === 'message-event' && c.body.payload.type === 'delivered')
            .map((c) => ({ url: c.url, body: c.body as unknown }))
            .at(-1)
        : standIns.ycloud
            .deliveries()
            .filter((d) => JSON.stringify(d.event).includes('"status":"delivered"'))
            .map((d) => ({ url: d.url, body: d.event as unknown }))
            .at(-1);
    const body = JSON.stringify(must(delivered, 'delivered').body);
    const headers = new Headers(
      provider === 'ycloud'
        ? {
            'YCloud-Signature': ycloudSignature(
              n.webhookSecret,
              Math.floor(Date.now() / 1000),
              body,
            ),
          }
        : {},
    );
    const late = await post(must(delivered, 'delivered').url, body, headers);
    expect(late.status).toBe(200);
    const [after] = await sql`select status from messages
      where channel_account_id = ${n.id} and direction = 'outbound'`;
    expect(after?.status).toBe('read');
  });

  it('missing or wrong authentication → 401 and nothing stored; an unknown account → 404', async () => {
    const n = await number(provider);
    await customerWrites(standIns, n, { from: customer(), text: 'real' });
    const before = await counts(n.id);
    const real = lastCallback(n);
    const forged = real.body.replace('real', 'forged');
    const attempts: Array<[string, Headers]> = [];
    if (provider === 'gupshup') {
      const base = real.url.split('?')[0] ?? '';
      attempts.push([base, new Headers()]);
      attempts.push([`${base}?secret=wrong-secret`, new Headers()]);
      attempts.push([`${base}?secret=${n.webhookSecret}x`, new Headers()]);
    } else {
      const now = Math.floor(Date.now() / 1000);
      attempts.push([real.url, new Headers()]);
      attempts.push([
        real.url,
        new Headers({ 'YCloud-Signature': ycloudSignature('another-secret', now, forged) }),
      ]);
      // Signed for the real body, sent with another one.
      attempts.push([
        real.url,
        new Headers({ 'YCloud-Signature': ycloudSignature(n.webhookSecret, now, real.body) }),
      ]);
      // Signed an hour ago: a replay.
      attempts.push([
        real.url,
        new Headers({ 'YCloud-Signature': ycloudSignature(n.webhookSecret, now - 3600, forged) }),
      ]);
    }
    for (const [url, headers] of attempts) {
      const res = await post(url, forged, headers);
      expect(res.status).toBe(401);
      const body = (await res.json()) as { error: { code: string; message: string } };
      expect(body.error.code).toBe('UNAUTHORIZED');
      expect(body.error.message.length).toBeGreaterThan(10);
    }
    expect(await counts(n.id)).toEqual(before);

    // Another business's number with this number's secret: refused too.
    const foreign = await number(provider, other);
    const foreignUrl = real.url.replace(n.id, foreign.id);
    expect((await post(foreignUrl, forged, new Headers(real.headers))).status).toBe(401);
    expect((await counts(foreign.id)).messages).toBe(0);

    // More than the app takes (1 MiB): 413, nothing stored; a body that is not JSON but is
    // authentic is kept, dead with its reason, for an operator to see.
    const huge = await post(
      real.url,
      `{"x":"${'a'.repeat(1024 * 1024)}"}`,
      new Headers(real.headers),
    );
    expect(huge.status).toBe(413);
    expect(await counts(n.id)).toEqual(before);
    const notJson = `this is not json (${n.id})`;
    const garbled = await post(
      real.url,
      notJson,
      provider === 'ycloud'
        ? new Headers({
            'YCloud-Signature': ycloudSignature(
              n.webhookSecret,
              Math.floor(Date.now() / 1000),
              notJson,
            ),
          })
        : new Headers(),
    );
    expect(garbled.status).toBe(200);
    expect(((await garbled.json()) as { status: string }).status).toBe('dead');
    const [dead] = await sql`select outcome, reason, provider, tenant_id from webhook_events
      where raw_body = ${notJson} and signed_for @> array[${n.id}]::uuid[]`;
    expect(dead).toEqual({
      outcome: 'dead',
      reason: 'the body is not JSON',
      provider,
      // The business's own: its operators see the dead body and why.
      tenant_id: t.tenantId,
    });

    const unknown = await post(`/webhooks/${provider}/${crypto.randomUUID()}`, forged);
    expect(unknown.status).toBe(404);
    expect((await post(`/webhooks/${provider}/not-an-id`, forged)).status).toBe(404);
    // A Meta number is not a provider's account.
    expect((await post(`/webhooks/${provider}/${t.accounts.whatsapp.id}`, forged)).status).toBe(
      404,
    );
  });

  it('the conversation rules hold: an operator reply takes over, and after 24 h only a template may go', async () => {
    await settleAll();
    const n = await number(provider);
    const from = customer();
    await customerWrites(standIns, n, { from, text: 'quiero un turno' });
    await settleAll();
    const [conv] = await sql`select cv.id from conversations cv
      join contacts c on c.id = cv.contact_id where cv.channel_account_id = ${n.id}`;
    const conversationId = must(conv, 'conversation').id as string;
    const send = (text: string) =>
      h.asUser(t.owner, '/admin/whatsapp/send', {
        method: 'POST',
        body: JSON.stringify({ conversation_id: conversationId, message: text }),
      });
    expect((await send('Soy Marta, te ayudo yo.')).status).toBe(202);
    await settleAll();
    await customerWrites(standIns, n, { from, text: 'gracias Marta' });
    await settleAll();
    const outbound = await sql`select sender, status, content from messages
      where conversation_id = ${conversationId} and direction = 'outbound' order by provider_timestamp`;
    // The agent's first reply and the operator's; the agent stays quiet once a human took over.
    expect(outbound.map((m) => [m.sender, m.status])).toEqual([
      ['agent', 'read'],
      ['operator', 'read'],
    ]);

    await sql`update conversations set last_inbound_at = now() - interval '25 hours'
      where id = ${conversationId}`;
    const late = await send('¿Sigue ahí?');
    expect(late.status).toBe(422);
    expect(((await late.json()) as { error: { message: string } }).error.message).toContain(
      '24 hours',
    );
  });

  it('outside the 24 hours an approved template goes out through the provider’s template shape', async () => {
    await settleAll();
    const n = await number(provider);
    const from = customer();
    const [shipped] = defaultTemplateFixtures.filter((f) => f.name === 'order_shipped');
    const tpl = must(shipped, 'order_shipped');
    // The number's own copy of the template: Gupshup knows it by its own id.
    await sql`update channel_accounts set waba_id = ${`waba-${n.id}`} where id = ${n.id}`;
    await sql`insert into templates (tenant_id, channel_account_id, waba_id, provider_template_id, name, language, status, category, parameter_format, components)
      values (${t.tenantId}, ${n.id}, ${`waba-${n.id}`}, ${`gs-${n.id}`}, ${tpl.name}, ${tpl.language}, ${tpl.status}, ${tpl.category}, ${tpl.parameter_format}, ${sql.json(tpl.components as never)})`;
    await customerWrites(standIns, n, { from, text: '¿y mi pedido?' });
    await settleAll();
    const [conv] = await sql`select id from conversations where channel_account_id = ${n.id}`;
    await sql`update conversations set last_inbound_at = now() - interval '30 hours'
      where id = ${must(conv, 'conversation').id}`;
    const before =
      provider === 'gupshup' ? standIns.gupshup.sends().length : standIns.ycloud.sends().length;
    const res = await h.asUser(t.owner, '/admin/whatsapp/send', {
      method: 'POST',
      body: JSON.stringify({
        conversation_id: must(conv, 'conversation').id,
        message: {
          type: 'template',
          name: 'order_shipped',
          language: 'en_US',
          components: [{ type: 'body', parameters: [{ type: 'text', text: '#4521' }] }],
        },
      }),
    });
    expect(res.status).toBe(202);
    await settleAll();
    if (provider === 'gupshup') {
      const [send] = standIns.gupshup.sends().slice(before);
      expect(send?.path).toBe('/wa/api/v1/template/msg');
      expect(send?.status).toBe(202);
      expect(send?.template).toEqual({ id: `gs-${n.id}`, params: ['#4521'] });
      expect(send?.form.destination).toBe(from);
    } else {
      const [send] = standIns.ycloud.sends().slice(before);
      expect(send?.answer.status).toBe(200);
      expect(send?.body).toMatchObject({
        to: `+${from}`,
        type: 'template',
        template: {
          name: 'order_shipped',
          language: { code: 'en_US' },
          components: [{ type: 'body', parameters: [{ type: 'text', text: '#4521' }] }],
        },
      });
    }
    const [sent] = await sql`select status from messages
      where conversation_id = ${must(conv, 'conversation').id} and sender = 'operator'`;
    expect(sent?.status).toBe('read');
  });

  it("the provider's errors are classified: a 503 is retried and then sent, a refusal fails with its reason", async () => {
    // Earlier tests' replies go out first: the failure below is for this number's send.
    await settleAll();
    const n = await number(provider);
    const from = customer();
    if (provider === 'gupshup') standIns.gupshup.failNext({ status: 503 });
    else standIns.ycloud.failNext({ status: 503, code: 'SERVICE_UNAVAILABLE' });
    await customerWrites(standIns, n, { from, text: 'hola' });
    await settleAll();
    const [retried] =
      await sql`select m.status, (select count(*)::int from send_attempts a where a.message_id = m.id) as attempts
      from messages m where m.channel_account_id = ${n.id} and m.direction = 'outbound'`;
    expect(retried).toEqual({ status: 'read', attempts: 2 });

    if (provider === 'gupshup')
      standIns.gupshup.failNext({ status: 400, message: 'Invalid Destination' });
    else
      standIns.ycloud.failNext({
        status: 400,
        code: 'BAD_REQUEST',
        message: 'Recipient phone number not in allowed list',
        whatsappApiError: { code: '131030', message: 'Recipient phone number not in allowed list' },
      });
    await customerWrites(standIns, n, { from, text: 'otra pregunta' });
    await settleAll();
    const [failed] = await sql`select status, error_code, error_reason from messages
      where channel_account_id = ${n.id} and direction = 'outbound' order by received_at desc limit 1`;
    expect(failed?.status).toBe('failed');
    expect(String(failed?.error_reason).length).toBeGreaterThan(10);
    const [tries] =
      await sql`select count(*)::int as n from send_attempts a join messages m on m.id = a.message_id
      where m.channel_account_id = ${n.id} and m.status = 'failed'`;
    expect(tries?.n).toBe(1);
  });
});

/**
 * A provider's authentic callback, mutated at random (a field dropped, retyped or replaced by any
 * JSON, the whole body replaced): never a 5xx, and every body kept, processed or dead with why.
 */
describe.each(['gupshup', 'ycloud'] as const)('fuzzing authentic %s callbacks', (provider) => {
  it('60 mutated bodies: no 5xx, each kept as processed or dead with its reason', async () => {
    const n = await number(provider);
    await customerWrites(standIns, n, { from: customer(), text: 'semilla' });
    const original = JSON.parse(lastCallback(n).body) as unknown;
    const mutated = fc.sample(mutation(original), { numRuns: 60, seed: 13 });
    const outcomes = new Map<string, number>();
    for (const [i, body] of mutated.entries()) {
      // Unique per run, so a mutation that changed nothing is not a resend of the seed.
      const raw = JSON.stringify(body).replace('semilla', `semilla ${i}`);
      const headers = new Headers(
        provider === 'ycloud'
          ? {
              'YCloud-Signature': ycloudSignature(
                n.webhookSecret,
                Math.floor(Date.now() / 1000),
                raw,
              ),
            }
          : {},
      );
      const res = await post(n.callbackUrl, raw, headers);
      expect(res.status, raw).toBe(200);
      const { event_id: eventId } = (await res.json()) as { event_id: string };
      const [event] = await sql`select outcome, reason from webhook_events where id = ${eventId}`;
      expect(['processed', 'dead'], raw).toContain(event?.outcome);
      if (event?.outcome === 'dead') expect(String(event.reason).length, raw).toBeGreaterThan(5);
      outcomes.set(String(event?.outcome), (outcomes.get(String(event?.outcome)) ?? 0) + 1);
    }
    // Both kinds happen: the mutations are neither all harmless nor all fatal.
    expect(outcomes.get('processed') ?? 0).toBeGreaterThan(0);
    expect(outcomes.get('dead') ?? 0).toBeGreaterThan(0);
    await settleAll();
  });
});

/** The paths to every value in a JSON value. */
function pathsOf(value: unknown, path: Array<string | number> = []): Array<Array<string | number>> {
  if (Array.isArray(value)) return [path, ...value.flatMap((v, i) => pathsOf(v, [...path, i]))];
  if (value && typeof value === 'object') {
    return [path, ...Object.entries(value).flatMap(([k, v]) => pathsOf(v, [...path, k]))];
  }
  return [path];
}

/** `value` with the thing at `path` replaced (or removed, for `undefined`). */
function replaced(value: unknown, path: Array<string | number>, by: unknown): unknown {
  if (path.length === 0) return by;
  const [head, ...rest] = path as [string | number, ...Array<string | number>];
  if (Array.isArray(value)) {
    const copy = [...value];
    copy[head as number] = replaced(copy[head as number], rest, by);
    return copy;
  }
  const copy = { ...(value as Record<string, unknown>) };
  const inner = replaced(copy[head], rest, by);
  if (inner === undefined) delete copy[head];
  else copy[head] = inner;
  return copy;
}

function mutation(original: unknown) {
  const paths = pathsOf(original);
  return fc.oneof(
    fc.constant(original),
    fc
      .record({ at: fc.constantFrom(...paths), by: fc.jsonValue() })
      .map(({ at, by }) => replaced(original, at, by)),
    fc.constantFrom(...paths).map((at) => replaced(original, at, undefined) ?? {}),
    fc
      .record({
        at: fc.constantFrom(...paths),
        by: fc.constantFrom('', -1, 1e308, null, [], {}, '\u202e', "'; drop table messages; --"),
      })
      .map(({ at, by }) => replaced(original, at, by)),
    fc.jsonValue(),
  );
}

describe('provider callback secrets', () => {
  it('after a rotation the old Gupshup secret works until its grace ends, then is refused', async () => {
    const n = await number('gupshup');
    const oldUrl = n.callbackUrl;
    const rotated = await h.asUser(t.owner, `/admin/channels/${n.id}/webhook-secret`, {
      method: 'POST',
      body: '{}',
    });
    expect(rotated.status).toBe(200);
    const newUrl = ((await rotated.json()) as { callback_url: string }).callback_url;
    const newSecret = new URL(newUrl).searchParams.get('secret');
    expect(newSecret).not.toBe(n.webhookSecret);

    await customerWrites(standIns, n, { from: customer(), text: 'con la vieja' });
    const body = lastCallback(n).body.replace('con la vieja', 'otra vez');
    expect((await post(oldUrl, body)).status).toBe(200);
    const path = `/webhooks/gupshup/${n.id}?secret=${encodeURIComponent(must(newSecret, 'secret'))}`;
    expect((await post(path, body.replace('otra vez', 'con la nueva'))).status).toBe(200);

    await sql`update private.channel_credentials set previous_secret_until = now() - interval '1 second'
      where channel_account_id = ${n.id}`;
    expect((await post(oldUrl, body.replace('otra vez', 'tarde'))).status).toBe(401);
    await settleAll();
  });
});
