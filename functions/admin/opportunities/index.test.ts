import type postgres from 'postgres';
import { describe, expect } from 'vitest';
import { createSalon } from '../../../test/appointments';
import { createConversation } from '../../../test/conversations';
import type { TenantFixture } from '../../../test/fixtures';
import { qstashSignature } from '../../../test/harness';
import { it, must } from '../../../test/it';
import { describeOperatorSecurity } from '../../../test/operator-security';

const DAY = 86_400_000;

/** A customer of `t` who asked a price five days ago and never booked: what a scan finds. */
async function priceQuestion(sql: postgres.Sql, t: TenantFixture, name = 'Lucía') {
  const asked = new Date(Date.now() - 5 * DAY);
  const conv = await createConversation(sql, t, { lastInboundAt: asked, now: asked, name });
  await sql`update messages set content = '¿Cuánto cuesta el tinte?' where id = ${conv.inbound.id}`;
  await sql`update conversations set last_message_at = ${asked} where id = ${conv.conversationId}`;
  return conv;
}

/** An open opportunity of tenant `t`, inserted directly. */
async function openOpportunity(sql: postgres.Sql, t: TenantFixture): Promise<string> {
  const conv = await createConversation(sql, t);
  const [row] = await sql`insert into opportunities (tenant_id, contact_id, conversation_id, kind,
      evidence_id, evidence_text, suggested_action)
    values (${t.tenantId}, ${conv.contactId}, ${conv.conversationId}, 'price_no_booking',
      ${conv.inbound.id}, 'Hola', 'offer_booking') returning id`;
  return must(row, 'opportunity').id as string;
}

type Metrics = {
  days: number;
  since: string;
  found: number;
  accepted: number;
  sent: number;
  replied: number;
  booked: number;
};

/**
 * A customer of `t` who wrote 50 days ago, and an opportunity of theirs found `foundDaysAgo` days
 * ago, as the flow leaves it: `sent` (accepted, then sent a day after it was found, with its audit
 * lines), `refused` (accepted, then skipped by a sending rule) or `open`.
 */
async function followUp(
  sql: postgres.Sql,
  t: TenantFixture,
  input: { name: string; foundDaysAgo: number; outcome: 'sent' | 'refused' | 'open' },
) {
  const wrote = new Date(Date.now() - 50 * DAY);
  const conv = await createConversation(sql, t, {
    lastInboundAt: wrote,
    now: wrote,
    name: input.name,
  });
  const found = new Date(Date.now() - input.foundDaysAgo * DAY);
  const sentAt = new Date(found.getTime() + DAY);
  const status = { sent: 'sent', refused: 'skipped', open: 'open' }[input.outcome];
  const [row] = await sql`insert into opportunities (tenant_id, contact_id, conversation_id, kind,
      evidence_id, evidence_text, suggested_action, status, decided_at, decided_via, created_at)
    values (${t.tenantId}, ${conv.contactId}, ${conv.conversationId}, 'price_no_booking',
      ${conv.inbound.id}, 'Hola', 'offer_booking', ${status},
      ${input.outcome === 'open' ? null : found}, ${input.outcome === 'open' ? null : 'operator_api'},
      ${found}) returning id`;
  const id = must(row, 'opportunity').id as string;
  const event = (name: string, at: Date) => sql`insert into opportunity_events
      (tenant_id, opportunity_id, event, actor, created_at)
    values (${t.tenantId}, ${id}, ${name}, 'system', ${at})`;
  if (input.outcome !== 'open') await event('accepted', found);
  if (input.outcome === 'refused') await event('refused', found);
  if (input.outcome === 'sent') await event('sent', sentAt);
  return { ...conv, id, sentAt };
}

/** The customer writes again, `at`. */
async function customerWritesAt(
  sql: postgres.Sql,
  t: TenantFixture,
  conversationId: string,
  at: Date,
) {
  await sql`insert into messages (tenant_id, conversation_id, channel_account_id, direction, sender,
      type, content, provider_message_id, provider_timestamp, status)
    values (${t.tenantId}, ${conversationId}, ${t.accounts.whatsapp.id}, 'inbound', 'user', 'text',
      'Gracias', ${`wamid.METRICS${crypto.randomUUID()}`}, ${at}, 'received')`;
}

