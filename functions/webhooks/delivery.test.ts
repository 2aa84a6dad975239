import type postgres from 'postgres';
import { describe, expect } from 'vitest';
import {
  encodeMetaBody,
  randomWamid,
  signMetaBody,
  whatsappContact,
  whatsappInboundMessage,
  whatsappMessageBody,
  whatsappMessagesChange,
  whatsappWebhook,
} from '../../dev/meta-payloads';
import type { TenantFixture } from '../../test/fixtures';
import { createHarness, TEST_APP_SECRET } from '../../test/harness';
import { it, must } from '../../test/it';
import {
  customerPhone,
  eventOf,
  messagesOf,
  postWebhook,
  secondsAgo,
  waNumber,
} from '../../test/meta-webhooks';
import { eventIdOf } from '.';

/** Nothing listens here: a service that is down. */
const CLOSED_PORT_URL = 'http://127.0.0.1:9';

/** Meta retries, duplicates, batches and never orders: exactly once, nothing lost. */
describe('POST /webhooks/meta: exactly once, nothing lost', () => {
  const text = (t: TenantFixture, body: string, from = customerPhone(), id = randomWamid()) =>
    whatsappMessageBody({ ...waNumber(t), from, id, message: { type: 'text', text: body } });

  async function countByProviderId(sql: postgres.Sql, id: string) {
    const [row] =
      await sql`select count(*)::int as n from messages where provider_message_id = ${id}`;
    return must(row, 'the count').n as number;
  }

  it('the same body 3 times in sequence: one message, one agent turn, one stored event', async ({
    harness: h,
    sql,
    tenant: t,
  }) => {
    const id = randomWamid();
    const body = text(t, 'three times', customerPhone(), id);
    const answers = [];
    for (let i = 0; i < 3; i++) {
      const res = await postWebhook(h, body);
      expect(res.status).toBe(200);
      answers.push(((await res.json()) as { status: string }).status);
    }
    expect(answers).toEqual(['processed', 'duplicate', 'duplicate']);
    expect(await countByProviderId(sql, id)).toBe(1);
    const [message] =
      await sql`select id, conversation_id from messages where provider_message_id = ${id}`;
    const jobs =
      await sql`select status from job_outbox where kind = 'agent-turn' and payload->>'triggerMessageId' = ${must(message, 'the stored message').id}`;
    expect(jobs).toEqual([{ status: 'published' }]);
    const [conversation] =
      await sql`select unread_count from conversations where id = ${must(message, 'the stored message').conversation_id}`;
    expect(conversation?.unread_count).toBe(1);
  });

  it('the same body 20 times concurrently: one message, one agent turn, unread 1', async ({
    harness: h,
    sql,
    tenant: t,
  }) => {
    const id = randomWamid();
    const body = text(t, 'twenty at once', customerPhone(), id);
    const answers = await Promise.all(Array.from({ length: 20 }, () => postWebhook(h, body)));
    expect(answers.map((r) => r.status)).toEqual(Array(20).fill(200));
    expect(await countByProviderId(sql, id)).toBe(1);
    const [message] =
      await sql`select id, conversation_id from messages where provider_message_id = ${id}`;
    const jobs =
      await sql`select id from job_outbox where kind = 'agent-turn' and payload->>'triggerMessageId' = ${must(message, 'the stored message').id}`;
    expect(jobs).toHaveLength(1);
    const [conversation] =
      await sql`select unread_count from conversations where id = ${must(message, 'the stored message').conversation_id}`;
    expect(conversation?.unread_count).toBe(1);
    const eventId = await eventIdOf(new TextEncoder().encode(encodeMetaBody(body)));
    const events = await sql`select outcome from webhook_events where id = ${eventId}`;
    expect(events).toEqual([{ outcome: 'processed' }]);
  });

  it('a message re-batched into a different body is stored once (the database key decides)', async ({
    harness: h,
    sql,
    tenant: t,
  }) => {
    const phone = customerPhone();
    const [first, second] = [randomWamid(), randomWamid()];
    await postWebhook(h, text(t, 'first', phone, first));
    // Without Redis there is no fast path at all: only Postgres can tell it is a duplicate.
    const noRedis = await createHarness({ bindings: { UPSTASH_REDIS_REST_URL: CLOSED_PORT_URL } });
    const rebatched = whatsappWebhook(
      t.accounts.whatsapp.wabaId,
      whatsappMessagesChange({
        ...waNumber(t),
        contacts: [whatsappContact({ from: phone })],
        messages: [
          whatsappInboundMessage({
            from: phone,
            id: first,
            message: { type: 'text', text: 'first' },
          }),
          whatsappInboundMessage({
            from: phone,
            id: second,
            message: { type: 'text', text: 'second' },
          }),
        ],
      }),
    );
    const res = await postWebhook(noRedis, rebatched);
    await noRedis.close();
    expect(res.status).toBe(200);
    expect(await countByProviderId(sql, first)).toBe(1);
    expect(await countByProviderId(sql, second)).toBe(1);
    const [conversation] =
      await sql`select v.unread_count from conversations v join messages m on m.conversation_id = v.id where m.provider_message_id = ${first}`;
    expect(conversation?.unread_count).toBe(2);
  });
});

