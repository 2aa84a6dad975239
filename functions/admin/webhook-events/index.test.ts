import type postgres from 'postgres';
import { describe, expect } from 'vitest';
import { randomWamid, whatsappMessageBody } from '../../../dev/meta-payloads';
import type { TenantFixture } from '../../../test/fixtures';
import { it, must } from '../../../test/it';
import { customerPhone, postWebhook, waNumber } from '../../../test/meta-webhooks';
import { describeOperatorSecurity } from '../../../test/operator-security';

async function foreignEvent(sql: postgres.Sql, b: TenantFixture): Promise<string> {
  const id = crypto.randomUUID();
  await sql`insert into webhook_events (id, tenant_id, object, raw_body, outcome, reason)
    values (${id}, ${b.tenantId}, 'page', '{}', 'dead', 'test')`;
  return id;
}

describeOperatorSecurity({ method: 'GET', path: '/admin/webhook-events?outcome=dead' });
describeOperatorSecurity({
  method: 'POST',
  path: '/admin/webhook-events/:foreignId/replay',
  foreignId: foreignEvent,
});

type EventView = {
  id: string;
  object: string | null;
  outcome: string;
  reason: string | null;
  attempts: number;
  received_at: string;
  processed_at: string | null;
  size_bytes: number;
};

describe('operator webhook events: list and replay', () => {
  /** A body for two numbers: one of A's, one nobody has connected yet. */
  function mixedBody(a: TenantFixture, newNumber: string, ids: [string, string]) {
    const known = whatsappMessageBody({
      ...waNumber(a),
      from: customerPhone(),
      id: ids[0],
      message: { type: 'text', text: 'known number' },
    });
    const unknown = whatsappMessageBody({
      wabaId: a.accounts.whatsapp.wabaId,
      phoneNumberId: newNumber,
      displayPhoneNumber: '15550009999',
      from: customerPhone(),
      id: ids[1],
      message: { type: 'text', text: 'number added later' },
    });
    return { object: 'whatsapp_business_account', entry: [...known.entry, ...unknown.entry] };
  }

  it('lists dead events of this business only, for owners and admins, and pages them', async ({
    harness: h,
    tenant: a,
    otherTenant: other,
  }) => {
    const newNumber = `19${Date.now()}`;
    const res = await postWebhook(h, mixedBody(a, newNumber, [randomWamid(), randomWamid()]));
    const { event_id } = (await res.json()) as { event_id: string };
    await postWebhook(h, {
      object: 'page',
      entry: [
        {
          id: other.accounts.messenger.externalId,
          time: Date.now(),
          messaging: [
            { sender: { id: '1' }, recipient: { id: '2' }, timestamp: Date.now(), optin: {} },
          ],
        },
      ],
    });

    const listed = await h.asUser(a.owner, '/admin/webhook-events?outcome=dead');
    expect(listed.status).toBe(200);
    const page = (await listed.json()) as { items: EventView[]; next_cursor: string | null };
    expect(page.items.map((e) => e.id)).toEqual([event_id]);
    expect(page.items[0]).toMatchObject({
      object: 'whatsapp_business_account',
      outcome: 'dead',
      attempts: 1,
      reason: expect.stringContaining(`no whatsapp channel account ${newNumber}`),
    });
    expect(must(page.items[0], 'the dead event').size_bytes).toBeGreaterThan(100);

    const all = (await (await h.asUser(a.owner, '/admin/webhook-events?limit=1')).json()) as {
      items: EventView[];
      next_cursor: string | null;
    };
    expect(all.items).toHaveLength(1);
    expect(all.next_cursor).toBeNull();

    const agent = await h.asUser(a.agent, '/admin/webhook-events');
    expect(agent.status).toBe(403);
  });

  it('replays a dead event once its account exists: stores what was missing, nothing twice', async ({
    harness: h,
    sql,
    tenant: a,
  }) => {
    const newNumber = `18${Date.now()}`;
    const ids: [string, string] = [randomWamid(), randomWamid()];
    const res = await postWebhook(h, mixedBody(a, newNumber, ids));
    const { event_id } = (await res.json()) as { event_id: string };
    expect(
      await sql`select provider_message_id from messages where provider_message_id in ${sql(ids)}`,
    ).toEqual([{ provider_message_id: ids[0] }]);

    // An agent may not replay; the owner may, and it stays dead while the number is unknown.
    expect(
      (await h.asUser(a.agent, `/admin/webhook-events/${event_id}/replay`, { method: 'POST' }))
        .status,
    ).toBe(403);
    const still = await h.asUser(a.owner, `/admin/webhook-events/${event_id}/replay`, {
      method: 'POST',
    });
    expect((await still.json()) as EventView).toMatchObject({ outcome: 'dead', attempts: 2 });

    // The business connects the number; the replay now stores its message.
    await sql`insert into channel_accounts (tenant_id, channel, external_id, waba_id, display_name)
      values (${a.tenantId}, 'whatsapp', ${newNumber}, ${a.accounts.whatsapp.wabaId}, 'Second number')`;
    const replayed = await h.asUser(a.owner, `/admin/webhook-events/${event_id}/replay`, {
      method: 'POST',
    });
    expect(replayed.status).toBe(200);
    expect((await replayed.json()) as EventView).toMatchObject({
      id: event_id,
      outcome: 'processed',
      reason: null,
      attempts: 3,
    });
    const again = await h.asUser(a.owner, `/admin/webhook-events/${event_id}/replay`, {
      method: 'POST',
    });
    expect(((await again.json()) as EventView).outcome).toBe('processed');
    const stored = await sql`select provider_message_id, count(*)::int as n from messages
      where provider_message_id in ${sql(ids)} group by 1 order by 1`;
    expect(stored).toEqual([...ids].sort().map((id) => ({ provider_message_id: id, n: 1 })));
    const turns =
      await sql`select count(*)::int as n from job_outbox j join messages m on m.id::text = j.payload->>'triggerMessageId'
      where j.kind = 'agent-turn' and m.provider_message_id in ${sql(ids)}`;
    expect(turns[0]?.n).toBe(2);
  });

  it('answers 404 for an unknown event', async ({ harness: h, tenant: a }) => {
    const res = await h.asUser(a.owner, `/admin/webhook-events/${crypto.randomUUID()}/replay`, {
      method: 'POST',
    });
    expect(res.status).toBe(404);
  });
});