/** An appointment for the contact, created (booked) `createdAt`, starting `hoursAhead` from now. */
async function bookedAt(
  sql: postgres.Sql,
  t: TenantFixture,
  salon: { cut: string; ana: string },
  contactId: string,
  createdAt: Date,
  hoursAhead: number,
) {
  const start = new Date(Math.ceil(Date.now() / 3_600_000) * 3_600_000 + hoursAhead * 3_600_000);
  const end = new Date(start.getTime() + 30 * 60_000);
  await sql`insert into appointments (tenant_id, contact_id, service_id, staff_id, period, starts_at,
      ends_at, booked_by, created_at)
    values (${t.tenantId}, ${contactId}, ${salon.cut}, ${salon.ana}, tstzrange(${start}, ${end}),
      ${start}, ${end}, 'operator', ${createdAt})`;
}

describeOperatorSecurity({ method: 'GET', path: '/admin/opportunities' });
describeOperatorSecurity({ method: 'GET', path: '/admin/opportunities/summary' });
describeOperatorSecurity({ method: 'POST', path: '/admin/opportunities/scan' });
describeOperatorSecurity({
  method: 'POST',
  path: '/admin/opportunities/:foreignId/skip',
  foreignId: openOpportunity,
});
describeOperatorSecurity({
  method: 'POST',
  path: '/admin/opportunities/:foreignId/draft',
  foreignId: openOpportunity,
});
describeOperatorSecurity({
  method: 'POST',
  path: '/admin/opportunities/:foreignId/schedule',
  foreignId: openOpportunity,
});

type Opportunity = {
  id: string;
  contact_id: string;
  contact_name: string | null;
  contact_channel: string;
  kind: string;
  evidence_id: string;
  evidence_text: string;
  status: string;
  decided_by_user_id: string | null;
  decided_at: string | null;
};
type Page = { items: Opportunity[]; next_cursor: string | null };
type ErrorBody = { error: { code: string; message: string } };

