import type postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphSends, threadOf } from '../../test/agent';
import { createConversation } from '../../test/conversations';
import { adminSql, createTenant, type TenantFixture } from '../../test/fixtures';
import { createHarness, type Harness, qstashSignature } from '../../test/harness';
import { must } from '../../test/must';

/**
 * Appointment reminders end to end: an operator books through the API, the booking's outbox rows
 * are checked for their instants, and each reminder is delivered as QStash would (signed POST to
 * /jobs/appointment-reminder, the outbox row's envelope), then the send job runs to the Graph
 * stand-in.
 */

const ZONE = 'Europe/Madrid';
const HOUR = 3_600_000;
let h: Harness;
let sql: postgres.Sql;
let t: TenantFixture;
let ids: { cleaning: string; ana: string };

beforeAll(async () => {
  h = await createHarness();
  sql = adminSql();
  t = await createTenant(sql, 'Clínica Recordatorios');
  h.registerTenant(t);
  const [cleaning] = await sql`insert into services (tenant_id, name, names, duration_minutes)
    values (${t.tenantId}, 'Limpieza dental',
      ${sql.json({ es: 'Limpieza dental', en: 'Teeth cleaning' })}, 30) returning id`;
  const [ana] =
    await sql`insert into staff (tenant_id, name) values (${t.tenantId}, 'Ana') returning id`;
  ids = { cleaning: must(cleaning, 'cleaning').id, ana: must(ana, 'ana').id };
  await sql`insert into service_staff (tenant_id, service_id, staff_id)
    values (${t.tenantId}, ${ids.cleaning}, ${ids.ana})`;
  // Replies off: the customer's messages get no agent turn, only the reminders go out.
  await sql`update tenant_settings set time_zone = ${ZONE}, reply_mode = 'off'
    where tenant_id = ${t.tenantId}`;
});
afterAll(async () => {
  await sql.end();
  await h.close();
});

const api = async (path: string, body: unknown) => {
  const res = await h.asUser(t.owner, path, { method: 'POST', body: JSON.stringify(body) });
  expect(res.status, await res.clone().text()).toBeLessThan(300);
  return res.json() as Promise<{ id: string; starts_at: string }>;
};

const book = (conv: { contactId: string; conversationId: string }, startsAt: Date) =>
  api('/admin/appointments', {
    service_id: ids.cleaning,
    staff_id: ids.ana,
    contact_id: conv.contactId,
    conversation_id: conv.conversationId,
    starts_at: startsAt.toISOString(),
  });

const reminderJobs = (appointmentId: string) =>
  sql`select * from job_outbox where kind = 'appointment-reminder'
    and payload->>'appointmentId' = ${appointmentId} order by not_before`;

/** Delivers an outbox row as QStash would, then runs what it queued (the send) to Graph. */
async function fire(job: postgres.Row) {
  const body = JSON.stringify({ outboxId: job.id, tenantId: job.tenant_id, payload: job.payload });
  const res = await h.request('/jobs/appointment-reminder', {
    method: 'POST',
    body,
    headers: {
      'content-type': 'application/json',
      'upstash-signature': await qstashSignature(body, 'appointment-reminder'),
    },
  });
  expect(res.status).toBe(200);
  await h.settle();
}

const remindersOf = async (appointmentId: string) =>
  must((await sql`select reminders from appointments where id = ${appointmentId}`)[0], 'appt')
    .reminders as Record<string, { messageId?: string; template?: string; skipped?: string }>;

const outboundOf = async (conversationId: string) =>
  (await threadOf(sql, conversationId)).filter((m) => m.direction === 'outbound');

/** A few days ahead, each call an hour later than the last (Ana holds one time once). */
let taken = 0;
const daysAhead = (days: number) => {
  const d = new Date(Date.now() + days * 24 * HOUR);
  d.setUTCHours(6 + taken++, 0, 0, 0);
  return d;
};