describe('POST /webhooks/meta: when the services around it fail', () => {
  const text = (t: TenantFixture, body: string, id = randomWamid()) =>
    whatsappMessageBody({
      ...waNumber(t),
      from: customerPhone(),
      id,
      message: { type: 'text', text: body },
    });

  it('Redis stopped: still 200, still exactly one message (the database decides)', async ({
    sql,
    tenant: t,
  }) => {
    const own = await createHarness();
    try {
      const id = randomWamid();
      const body = text(t, 'redis goes down', id);
      expect((await postWebhook(own, body)).status).toBe(200);
      await must(own.redis, 'the Redis stand-in').close();
      // Webhooks do not ask Redis: the database's keys recognise the resend.
      const again = await postWebhook(own, body);
      expect(again.status).toBe(200);
      expect(((await again.json()) as { status: string }).status).toBe('duplicate');
      const other = randomWamid();
      expect((await postWebhook(own, text(t, 'while redis is down', other))).status).toBe(200);
      expect(
        await sql`select content from messages where provider_message_id in ${sql([id, other])} order by content`,
      ).toEqual([{ content: 'redis goes down' }, { content: 'while redis is down' }]);
      const [message] = await sql`select id from messages where provider_message_id = ${id}`;
      const turns =
        await sql`select id from job_outbox where kind = 'agent-turn' and payload->>'triggerMessageId' = ${must(message, 'the stored message').id}`;
      expect(turns).toHaveLength(1);
    } finally {
      // The Redis stand-in is already stopped; closing it again is expected to complain.
      await own.close().catch(() => {});
    }
  });

  it('the database down: 503 so Meta retries, and Redis remembers nothing, so the retry is stored', async ({
    harness: h,
    sql,
    tenant: t,
  }) => {
    const id = randomWamid();
    const body = text(t, 'database was down', id);
    const down = await createHarness({
      bindings: {
        DATABASE_URL: 'postgres://postgres:postgres@127.0.0.1:9/postgres',
        UPSTASH_REDIS_REST_URL: must(h.redis, 'the Redis stand-in').url,
      },
    });
    try {
      const res = await postWebhook(down, body);
      expect(res.status).toBe(503);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe(
        'SERVICE_UNAVAILABLE',
      );
    } finally {
      await down.close();
    }
    // Meta's retry reaches a healthy deployment sharing the same Redis.
    const retry = await postWebhook(h, body);
    expect(retry.status).toBe(200);
    expect(((await retry.json()) as { status: string }).status).toBe('processed');
    expect(await sql`select content from messages where provider_message_id = ${id}`).toEqual([
      { content: 'database was down' },
    ]);
  });

  it('processing fails (not the database): 503, the body kept as received, and the retry is processed', async ({
    harness: h,
    sql,
    tenant: t,
  }) => {
    const id = randomWamid();
    const body = text(t, 'processing failed', id);
    const eventId = await eventIdOf(new TextEncoder().encode(encodeMetaBody(body)));
    // A clock that throws stands in for any failure while processing: the body's one transaction
    // is rolled back, so the body must be stored on its own.
    const broken = await createHarness({
      clock: {
        now: () => {
          throw new Error('the clock is broken');
        },
      },
    });
    try {
      const res = await postWebhook(broken, body);
      expect(res.status).toBe(503);
      const { error } = (await res.json()) as { error: { code: string; message: string } };
      expect(error.code).toBe('SERVICE_UNAVAILABLE');
      expect(error.message).toContain('stored but could not be processed');
    } finally {
      await broken.close();
    }
    const stored = () => sql`select content from messages where provider_message_id = ${id}`;
    // Signed with Meta's app secret: a replay by the sweeper may write to any account in it.
    expect(await eventOf(sql, eventId)).toMatchObject({ outcome: 'received', signed_for: null });
    expect(await stored()).toEqual([]);
    // Meta's retry reaches a healthy deployment.
    const retry = await postWebhook(h, body);
    expect(retry.status).toBe(200);
    expect(((await retry.json()) as { status: string }).status).toBe('processed');
    expect(await stored()).toEqual([{ content: 'processing failed' }]);
    expect((await eventOf(sql, eventId))?.outcome).toBe('processed');
  });

  it('QStash down: 200, the message is stored and its agent turn stays pending for the sweeper', async ({
    sql,
    tenant: t,
  }) => {
    const down = await createHarness({ bindings: { QSTASH_URL: CLOSED_PORT_URL } });
    try {
      const id = randomWamid();
      const res = await postWebhook(down, text(t, 'qstash is down', id));
      expect(res.status).toBe(200);
      const [message] = await sql`select id from messages where provider_message_id = ${id}`;
      expect(message).toBeDefined();
      const [job] =
        await sql`select status, last_error, attempts from job_outbox where kind = 'agent-turn' and payload->>'triggerMessageId' = ${must(message, 'the stored message').id}`;
      expect(job).toMatchObject({ status: 'pending', attempts: 1 });
      expect(job?.last_error).toBeTruthy();
    } finally {
      await down.close();
    }
  });

  it('a body over 1 MiB is refused with 413 and not stored', async ({
    harness: h,
    sql,
    tenant: t,
  }) => {
    const body = text(t, 'x'.repeat(1024 * 1024));
    const res = await postWebhook(h, body);
    expect(res.status).toBe(413);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe(
      'PAYLOAD_TOO_LARGE',
    );
    const [row] =
      await sql`select count(*)::int as n from webhook_events where octet_length(raw_body) > 1048576`;
    expect(row?.n).toBe(0);
  });

  it('signed but not JSON: kept as a dead event with its reason, 200', async ({
    harness: h,
    sql,
  }) => {
    const raw = '{"object":"whatsapp_business_account","entry":[ truncated';
    const res = await postWebhook(h, null, { raw });
    expect(res.status).toBe(200);
    const { event_id } = (await res.json()) as { event_id: string };
    expect(await eventOf(sql, event_id)).toMatchObject({
      outcome: 'dead',
      reason: 'the body is not JSON',
      raw_body: raw,
      tenant_id: null,
    });
  });

  it('signed, nested 10,000 levels deep: "nested too deep", not "not JSON"; the real message in it is stored', async ({
    harness: h,
    sql,
    tenant: t,
  }) => {
    const id = randomWamid();
    const valid = whatsappMessageBody({
      ...waNumber(t),
      from: customerPhone(),
      id,
      message: { type: 'text', text: 'Hola, ¿hay cita?' },
    });
    const depth = 10_000;
    const deep = `${'['.repeat(depth)}${']'.repeat(depth)}`;
    // The valid body with one extra top-level key holding the deep value.
    const raw = `${JSON.stringify(valid).slice(0, -1)},"extra":${deep}}`;
    const res = await postWebhook(h, null, { raw });
    expect(res.status).toBe(200);
    const { event_id } = (await res.json()) as { event_id: string };
    const event = await eventOf(sql, event_id);
    expect(event).toMatchObject({ outcome: 'dead', raw_body: raw });
    expect(event?.reason).toMatch(
      /^extra\[0\]\[0\].*: nested too deep \(more than 64 levels\); left out$/,
    );
    expect(event?.reason).not.toContain('not JSON');
    const [stored] = await sql`select content from messages where provider_message_id = ${id}`;
    expect(stored?.content).toBe('Hola, ¿hay cita?');
  });

  it('signed bytes that are not UTF-8 text: kept (base64) as a dead event, 200', async ({
    harness: h,
    sql,
  }) => {
    const raw = new Uint8Array([0x7b, 0xff, 0xfe, 0x00, 0x7d]);
    const res = await postWebhook(h, null, {
      raw,
      signature: await signMetaBody(raw, TEST_APP_SECRET),
    });
    expect(res.status).toBe(200);
    const { event_id } = (await res.json()) as { event_id: string };
    expect(await eventOf(sql, event_id)).toMatchObject({
      outcome: 'dead',
      raw_body: `base64:${Buffer.from(raw).toString('base64')}`,
    });
  });

  it('an unknown account: dead with the reason, nothing stored; known parts of the same body are stored', async ({
    harness: h,
    sql,
    tenant: t,
  }) => {
    const stranger = whatsappMessageBody({
      wabaId: '999000111',
      phoneNumberId: '999000111222',
      displayPhoneNumber: '15550000000',
      from: customerPhone(),
      message: { type: 'text', text: 'to nobody' },
    });
    const res = await postWebhook(h, stranger);
    expect(res.status).toBe(200);
    const { event_id, status } = (await res.json()) as { event_id: string; status: string };
    expect(status).toBe('dead');
    const event = await eventOf(sql, event_id);
    expect(event).toMatchObject({ outcome: 'dead', tenant_id: null });
    expect(event?.reason).toContain('no whatsapp channel account 999000111222');

    const knownId = randomWamid();
    const mixed = {
      object: 'whatsapp_business_account',
      entry: [...text(t, 'known part', knownId).entry, ...stranger.entry],
    };
    const mixedRes = await postWebhook(h, mixed);
    const mixedEvent = await eventOf(
      sql,
      ((await mixedRes.json()) as { event_id: string }).event_id,
    );
    expect(mixedEvent).toMatchObject({ outcome: 'dead', tenant_id: t.tenantId });
    expect(await sql`select content from messages where provider_message_id = ${knownId}`).toEqual([
      { content: 'known part' },
    ]);
  });

  it("another business's WABA naming this number: refused, dead with the reason, nothing stored", async ({
    harness: h,
    sql,
    tenant: t,
    otherTenant: other,
  }) => {
    const id = randomWamid();
    const res = await postWebhook(
      h,
      whatsappMessageBody({
        ...waNumber(t),
        wabaId: other.accounts.whatsapp.wabaId,
        from: customerPhone(),
        id,
        message: { type: 'text', text: 'under the wrong WABA' },
      }),
    );
    expect(res.status).toBe(200);
    const { event_id } = (await res.json()) as { event_id: string };
    const event = await eventOf(sql, event_id);
    expect(event?.outcome).toBe('dead');
    expect(event?.reason).toContain(
      `whatsapp account ${t.accounts.whatsapp.externalId}: named under WhatsApp Business Account ${other.accounts.whatsapp.wabaId}, not its own`,
    );
    expect(await sql`select id from messages where provider_message_id = ${id}`).toEqual([]);
  });

  it('a body for several businesses stores each part and is attributed to none of them', async ({
    harness: h,
    sql,
    tenant: t,
    otherTenant: other,
  }) => {
    const [mine, theirs] = [randomWamid(), randomWamid()];
    const body = {
      object: 'whatsapp_business_account',
      entry: [
        ...text(t, 'for the first business', mine).entry,
        ...whatsappMessageBody({
          ...waNumber(other),
          from: customerPhone(),
          id: theirs,
          message: { type: 'text', text: 'for the second business' },
        }).entry,
      ],
    };
    const res = await postWebhook(h, body);
    const event = await eventOf(sql, ((await res.json()) as { event_id: string }).event_id);
    // Members of one business could otherwise read the other's messages in the stored body.
    expect(event).toMatchObject({ outcome: 'processed', tenant_id: null });
    const stored =
      await sql`select tenant_id from messages where provider_message_id in ${sql([mine, theirs])} order by tenant_id`;
    expect(stored.map((r) => r.tenant_id).sort()).toEqual([t.tenantId, other.tenantId].sort());
  });

  it('shapes we do not understand are dead with the path and reason, never silent', async ({
    harness: h,
    sql,
    tenant: t,
  }) => {
    const cases: Array<[unknown, string]> = [
      [{ object: 'user', entry: [{ id: '1', changes: [] }] }, 'object "user" is not handled'],
      [
        whatsappWebhook(t.accounts.whatsapp.wabaId, {
          field: 'account_update',
          value: { event: 'VERIFIED_ACCOUNT' },
        }),
        'entry[0].changes[0]: field "account_update" is not handled',
      ],
      [
        whatsappWebhook(
          t.accounts.whatsapp.wabaId,
          whatsappMessagesChange({
            ...waNumber(t),
            messages: [{ id: randomWamid(), timestamp: 'yesterday', type: 'text' }],
          }),
        ),
        'entry[0].changes[0].value.messages[0]: timestamp',
      ],
      [
        {
          object: 'page',
          entry: [
            {
              id: t.accounts.messenger.externalId,
              time: Date.now(),
              messaging: [
                {
                  sender: { id: '1' },
                  recipient: { id: '2' },
                  timestamp: Date.now(),
                  optin: { ref: 'x' },
                },
              ],
            },
          ],
        },
        'messaging event ["optin"] is not handled',
      ],
      [{ object: 'page' }, 'body has no entry[] array'],
      [[1, 2, 3], 'body is not a JSON object'],
    ];
    for (const [body, reason] of cases) {
      const res = await postWebhook(h, body);
      expect(res.status).toBe(200);
      const event = await eventOf(sql, ((await res.json()) as { event_id: string }).event_id);
      expect(event?.outcome).toBe('dead');
      expect(event?.reason).toContain(reason);
    }
  });

  it('an item the database refuses is reported dead on its own; the rest of the batch is stored', async ({
    harness: h,
    sql,
    tenant: t,
  }) => {
    const poison = `poison-${crypto.randomUUID()}`;
    const constraint = `test_refuse_${poison.slice(7, 15)}`;
    // Stands in for any refusal validation could not foresee.
    await sql.unsafe(
      `alter table messages add constraint ${constraint} check (content is distinct from '${poison}') not valid`,
    );
    try {
      const phone = customerPhone();
      const ids = [randomWamid(), randomWamid(), randomWamid()];
      const body = whatsappWebhook(
        t.accounts.whatsapp.wabaId,
        whatsappMessagesChange({
          ...waNumber(t),
          contacts: [whatsappContact({ from: phone })],
          messages: ids.map((id, i) =>
            whatsappInboundMessage({
              from: phone,
              id,
              message: { type: 'text', text: i === 1 ? poison : `fine ${i}` },
            }),
          ),
        }),
      );
      const res = await postWebhook(h, body);
      expect(res.status).toBe(200);
      const { event_id, status } = (await res.json()) as { event_id: string; status: string };
      expect(status).toBe('dead');
      const event = await eventOf(sql, event_id);
      expect(event?.reason).toMatch(
        /^entry\[0\]\.changes\[0\]\.value\.messages\[1\]: could not be stored \(23514 /,
      );
      const stored =
        await sql`select content from messages where provider_message_id in ${sql(ids)} order by content`;
      expect(stored).toEqual([{ content: 'fine 0' }, { content: 'fine 2' }]);
    } finally {
      await sql.unsafe(`alter table messages drop constraint ${constraint}`);
    }
  });

  it('a batch of 50 messages from 10 customers, in both layouts, each stored once in provider order', async ({
    harness: h,
    sql,
    tenant: t,
  }) => {
    for (const layout of ['one change', 'one entry per message'] as const) {
      const customers = Array.from({ length: 10 }, () => customerPhone());
      const messages = Array.from({ length: 50 }, (_, i) =>
        whatsappInboundMessage({
          from: customers[i % 10],
          id: randomWamid(),
          // Deliberately out of order: the batch is shuffled against provider time.
          timestamp: secondsAgo(100 - ((i * 37) % 50)),
          message: { type: 'text', text: `${layout} #${i}` },
        }),
      );
      const contacts = customers.map((from) =>
        whatsappContact({ from, name: `C ${from.slice(-3)}` }),
      );
      const body =
        layout === 'one change'
          ? whatsappWebhook(
              t.accounts.whatsapp.wabaId,
              whatsappMessagesChange({ ...waNumber(t), contacts, messages }),
            )
          : {
              object: 'whatsapp_business_account',
              entry: messages.map((m, i) => ({
                id: t.accounts.whatsapp.wabaId,
                changes: [
                  whatsappMessagesChange({
                    ...waNumber(t),
                    contacts: [contacts[i % 10]!],
                    messages: [m],
                  }),
                ],
              })),
            };
      const res = await postWebhook(h, body);
      expect(res.status).toBe(200);
      expect(((await res.json()) as { status: string }).status).toBe('processed');
      const stored = (await messagesOf(sql, t.accounts.whatsapp.id)).filter((m) =>
        (m.content as string).startsWith(layout),
      );
      expect(stored).toHaveLength(50);
      for (const customer of customers) {
        const [conversation] = await sql`select v.unread_count, v.last_message_preview
          from conversations v join contacts c on c.id = v.contact_id
          where c.phone = ${customer} and v.tenant_id = ${t.tenantId}`;
        // The preview is the newest message by provider time, whatever the arrival order.
        const newest = messages
          .filter((m) => m.from === customer)
          .sort((a, b) => Number(b.timestamp) - Number(a.timestamp))[0] as unknown as {
          text: { body: string };
        };
        expect(conversation).toEqual({ unread_count: 5, last_message_preview: newest.text.body });
      }
      const turns =
        await sql`select count(*)::int as n from job_outbox where kind = 'agent-turn' and payload->>'triggerMessageId' in ${sql(stored.map((s) => s.id as string))}`;
      // One debounced turn per conversation: each customer's first message scheduled it.
      expect(turns[0]?.n).toBe(customers.length);
    }
  });
});
