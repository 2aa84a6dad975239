import { sql as drizzleSql } from 'drizzle-orm';
import type postgres from 'postgres';
import { describe, expect } from 'vitest';
import { createSalon } from '../test/appointments';
import { type ConversationFixture, createConversation } from '../test/conversations';
import type { TenantFixture } from '../test/fixtures';
import { it, must } from '../test/it';
import { asIntake, asTenant, type Database } from './client';
import { scanOpportunities } from './opportunities';

/**
 * The detectors on seeded histories. Every test has its own business in Madrid (UTC+1 in
 * February and March 2027), so the "N days" are Madrid's calendar days, and scans as of chosen
 * instants on either side of a local midnight show it.
 */

const HOUR = 3_600_000;
const at = (iso: string) => new Date(iso);

type Salon = Awaited<ReturnType<typeof createSalon>>;

/** A customer who wrote "Hola" at `wroteAt` (null: never wrote), as ingestion would leave them. */
async function customer(
  sql: postgres.Sql,
  t: TenantFixture,
  wroteAt: Date | null,
  name = 'Lucía',
): Promise<ConversationFixture> {
  const conv = await createConversation(sql, t, {
    lastInboundAt: wroteAt,
    now: wroteAt ?? undefined,
    name,
  });
  await sql`update conversations set last_message_at = ${wroteAt} where id = ${conv.conversationId}`;
  return conv;
}

/** A message in the conversation at `when`: the customer's, or a reply from `sender`. */
async function say(
  sql: postgres.Sql,
  t: TenantFixture,
  conv: ConversationFixture,
  text: string,
  when: Date,
  sender: 'user' | 'operator' | 'agent' | 'system' = 'user',
): Promise<string> {
  const inbound = sender === 'user';
  const [row] = await sql`insert into messages (tenant_id, conversation_id, channel_account_id,
      direction, sender, type, content, provider_message_id, provider_timestamp, status)
    values (${t.tenantId}, ${conv.conversationId}, ${t.accounts[conv.channel].id},
      ${inbound ? 'inbound' : 'outbound'}, ${sender}, 'text', ${text},
      ${`wamid.${crypto.randomUUID()}`}, ${when}, ${inbound ? 'received' : 'sent'})
    returning id`;
  await sql`update conversations set last_message_at = greatest(last_message_at, ${when}),
      last_inbound_at = case when ${inbound} then greatest(last_inbound_at, ${when}) else last_inbound_at end
    where id = ${conv.conversationId}`;
  return must(row, 'message').id as string;
}

/** An appointment of the salon's haircut with Ana, booked (created) and last changed when given. */
async function appointment(
  sql: postgres.Sql,
  t: TenantFixture,
  salon: Salon,
  contactId: string,
  a: { startsAt: Date; status: string; createdAt: Date; updatedAt?: Date },
): Promise<string> {
  const end = new Date(a.startsAt.getTime() + 30 * 60_000);
  const [row] = await sql`insert into appointments (tenant_id, contact_id, service_id, staff_id,
      period, starts_at, ends_at, booked_by, status, created_at, updated_at)
    values (${t.tenantId}, ${contactId}, ${salon.cut}, ${salon.ana}, tstzrange(${a.startsAt}, ${end}),
      ${a.startsAt}, ${end}, 'operator', ${a.status}, ${a.createdAt}, ${a.updatedAt ?? a.createdAt})
    returning id`;
  return must(row, 'appointment').id as string;
}

const scan = (db: Database, t: TenantFixture, now: Date) =>
  asTenant(db, t.tenantId, (ctx) => scanOpportunities(ctx, { now }));

async function found(sql: postgres.Sql, t: TenantFixture) {
  return sql<
    Array<{ contact_id: string; kind: string; evidence_id: string; evidence_text: string }>
  >`select contact_id, kind, evidence_id, evidence_text, suggested_action, status
    from opportunities where tenant_id = ${t.tenantId} order by created_at, contact_id`;
}