describe('/admin/opportunities', () => {
  it('scans by hand, lists what it found, and finds nothing twice', async ({
    harness: h,
    sql,
    newTenant,
  }) => {
    const t = await newTenant('Opportunities scan');
    const lucia = await priceQuestion(sql, t);
    const scan = () => h.asUser(t.owner, '/admin/opportunities/scan', { method: 'POST' });
    const first = await scan();
    expect(first.status).toBe(200);
    expect(await first.json()).toEqual({
      found: {
        price_no_booking: 1,
        recall_due: 0,
        no_show_or_cancelled: 0,
        quiet_after_handoff: 0,
      },
      expired: 0,
    });
    const again = (await (await scan()).json()) as { found: Record<string, number> };
    expect(again.found.price_no_booking).toBe(0);

    const list = await h.asUser(t.agent, '/admin/opportunities?status=open');
    expect(list.status).toBe(200);
    const page = (await list.json()) as Page;
    expect(page.items).toEqual([
      expect.objectContaining({
        contact_id: lucia.contactId,
        contact_name: 'Lucía',
        contact_channel: 'whatsapp',
        conversation_id: lucia.conversationId,
        kind: 'price_no_booking',
        evidence_id: lucia.inbound.id,
        evidence_text: '¿Cuánto cuesta el tinte?',
        suggested_action: 'offer_booking',
        status: 'open',
        decided_by_user_id: null,
        decided_at: null,
      }),
    ]);
    expect(page.next_cursor).toBeNull();
  });

  it('lets only owners and admins run the scan', async ({ harness: h, sql, newTenant }) => {
    const t = await newTenant('Opportunities agent scan');
    await priceQuestion(sql, t);
    const res = await h.asUser(t.agent, '/admin/opportunities/scan', { method: 'POST' });
    expect(res.status).toBe(403);
    expect(await sql`select id from opportunities where tenant_id = ${t.tenantId}`).toHaveLength(0);
  });

  it('skips once, recording who and when; a second decision is a 409 that changes nothing', async ({
    harness: h,
    sql,
    newTenant,
  }) => {
    const t = await newTenant('Opportunities skip');
    const id = await openOpportunity(sql, t);
    const skip = (user: { id: string; email: string }) =>
      h.asUser(user, `/admin/opportunities/${id}/skip`, { method: 'POST' });
    const skipped = await skip(t.agent);
    expect(skipped.status).toBe(200);
    const body = (await skipped.json()) as Opportunity;
    expect(body).toMatchObject({ id, status: 'skipped', decided_by_user_id: t.agent.id });
    expect(Date.parse(must(body.decided_at, 'decided_at'))).toBeGreaterThan(Date.now() - 60_000);

    const twice = await skip(t.owner);
    expect(twice.status).toBe(409);
    expect(((await twice.json()) as ErrorBody).error).toMatchObject({ code: 'CONFLICT' });
    const [row] = await sql`select status, decided_by_user_id from opportunities where id = ${id}`;
    expect(row).toEqual({ status: 'skipped', decided_by_user_id: t.agent.id });

    const open = (await (
      await h.asUser(t.owner, '/admin/opportunities?status=open')
    ).json()) as Page;
    const skippedOnes = (await (
      await h.asUser(t.owner, '/admin/opportunities?status=skipped')
    ).json()) as Page;
    expect(open.items).toHaveLength(0);
    expect(skippedOnes.items.map((o) => o.id)).toEqual([id]);
  });

  it('pages newest first with the cursor it hands out', async ({ harness: h, sql, newTenant }) => {
    const t = await newTenant('Opportunities paging');
    const ids = [];
    for (let i = 0; i < 3; i++) ids.push(await openOpportunity(sql, t));
    const seen: string[] = [];
    let path = '/admin/opportunities?limit=2';
    for (;;) {
      const page = (await (await h.asUser(t.owner, path)).json()) as Page;
      seen.push(...page.items.map((o) => o.id));
      if (!page.next_cursor) break;
      path = `/admin/opportunities?limit=2&cursor=${page.next_cursor}`;
    }
    expect(seen).toHaveLength(3);
    expect(new Set(seen)).toEqual(new Set(ids));
  });

  it('counts the business’s opportunities by status, every status named, in one read', async ({
    harness: h,
    sql,
    newTenant,
  }) => {
    const t = await newTenant('Opportunities summary');
    const other = await newTenant('Opportunities summary, other');
    const summary = async (user: { id: string; email: string }) => {
      const res = await h.asUser(user, '/admin/opportunities/summary');
      expect(res.status).toBe(200);
      return ((await res.json()) as { by_status: Record<string, number> }).by_status;
    };
    const none = { open: 0, skipped: 0, accepted: 0, drafted: 0, sent: 0, expired: 0 };
    expect(await summary(t.agent)).toEqual(none);

    const ids = [];
    for (let i = 0; i < 3; i++) ids.push(await openOpportunity(sql, t));
    await openOpportunity(sql, other);
    await sql`update opportunities set status = 'expired', decided_at = now()
      where id = ${must(ids[2], 'third')}`;
    await h.asUser(t.agent, `/admin/opportunities/${must(ids[1], 'second')}/skip`, {
      method: 'POST',
    });
    expect(await summary(t.agent)).toEqual({ ...none, open: 1, skipped: 1, expired: 1 });
    expect(await summary(other.owner)).toEqual({ ...none, open: 1 });
  });

  it('measures the period’s follow-ups: found, accepted, sent, replied, booked; the business’s own', async ({
    harness: h,
    sql,
    newTenant,
  }) => {
    const t = await newTenant('Opportunities metrics');
    const other = await newTenant('Opportunities metrics, other');
    const salon = await createSalon(sql, t);
    const metrics = async (user: { id: string; email: string }, query = '') => {
      const res = await h.asUser(user, `/admin/opportunities/summary${query}`);
      expect(res.status).toBe(200);
      return ((await res.json()) as { metrics: Metrics }).metrics;
    };

    // Replied: the customer wrote after the follow-up was sent.
    const replied = await followUp(sql, t, { name: 'Replied', foundDaysAgo: 10, outcome: 'sent' });
    await customerWritesAt(
      sql,
      t,
      replied.conversationId,
      new Date(replied.sentAt.getTime() + 3_600_000),
    );
    // Booked: an appointment created after the send (an operator booked it; no reply).
    const booked = await followUp(sql, t, { name: 'Booked', foundDaysAgo: 8, outcome: 'sent' });
    await bookedAt(
      sql,
      t,
      salon,
      booked.contactId,
      new Date(booked.sentAt.getTime() + 7_200_000),
      24,
    );
    // Neither: wrote and booked only before the send.
    const neither = await followUp(sql, t, { name: 'Neither', foundDaysAgo: 6, outcome: 'sent' });
    await customerWritesAt(
      sql,
      t,
      neither.conversationId,
      new Date(neither.sentAt.getTime() - 7_200_000),
    );
    await bookedAt(
      sql,
      t,
      salon,
      neither.contactId,
      new Date(neither.sentAt.getTime() - 3_600_000),
      48,
    );
    // Accepted, then refused by a rule; and one still open.
    await followUp(sql, t, { name: 'Refused', foundDaysAgo: 5, outcome: 'refused' });
    await followUp(sql, t, { name: 'Open', foundDaysAgo: 2, outcome: 'open' });
    // Found 40 days ago, sent and replied: outside the last 30 days.
    const old = await followUp(sql, t, { name: 'Old', foundDaysAgo: 40, outcome: 'sent' });
    await customerWritesAt(sql, t, old.conversationId, new Date(old.sentAt.getTime() + 3_600_000));
    // Another business's follow-up, sent and replied.
    const theirs = await followUp(sql, other, { name: 'Theirs', foundDaysAgo: 3, outcome: 'sent' });
    await customerWritesAt(
      sql,
      other,
      theirs.conversationId,
      new Date(theirs.sentAt.getTime() + 60_000),
    );

    const last30 = await metrics(t.agent);
    expect(last30).toMatchObject({
      days: 30,
      found: 5,
      accepted: 4,
      sent: 3,
      replied: 1,
      booked: 1,
    });
    expect(Date.parse(last30.since)).toBeLessThan(Date.now() - 29 * DAY);
    expect(await metrics(t.owner, '?days=60')).toMatchObject({
      days: 60,
      found: 6,
      accepted: 5,
      sent: 4,
      replied: 2,
      booked: 1,
    });
    expect(await metrics(other.owner)).toMatchObject({
      found: 1,
      accepted: 1,
      sent: 1,
      replied: 1,
      booked: 0,
    });
    // The counts by status are in the same answer.
    const res = await h.asUser(t.agent, '/admin/opportunities/summary');
    expect(((await res.json()) as { by_status: Record<string, number> }).by_status).toMatchObject({
      sent: 4,
      skipped: 1,
      open: 1,
    });
  });

  it.for([
    ['a malformed id', '/admin/opportunities/not-a-uuid/skip', 'POST'],
    ['an unknown status', '/admin/opportunities?status=maybe', 'GET'],
    ['a limit over 100', '/admin/opportunities?limit=101', 'GET'],
    ['a cursor it never handed out', '/admin/opportunities?cursor=bm9wZQ', 'GET'],
    ['a metrics period of 0 days', '/admin/opportunities/summary?days=0', 'GET'],
    ['a metrics period over a year', '/admin/opportunities/summary?days=366', 'GET'],
  ])('refuses %s (400)', async ([, path, method], { harness: h, tenant: t }) => {
    const res = await h.asUser(t.owner, path as string, { method: method as string });
    expect(res.status).toBe(400);
    expect(((await res.json()) as ErrorBody).error.code).toBe('BAD_REQUEST');
  });
});

describe('/jobs/opportunities-scan', () => {
  it('scans the business it is delivered for, once however often QStash delivers it', async ({
    harness: h,
    sql,
    newTenant,
  }) => {
    const t = await newTenant('Opportunities job');
    const other = await newTenant('Opportunities job, other');
    await priceQuestion(sql, t);
    await priceQuestion(sql, other);
    const body = JSON.stringify({
      outboxId: crypto.randomUUID(),
      tenantId: t.tenantId,
      payload: { localDate: '2027-03-10' },
    });
    for (let delivery = 0; delivery < 2; delivery++) {
      const res = await h.request('/jobs/opportunities-scan', {
        method: 'POST',
        body,
        headers: {
          'content-type': 'application/json',
          'upstash-signature': await qstashSignature(body, 'opportunities-scan'),
        },
      });
      expect(res.status).toBe(200);
    }
    expect(await sql`select kind from opportunities where tenant_id = ${t.tenantId}`).toEqual([
      { kind: 'price_no_booking' },
    ]);
    expect(
      await sql`select id from opportunities where tenant_id = ${other.tenantId}`,
    ).toHaveLength(0);
  });
});