describe('scheduling', () => {
  it('enqueues the 24 h and 2 h reminders at their instants, with the start they are for', async () => {
    const conv = await createConversation(sql, t);
    const startsAt = daysAhead(5);
    const booked = await book(conv, startsAt);
    const jobs = await reminderJobs(booked.id);
    expect(jobs.map((j) => [j.not_before.toISOString(), j.payload])).toEqual([
      [
        new Date(startsAt.getTime() - 24 * HOUR).toISOString(),
        { appointmentId: booked.id, startsAt: startsAt.toISOString(), offsetMinutes: 1440 },
      ],
      [
        new Date(startsAt.getTime() - 2 * HOUR).toISOString(),
        { appointmentId: booked.id, startsAt: startsAt.toISOString(), offsetMinutes: 120 },
      ],
    ]);
  });

  it('is 24 real hours before across the spring clock change (Madrid, 28 March 2027)', async () => {
    const conv = await createConversation(sql, t);
    // Sunday 28 March 2027, 10:00 CEST (UTC+2); the clocks went forward at 02:00 that night.
    const startsAt = new Date('2027-03-28T08:00:00Z');
    const booked = await book(conv, startsAt);
    const [dayBefore] = await reminderJobs(booked.id);
    expect(must(dayBefore, '24 h reminder').not_before.toISOString()).toBe(
      '2027-03-27T08:00:00.000Z',
    );
    // Which is 9:00 on the Saturday, still winter time: 24 hours, not "the same wall-clock time".
    expect(must(dayBefore, '24 h').not_before.toLocaleTimeString('es-ES', { timeZone: ZONE })).toBe(
      '9:00:00',
    );
  });

  it('skips reminders whose time has passed, and follows the tenant setting', async () => {
    await sql`update tenant_settings set reminder_offsets_minutes = '[2880, 1440, 60]'
      where tenant_id = ${t.tenantId}`;
    try {
      const conv = await createConversation(sql, t);
      const startsAt = new Date(Date.now() + 30 * HOUR);
      const booked = await book(conv, startsAt);
      const jobs = await reminderJobs(booked.id);
      expect(jobs.map((j) => j.payload.offsetMinutes)).toEqual([1440, 60]);
    } finally {
      await sql`update tenant_settings set reminder_offsets_minutes = '[1440, 120]'
        where tenant_id = ${t.tenantId}`;
    }
  });
});