describe('opportunities scan', () => {
  it('finds a price question unanswered by a booking three Madrid days later, not a UTC day early', async ({
    sql,
    db,
    newTenant,
  }) => {
    const t = await newTenant('Price');
    const salon = await createSalon(sql, t);
    // 23:30 UTC on 6 March is already 7 March in Madrid: due on 10 March, Madrid time.
    const asked = at('2027-03-06T23:30:00Z');
    const lucia = await customer(sql, t, at('2027-03-06T23:00:00Z'));
    const question = await say(sql, t, lucia, '¿Cuánto cuesta el tinte?', asked);
    // Asked about a service by its name only.
    const pedro = await customer(sql, t, at('2027-03-06T20:00:00Z'), 'Pedro');
    const byName = await say(
      sql,
      t,
      pedro,
      'Do you do a HAIRCUT on Saturdays?',
      at('2027-03-06T20:01:00Z'),
    );
    // Asked the price and booked the next day: no opportunity.
    const booked = await customer(sql, t, at('2027-03-06T10:00:00Z'), 'Booked');
    await say(sql, t, booked, 'How much is it?', at('2027-03-06T10:00:00Z'));
    await appointment(sql, t, salon, booked.contactId, {
      startsAt: at('2027-03-15T10:00:00Z'),
      status: 'confirmed',
      createdAt: at('2027-03-07T09:00:00Z'),
    });
    // Only chatted.
    const chat = await customer(sql, t, at('2027-03-06T10:00:00Z'), 'Chat');
    await say(sql, t, chat, '¿Abren el sábado?', at('2027-03-06T10:05:00Z'));

    // 23:30 on 9 March in Madrid: Pedro's 6 March question is due, Lucía's (7 March there) not yet.
    const before = await scan(db, t, at('2027-03-09T22:30:00Z'));
    expect(before.found.price_no_booking).toBe(1);
    expect((await found(sql, t)).map((o) => o.evidence_id)).toEqual([byName]);
    // 00:30 on 10 March in Madrid (still 9 March in UTC): hers is due.
    const after = await scan(db, t, at('2027-03-09T23:30:00Z'));
    expect(after.found.price_no_booking).toBe(1);
    const rows = await found(sql, t);
    expect(rows).toHaveLength(2);
    expect(rows[1]).toMatchObject({
      contact_id: lucia.contactId,
      kind: 'price_no_booking',
      evidence_id: question,
      evidence_text: '¿Cuánto cuesta el tinte?',
      suggested_action: 'offer_booking',
      status: 'open',
    });
  });

  it('finds a recall due on the Madrid day the service says, and not once rebooked', async ({
    sql,
    db,
    newTenant,
  }) => {
    const t = await newTenant('Recall');
    const salon = await createSalon(sql, t);
    await sql`update services set recall_after_days = 30 where id = ${salon.cut}`;
    // Done at 00:30 on 9 February in Madrid (23:30 UTC on the 8th): due on 11 March there.
    const due = await customer(sql, t, at('2027-02-01T10:00:00Z'));
    const visit = await appointment(sql, t, salon, due.contactId, {
      startsAt: at('2027-02-08T23:30:00Z'),
      status: 'completed',
      createdAt: at('2027-02-01T10:00:00Z'),
    });
    // The same, but already booked again.
    const rebooked = await customer(sql, t, at('2027-02-01T10:00:00Z'), 'Rebooked');
    await appointment(sql, t, salon, rebooked.contactId, {
      startsAt: at('2027-02-09T10:00:00Z'),
      status: 'completed',
      createdAt: at('2027-02-01T10:00:00Z'),
    });
    await appointment(sql, t, salon, rebooked.contactId, {
      startsAt: at('2027-03-20T10:00:00Z'),
      status: 'confirmed',
      createdAt: at('2027-03-01T10:00:00Z'),
    });
    // The same, but booked by an operator for someone who never wrote: no cold outreach.
    const cold = await customer(sql, t, null, 'Cold');
    await appointment(sql, t, salon, cold.contactId, {
      startsAt: at('2027-02-08T12:00:00Z'),
      status: 'completed',
      createdAt: at('2027-02-01T10:00:00Z'),
    });

    // 23:30 on 10 March in Madrid: not yet.
    expect((await scan(db, t, at('2027-03-10T22:30:00Z'))).found.recall_due).toBe(0);
    // 00:30 on 11 March in Madrid (10 March in UTC): due.
    const result = await scan(db, t, at('2027-03-10T23:30:00Z'));
    expect(result.found.recall_due).toBe(1);
    expect(await found(sql, t)).toEqual([
      expect.objectContaining({
        contact_id: due.contactId,
        kind: 'recall_due',
        evidence_id: visit,
        evidence_text: 'Haircut · 2027-02-09 00:30',
        suggested_action: 'offer_recall_appointment',
      }),
    ]);
  });

  it('finds a no-show or a cancellation not followed by a booking, after a day of grace', async ({
    sql,
    db,
    newTenant,
  }) => {
    const t = await newTenant('No-show');
    const salon = await createSalon(sql, t);
    const missed = await customer(sql, t, at('2027-03-01T10:00:00Z'));
    const noShow = await appointment(sql, t, salon, missed.contactId, {
      startsAt: at('2027-03-08T10:00:00Z'),
      status: 'no_show',
      createdAt: at('2027-03-01T10:00:00Z'),
      updatedAt: at('2027-03-08T11:00:00Z'),
    });
    // Cancelled, but another appointment is still ahead.
    const ahead = await customer(sql, t, at('2027-03-01T10:00:00Z'), 'Ahead');
    await appointment(sql, t, salon, ahead.contactId, {
      startsAt: at('2027-03-08T12:00:00Z'),
      status: 'cancelled',
      createdAt: at('2027-03-01T10:00:00Z'),
      updatedAt: at('2027-03-07T09:00:00Z'),
    });
    await appointment(sql, t, salon, ahead.contactId, {
      startsAt: at('2027-03-22T12:00:00Z'),
      status: 'confirmed',
      createdAt: at('2027-02-20T10:00:00Z'),
    });
    // Cancelled and rebooked (the new one done already).
    const rebooked = await customer(sql, t, at('2027-03-01T10:00:00Z'), 'Rebooked');
    await appointment(sql, t, salon, rebooked.contactId, {
      startsAt: at('2027-03-05T12:00:00Z'),
      status: 'cancelled',
      createdAt: at('2027-03-01T10:00:00Z'),
      updatedAt: at('2027-03-04T09:00:00Z'),
    });
    await appointment(sql, t, salon, rebooked.contactId, {
      startsAt: at('2027-03-09T15:00:00Z'),
      status: 'completed',
      createdAt: at('2027-03-04T09:05:00Z'),
    });

    // Missed on 8 March: on the 8th it is too soon (a day to rebook by themselves).
    expect((await scan(db, t, at('2027-03-08T20:00:00Z'))).found.no_show_or_cancelled).toBe(0);
    const result = await scan(db, t, at('2027-03-09T08:00:00Z'));
    expect(result.found.no_show_or_cancelled).toBe(1);
    expect(await found(sql, t)).toEqual([
      expect.objectContaining({
        contact_id: missed.contactId,
        kind: 'no_show_or_cancelled',
        evidence_id: noShow,
        evidence_text: 'Haircut · 2027-03-08 11:00 · no_show',
        suggested_action: 'offer_new_appointment',
      }),
    ]);
  });

  it('finds a handed-off conversation whose customer has waited a day for a person', async ({
    sql,
    db,
    newTenant,
  }) => {
    const t = await newTenant('Quiet');
    await createSalon(sql, t);
    const now = at('2027-03-10T12:00:00Z');
    const handoff = async (name: string, lockedBy: string, lastAt: Date) => {
      const conv = await customer(sql, t, new Date(lastAt.getTime() - HOUR), name);
      const last = await say(sql, t, conv, 'Quiero hablar con una persona', lastAt);
      await say(sql, t, conv, 'Te paso con el equipo', new Date(lastAt.getTime() + 1000), 'system');
      await sql`update conversations set is_locked = true, locked_by = ${lockedBy}, locked_at = ${lastAt}
        where id = ${conv.conversationId}`;
      return { conv, last };
    };
    const waiting = await handoff('Waiting', 'escalation', new Date(now.getTime() - 30 * HOUR));
    const answered = await handoff('Answered', 'keyword', new Date(now.getTime() - 30 * HOUR));
    await say(
      sql,
      t,
      answered.conv,
      'Hola, soy Ana',
      new Date(now.getTime() - 29 * HOUR),
      'operator',
    );
    await handoff('Recent', 'escalation', new Date(now.getTime() - 2 * HOUR));
    await handoff('Taken by an operator', 'operator', new Date(now.getTime() - 30 * HOUR));

    const result = await scan(db, t, now);
    expect(result.found.quiet_after_handoff).toBe(1);
    expect(await found(sql, t)).toEqual([
      expect.objectContaining({
        contact_id: waiting.conv.contactId,
        kind: 'quiet_after_handoff',
        evidence_id: waiting.last,
        evidence_text: 'Quiero hablar con una persona',
        suggested_action: 'reply_to_customer',
      }),
    ]);
  });

  it('creates nothing twice, and nothing for opted-out customers or the business’s staff', async ({
    sql,
    db,
    newTenant,
  }) => {
    const t = await newTenant('Twice');
    await createSalon(sql, t);
    const asked = at('2027-03-01T10:00:00Z');
    const lucia = await customer(sql, t, asked);
    await say(sql, t, lucia, 'كم سعر قص الشعر؟', asked);
    const stopped = await customer(sql, t, asked, 'Stopped');
    await say(sql, t, stopped, 'precio?', asked);
    await sql`update contacts set opted_out_at = ${asked} where id = ${stopped.contactId}`;
    const boss = await customer(sql, t, asked, 'Boss');
    await say(sql, t, boss, 'What is the price of a cut now?', asked);
    await sql`update tenant_settings
      set escalation_contacts = ${sql.json([{ name: 'Boss', whatsapp: `+${boss.externalUserId}` }])}
      where tenant_id = ${t.tenantId}`;

    const now = at('2027-03-10T08:00:00Z');
    const first = await scan(db, t, now);
    expect(first.found.price_no_booking).toBe(1);
    expect((await found(sql, t)).map((o) => o.contact_id)).toEqual([lucia.contactId]);
    // The same day again (QStash redelivers, an owner runs it by hand), and the next day.
    const again = await scan(db, t, now);
    const nextDay = await scan(db, t, at('2027-03-11T08:00:00Z'));
    expect(again.found.price_no_booking + nextDay.found.price_no_booking).toBe(0);
    expect(await found(sql, t)).toHaveLength(1);
    // Skipped, it stays skipped: the same question is not proposed again.
    await sql`update opportunities set status = 'skipped' where tenant_id = ${t.tenantId}`;
    expect((await scan(db, t, at('2027-03-12T08:00:00Z'))).found.price_no_booking).toBe(0);
  });

  it('expires open opportunities nobody decided on within two weeks', async ({
    sql,
    db,
    newTenant,
  }) => {
    const t = await newTenant('Expiry');
    const lucia = await customer(sql, t, at('2027-03-01T10:00:00Z'));
    const [old] = await sql`insert into opportunities (tenant_id, contact_id, kind, evidence_id,
        evidence_text, suggested_action, created_at)
      values (${t.tenantId}, ${lucia.contactId}, 'price_no_booking', ${lucia.inbound.id}, 'Hola',
        'offer_booking', '2027-03-01T10:00:00Z') returning id`;
    expect((await scan(db, t, at('2027-03-14T12:00:00Z'))).expired).toBe(0);
    expect((await scan(db, t, at('2027-03-15T12:00:00Z'))).expired).toBe(1);
    const [row] =
      await sql`select status, decided_at from opportunities where id = ${must(old, 'old').id}`;
    expect(row).toEqual({ status: 'expired', decided_at: at('2027-03-15T12:00:00Z') });
  });

  it('scans one business only: another’s customers and opportunities stay out of reach', async ({
    sql,
    db,
    newTenant,
  }) => {
    const a = await newTenant('Isolation A');
    const b = await newTenant('Isolation B');
    const asked = at('2027-03-01T10:00:00Z');
    for (const t of [a, b]) {
      const conv = await customer(sql, t, asked);
      await say(sql, t, conv, 'How much is a manicure?', asked);
    }
    const now = at('2027-03-10T08:00:00Z');
    expect((await scan(db, a, now)).found.price_no_booking).toBe(1);
    expect(await found(sql, b)).toHaveLength(0);
    // Under B's tenant handle, A's opportunity does not exist.
    const seenByB = await asTenant(db, b.tenantId, (ctx) =>
      ctx.tx.execute(drizzleSql`select id from opportunities`),
    );
    expect([...seenByB]).toHaveLength(0);
    expect((await scan(db, b, now)).found.price_no_booking).toBe(1);
    expect(await found(sql, b)).toHaveLength(1);
    expect(await found(sql, a)).toHaveLength(1);
  });
});

describe('app.schedule_opportunity_scans', () => {
  it('queues one scan per business, at the next 08:00 in its time zone', async ({
    sql,
    db,
    newTenant,
  }) => {
    const t = await newTenant('Schedule');
    await sql`update tenant_settings set time_zone = 'Asia/Dubai' where tenant_id = ${t.tenantId}`;
    const schedule = () =>
      asIntake(db, (ctx) =>
        ctx.tx.execute(drizzleSql`select app.schedule_opportunity_scans(8) as queued`),
      );
    await schedule();
    await schedule();
    const jobs = await sql`select kind, payload, dedupe_key,
        to_char(not_before at time zone 'Asia/Dubai', 'HH24:MI') as local_time,
        not_before > now() and not_before <= now() + interval '24 hours' as next
      from job_outbox where tenant_id = ${t.tenantId}`;
    expect(jobs).toHaveLength(1);
    const job = must(jobs[0], 'job');
    expect(job).toMatchObject({ kind: 'opportunities-scan', local_time: '08:00', next: true });
    expect(job.dedupe_key).toBe(`opportunities-scan:${job.payload.localDate}`);
  });
});
