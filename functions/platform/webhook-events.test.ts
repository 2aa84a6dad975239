import type postgres from 'postgres';
import { describe, expect } from 'vitest';
import { whatsappMessageBody } from '../../dev/meta-payloads';
import type { Harness } from '../../test/harness';
import { it, must } from '../../test/it';
import { customerPhone, postWebhook, waNumber } from '../../test/meta-webhooks';
import { describeOperatorSecurity } from '../../test/operator-security';

type User = { id: string; email: string };

/** A signed-in user who runs the platform (and belongs to no business). */
async function newPlatformOperator(sql: postgres.Sql): Promise<User> {
  const id = crypto.randomUUID();
  const user = { id, email: `platform-${id.slice(0, 8)}@example.test` };
  await sql`insert into auth.users (id, email) values (${user.id}, ${user.email})`;
  await sql`insert into platform_operators (user_id, note) values (${user.id}, 'test')`;
  return user;
}

/** A signed body for a WhatsApp number no business has connected: kept dead, owned by nobody. */
async function postForUnknownNumber(h: Harness, phoneNumberId: string, text: string) {
  const res = await postWebhook(
    h,
    whatsappMessageBody({
      wabaId: `9${phoneNumberId}`,
      phoneNumberId,
      displayPhoneNumber: '15550000000',
      from: customerPhone(),
      message: { type: 'text', text },
    }),
  );
  expect(res.status).toBe(200);
  return ((await res.json()) as { event_id: string }).event_id;
}

const unknownNumber = () => `8${String(Math.floor(Math.random() * 1e14)).padStart(14, '0')}`;

type Page = { items: Array<{ id: string; outcome: string; reason: string | null }> };

describe('platform API: webhook bodies no business owns', () => {
  it('lists them and shows one raw to a platform operator, and to nobody else', async ({
    harness: h,
    sql,
    tenant,
  }) => {
    const operator = await newPlatformOperator(sql);
    const eventId = await postForUnknownNumber(h, unknownNumber(), 'to nobody yet');
    const list = await h.asUser(operator, '/platform/webhook-events?outcome=dead&limit=100');
    expect(list.status).toBe(200);
    expect(list.headers.get('cache-control')).toContain('no-store');
    const page = (await list.json()) as Page;
    const listed = must(
      page.items.find((e) => e.id === eventId),
      'the event in the list',
    );
    expect(listed.reason).toContain('no whatsapp channel account');
    const one = await h.asUser(operator, `/platform/webhook-events/${eventId}`);
    expect(one.status).toBe(200);
    const event = (await one.json()) as { raw_body: string; signed_for: string[] | null };
    expect(event.raw_body).toContain('to nobody yet');
    expect(event.signed_for).toBeNull();

    // A business's owner is not a platform operator, whatever they own.
    for (const path of ['/platform/webhook-events', `/platform/webhook-events/${eventId}`]) {
      const res = await h.asUser(tenant.owner, path);
      expect(res.status).toBe(403);
      const body = (await res.json()) as { error: { code: string; message: string } };
      expect(body.error).toMatchObject({
        code: 'FORBIDDEN',
        message: 'This account does not run the platform.',
      });
    }
    const replay = await h.asUser(tenant.owner, `/platform/webhook-events/${eventId}/replay`, {
      method: 'POST',
    });
    expect(replay.status).toBe(403);
  });

  it("does not show a business's own events, nor reach its chats", async ({
    harness: h,
    sql,
    tenant,
  }) => {
    const operator = await newPlatformOperator(sql);
    const res = await postWebhook(
      h,
      whatsappMessageBody({
        ...waNumber(tenant),
        from: customerPhone(),
        message: { type: 'text', text: 'for the business' },
      }),
    );
    const { event_id: owned } = (await res.json()) as { event_id: string };
    expect((await h.asUser(operator, `/platform/webhook-events/${owned}`)).status).toBe(404);
    expect(
      (await h.asUser(operator, `/platform/webhook-events/${owned}/replay`, { method: 'POST' }))
        .status,
    ).toBe(404);
    const page = (await (
      await h.asUser(operator, '/platform/webhook-events?limit=100')
    ).json()) as Page;
    expect(page.items.some((e) => e.id === owned)).toBe(false);
    const chats = await h.request('/admin/chats/summary', {
      headers: {
        authorization: `Bearer ${await h.tokenFor(operator)}`,
        'x-tenant-id': tenant.tenantId,
      },
    });
    expect(chats.status).toBe(403);
  });

  it('replays one after its number is connected: the message lands in that business, once', async ({
    harness: h,
    sql,
    newTenant,
  }) => {
    const operator = await newPlatformOperator(sql);
    const later = await newTenant('Connected later');
    const phoneNumberId = unknownNumber();
    const eventId = await postForUnknownNumber(h, phoneNumberId, 'before we were connected');
    await sql`update channel_accounts set external_id = ${phoneNumberId}, waba_id = ${`9${phoneNumberId}`}
      where id = ${later.accounts.whatsapp.id}`;

    const replay = await h.asUser(operator, `/platform/webhook-events/${eventId}/replay`, {
      method: 'POST',
    });
    expect(replay.status).toBe(200);
    expect(await replay.json()).toEqual({
      id: eventId,
      outcome: 'processed',
      reason: null,
      tenant_id: later.tenantId,
      stored: 1,
    });
    const stored =
      await sql`select tenant_id from messages where content = 'before we were connected'`;
    expect(stored).toEqual([{ tenant_id: later.tenantId }]);
    // It belongs to that business now: no longer the platform's to see or replay.
    const again = await h.asUser(operator, `/platform/webhook-events/${eventId}/replay`, {
      method: 'POST',
    });
    expect(again.status).toBe(404);
    await h.settle();
  });

  it('answers 404 for an id that does not exist, and 400 for one that is not an id', async ({
    harness: h,
    sql,
  }) => {
    const operator = await newPlatformOperator(sql);
    expect(
      (await h.asUser(operator, `/platform/webhook-events/${crypto.randomUUID()}`)).status,
    ).toBe(404);
    expect((await h.asUser(operator, '/platform/webhook-events/not-an-id')).status).toBe(400);
  });
});

describeOperatorSecurity({ method: 'GET', path: '/platform/webhook-events' });
describeOperatorSecurity({ method: 'GET', path: '/platform/webhook-events/:foreignId' });
describeOperatorSecurity({ method: 'POST', path: '/platform/webhook-events/:foreignId/replay' });