describe('when a reminder fires', () => {
  it('sends one message with the three appointment buttons, once under redelivery', async () => {
    const conv = await createConversation(sql, t);
    const booked = await book(conv, daysAhead(3));
    const [job] = await reminderJobs(booked.id);
    const before = graphSends(h).length;
    await fire(must(job, 'reminder job'));
    await fire(must(job, 'reminder job'));
    const sent = (await outboundOf(conv.conversationId)).filter((m) => m.sender === 'system');
    expect(sent).toHaveLength(1);
    const message = must(sent[0], 'reminder').payload.message;
    expect(message.type).toBe('buttons');
    expect(message.body).toContain('Limpieza dental');
    expect(message.buttons.map((b: { id: string }) => b.id)).toEqual([
      `appt:${booked.id}:confirm`,
      `appt:${booked.id}:reschedule`,
      `appt:${booked.id}:cancel`,
    ]);
    expect(graphSends(h).length - before).toBe(1);
    const reminders = await remindersOf(booked.id);
    expect(Object.values(reminders)).toEqual([
      expect.objectContaining({ messageId: must(sent[0], 'reminder').id }),
    ]);
  });

  it('sends nothing for a cancelled appointment', async () => {
    const conv = await createConversation(sql, t);
    const booked = await book(conv, daysAhead(3));
    // Silently: this is about the reminders (the cancellation notice has its own test).
    await api(`/admin/appointments/${booked.id}/cancel`, { notify_customer: false });
    for (const job of await reminderJobs(booked.id)) await fire(job);
    expect(await outboundOf(conv.conversationId)).toHaveLength(0);
    expect(await remindersOf(booked.id)).toEqual({});
  });

  it('a moved appointment: the old reminders send nothing, the new time has its own', async () => {
    const conv = await createConversation(sql, t);
    const first = daysAhead(3);
    const booked = await book(conv, first);
    const [old] = await reminderJobs(booked.id);
    const moved = new Date(first.getTime() + 2 * 24 * HOUR);
    await api(`/admin/appointments/${booked.id}/reschedule`, {
      starts_at: moved.toISOString(),
      notify_customer: false,
    });
    await fire(must(old, 'old reminder'));
    expect(await outboundOf(conv.conversationId)).toHaveLength(0);
    const fresh = (await reminderJobs(booked.id)).filter(
      (j) => j.payload.startsAt === moved.toISOString(),
    );
    expect(fresh.map((j) => j.not_before.toISOString())).toEqual([
      new Date(moved.getTime() - 24 * HOUR).toISOString(),
      new Date(moved.getTime() - 2 * HOUR).toISOString(),
    ]);
    await fire(must(fresh[0], 'new reminder'));
    expect(await outboundOf(conv.conversationId)).toHaveLength(1);
  });

  it('outside the 24 h window: recorded as skipped without a template, the template once synced', async () => {
    const conv = await createConversation(sql, t, {
      lastInboundAt: new Date(Date.now() - 3 * 24 * HOUR),
      name: 'Lucía Fernández',
    });
    const first = await book(conv, daysAhead(4));
    const [job] = await reminderJobs(first.id);
    await fire(must(job, 'reminder'));
    expect(await outboundOf(conv.conversationId)).toHaveLength(0);
    expect(Object.values(await remindersOf(first.id))).toEqual([
      expect.objectContaining({ skipped: 'no_reminder_template' }),
    ]);

    const synced = await h.asUser(t.owner, '/admin/templates/sync', { method: 'POST' });
    expect(synced.status).toBe(200);
    const second = await book(conv, daysAhead(6));
    const [next] = await reminderJobs(second.id);
    const before = graphSends(h).length;
    await fire(must(next, 'reminder'));
    const [sent] = await outboundOf(conv.conversationId);
    expect(must(sent, 'template reminder').payload.message).toMatchObject({
      type: 'template',
      name: 'appointment_reminder',
    });
    expect(must(sent, 'template reminder').status).not.toBe('failed');
    const request = graphSends(h).slice(before)[0] as { template?: unknown };
    expect(JSON.stringify(request.template)).toContain('Lucía');
    expect(Object.values(await remindersOf(second.id))).toEqual([
      expect.objectContaining({ template: 'appointment_reminder/en_US' }),
    ]);
  });
});

describe('when an operator moves or cancels', () => {
  const historyOf = (appointmentId: string) =>
    sql`select kind, actor, actor_user_id, changes from appointment_events
      where appointment_id = ${appointmentId} and kind = 'customer_notified' order by created_at`;

  it('a move: the new local time with the appointment buttons, sent after commit', async () => {
    const conv = await createConversation(sql, t);
    const booked = await book(conv, daysAhead(3));
    const moved = new Date(new Date(booked.starts_at).getTime() + 2 * 24 * HOUR);
    const before = graphSends(h).length;
    await api(`/admin/appointments/${booked.id}/reschedule`, { starts_at: moved.toISOString() });
    await h.settle();
    const [sent, ...more] = await outboundOf(conv.conversationId);
    expect(more).toHaveLength(0);
    const message = must(sent, 'move notice').payload.message;
    expect(message.type).toBe('buttons');
    expect(message.body).toContain('Hemos cambiado tu cita de Limpieza dental');
    // The new time as the clinic's clock says it, not UTC.
    const local = moved.toLocaleTimeString('es-ES', {
      timeZone: ZONE,
      hour: '2-digit',
      minute: '2-digit',
    });
    expect(message.body).toContain(local);
    expect(message.buttons.map((b: { id: string }) => b.id)).toEqual([
      `appt:${booked.id}:confirm`,
      `appt:${booked.id}:reschedule`,
      `appt:${booked.id}:cancel`,
    ]);
    expect(graphSends(h).length - before).toBe(1);
    expect(await historyOf(booked.id)).toEqual([
      expect.objectContaining({
        actor: 'operator',
        actor_user_id: t.owner.id,
        changes: { notice: 'moved', messageId: must(sent, 'move notice').id },
      }),
    ]);
  });

  it('a cancellation: plain text naming the time, in the customer’s language', async () => {
    const conv = await createConversation(sql, t);
    await sql`update messages set content = 'Hello, I would like to book a cleaning please'
      where conversation_id = ${conv.conversationId} and direction = 'inbound'`;
    const booked = await book(conv, daysAhead(3));
    await api(`/admin/appointments/${booked.id}/cancel`, { reason: 'Ana is ill' });
    await h.settle();
    const [sent] = await outboundOf(conv.conversationId);
    expect(must(sent, 'cancel notice').payload.message).toMatchObject({ type: 'text' });
    expect(must(sent, 'cancel notice').payload.message.text).toMatch(
      /^Your Teeth cleaning appointment on .+ was cancelled\./,
    );
    expect(must(sent, 'cancel notice').status).not.toBe('failed');
    expect((await historyOf(booked.id)).map((e) => e.changes)).toEqual([
      { notice: 'cancelled', messageId: must(sent, 'cancel notice').id },
    ]);
  });

  it('notify_customer false: changed silently, nothing recorded', async () => {
    const conv = await createConversation(sql, t);
    const booked = await book(conv, daysAhead(3));
    const later = new Date(new Date(booked.starts_at).getTime() + 24 * HOUR);
    await api(`/admin/appointments/${booked.id}/reschedule`, {
      starts_at: later.toISOString(),
      notify_customer: false,
    });
    await api(`/admin/appointments/${booked.id}/cancel`, { notify_customer: false });
    await h.settle();
    expect(await outboundOf(conv.conversationId)).toHaveLength(0);
    expect(await historyOf(booked.id)).toHaveLength(0);
  });

  it('records why nothing went out: opted out, or outside the window without a template', async () => {
    const optedOut = await createConversation(sql, t);
    await sql`update contacts set opted_out_at = now() where id = ${optedOut.contactId}`;
    const first = await book(optedOut, daysAhead(3));
    await api(`/admin/appointments/${first.id}/cancel`, {});
    const quiet = await createConversation(sql, t, {
      lastInboundAt: new Date(Date.now() - 3 * 24 * HOUR),
    });
    const second = await book(quiet, daysAhead(3));
    // The reminder template is synced, but a "reminder" cannot say it was cancelled.
    await h.asUser(t.owner, '/admin/templates/sync', { method: 'POST' });
    await api(`/admin/appointments/${second.id}/cancel`, {});
    await h.settle();
    expect(await outboundOf(optedOut.conversationId)).toHaveLength(0);
    expect(await outboundOf(quiet.conversationId)).toHaveLength(0);
    expect((await historyOf(first.id)).map((e) => e.changes)).toEqual([
      { notice: 'cancelled', skipped: 'opted_out' },
    ]);
    expect((await historyOf(second.id)).map((e) => e.changes)).toEqual([
      { notice: 'cancelled', skipped: 'no_cancellation_template' },
    ]);
  });

  it('a move outside the window goes out as the approved reminder template', async () => {
    await h.asUser(t.owner, '/admin/templates/sync', { method: 'POST' });
    const conv = await createConversation(sql, t, {
      lastInboundAt: new Date(Date.now() - 3 * 24 * HOUR),
      name: 'Pablo Gómez',
    });
    const booked = await book(conv, daysAhead(3));
    const later = new Date(new Date(booked.starts_at).getTime() + 24 * HOUR);
    await api(`/admin/appointments/${booked.id}/reschedule`, { starts_at: later.toISOString() });
    await h.settle();
    const [sent] = await outboundOf(conv.conversationId);
    expect(must(sent, 'template notice').payload.message).toMatchObject({
      type: 'template',
      name: 'appointment_reminder',
    });
    expect((await historyOf(booked.id)).map((e) => e.changes)).toEqual([
      expect.objectContaining({ notice: 'moved', template: 'appointment_reminder/en_US' }),
    ]);
  });
});
