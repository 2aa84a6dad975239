import { describe, expect } from 'vitest';
import {
  createSalon,
  foreignAppointment,
  foreignService,
  foreignStaff,
} from '../../../test/appointments';
import type { Harness } from '../../../test/harness';
import { it, must } from '../../../test/it';
import { describeOperatorSecurity } from '../../../test/operator-security';

const someId = '0b6f5a52-8c1e-4d2a-9f3b-7e4c1d2a9b60';

describeOperatorSecurity({
  method: 'GET',
  path: '/admin/appointments?from=2027-03-01&to=2027-03-07',
});
describeOperatorSecurity({
  method: 'GET',
  path: '/admin/appointments/:foreignId',
  foreignId: foreignAppointment,
});
describeOperatorSecurity({
  method: 'POST',
  path: '/admin/appointments',
  body: {
    service_id: someId,
    staff_id: someId,
    contact_id: someId,
    starts_at: '2027-03-01T09:00:00+01:00',
  },
});
describeOperatorSecurity({
  method: 'POST',
  path: '/admin/appointments/:foreignId/reschedule',
  body: { starts_at: '2031-02-03T09:00:00Z' },
  foreignId: foreignAppointment,
});
describeOperatorSecurity({
  method: 'POST',
  path: '/admin/appointments/:foreignId/cancel',
  body: {},
  foreignId: foreignAppointment,
});
for (const action of ['confirm', 'complete', 'no-show']) {
  describeOperatorSecurity({
    method: 'POST',
    path: `/admin/appointments/:foreignId/${action}`,
    foreignId: foreignAppointment,
  });
}
describeOperatorSecurity({
  method: 'GET',
  path: '/admin/availability?service_id=:foreignId&from=2027-03-01&to=2027-03-01',
  foreignId: foreignService,
});

type User = { id: string; email: string };
type Appointment = {
  id: string;
  status: string;
  starts_at: string;
  ends_at: string;
  staff_id: string;
  service_name: string;
  staff_name: string;
  contact_name: string | null;
  booked_by: string;
  booked_by_user_id: string | null;
};
type ErrorBody = { error: { code: string; message: string; conflicting_id?: string } };

const send = (h: Harness, user: User, method: string, path: string, body?: unknown) =>
  h.asUser(user, path, { method, ...(body ? { body: JSON.stringify(body) } : {}) });

/** A Monday in 2027 at a Madrid wall-clock time (UTC+1 in March). */
const monday = (hhmm: string) => `2027-03-01T${hhmm}:00+01:00`;
const iso = (local: string) => new Date(local).toISOString();

describe('/admin/appointments', () => {
  it('books, lists the week, moves, confirms and completes, with its history', async ({
    harness: h,
    sql,
    newTenant,
  }) => {
    const t = await newTenant('Diary');
    const salon = await createSalon(sql, t);
    const booked = await send(h, t.agent, 'POST', '/admin/appointments', {
      service_id: salon.cut,
      staff_id: salon.ana,
      contact_id: salon.contactId,
      conversation_id: salon.conversationId,
      starts_at: monday('10:00'),
      notes: 'First visit',
      status: 'pending',
    });
    expect(booked.status).toBe(201);
    const appt = (await booked.json()) as Appointment;
    expect(appt).toMatchObject({
      status: 'pending',
      starts_at: iso(monday('10:00')),
      ends_at: iso(monday('10:30')),
      service_name: 'Haircut',
      staff_name: 'Ana',
      contact_name: 'María',
      booked_by: 'operator',
      booked_by_user_id: t.agent.id,
    });
    const other = (await (
      await send(h, t.owner, 'POST', '/admin/appointments', {
        service_id: salon.cut,
        staff_id: salon.ana,
        contact_id: salon.contactId,
        starts_at: '2027-03-05T17:00:00+01:00',
      })
    ).json()) as Appointment;
    expect(other.status).toBe('confirmed');

    const week = await h.asUser(t.agent, '/admin/appointments?from=2027-03-01&to=2027-03-07');
    expect(((await week.json()) as { items: Appointment[] }).items.map((a) => a.id)).toEqual([
      appt.id,
      other.id,
    ]);
    const monOnly = await h.asUser(
      t.agent,
      `/admin/appointments?from=2027-03-01&to=2027-03-01&staff_id=${salon.ana}`,
    );
    expect(((await monOnly.json()) as { items: Appointment[] }).items.map((a) => a.id)).toEqual([
      appt.id,
    ]);

    const moved = await send(h, t.agent, 'POST', `/admin/appointments/${appt.id}/reschedule`, {
      starts_at: monday('11:00'),
    });
    expect(moved.status).toBe(200);
    expect(await moved.json()).toMatchObject({ starts_at: iso(monday('11:00')) });
    const confirmed = await send(h, t.agent, 'POST', `/admin/appointments/${appt.id}/confirm`);
    expect(await confirmed.json()).toMatchObject({ status: 'confirmed' });
    const again = await send(h, t.agent, 'POST', `/admin/appointments/${appt.id}/confirm`);
    expect(again.status).toBe(409);
    const done = await send(h, t.agent, 'POST', `/admin/appointments/${appt.id}/complete`);
    expect(await done.json()).toMatchObject({ status: 'completed' });

    const detail = await h.asUser(t.owner, `/admin/appointments/${appt.id}`);
    const body = (await detail.json()) as Appointment & {
      history: Array<{ kind: string; actor: string; actor_user_id: string | null }>;
    };
    expect(body.history.map((e) => e.kind)).toEqual([
      'booked',
      'rescheduled',
      // The move was told to María (her conversation is inside the window).
      'customer_notified',
      'confirmed',
      'completed',
    ]);
    expect(
      body.history.every((e) => e.actor === 'operator' && e.actor_user_id === t.agent.id),
    ).toBe(true);
  });

  it('answers 409 naming the appointment holding the time, on book and on move', async ({
    harness: h,
    sql,
    newTenant,
  }) => {
    const t = await newTenant('Overlaps');
    const salon = await createSalon(sql, t);
    const book = (startsAt: string) =>
      send(h, t.agent, 'POST', '/admin/appointments', {
        service_id: salon.cut,
        staff_id: salon.ana,
        contact_id: salon.contactId,
        starts_at: startsAt,
      });
    const holder = (await (await book(monday('09:00'))).json()) as Appointment;
    // 09:00–09:30 plus 10 minutes cleaning: 09:30 is still taken.
    const clash = await book(monday('09:30'));
    expect(clash.status).toBe(409);
    const clashBody = (await clash.json()) as ErrorBody;
    expect(clashBody.error).toMatchObject({ code: 'CONFLICT', conflicting_id: holder.id });

    const later = (await (await book(monday('12:00'))).json()) as Appointment;
    const move = await send(h, t.agent, 'POST', `/admin/appointments/${later.id}/reschedule`, {
      starts_at: monday('08:45'),
    });
    expect(move.status).toBe(409);
    expect(((await move.json()) as ErrorBody).error.conflicting_id).toBe(holder.id);
    const [kept] = await sql`select starts_at from appointments where id = ${later.id}`;
    expect((must(kept, 'kept').starts_at as Date).toISOString()).toBe(iso(monday('12:00')));

    // Cancelling frees the time.
    const cancelled = await send(h, t.owner, 'POST', `/admin/appointments/${holder.id}/cancel`, {
      reason: 'Called',
    });
    expect(await cancelled.json()).toMatchObject({ status: 'cancelled' });
    expect((await book(monday('09:30'))).status).toBe(201);
    const twice = await send(h, t.owner, 'POST', `/admin/appointments/${holder.id}/cancel`, {});
    expect(twice.status).toBe(409);
    expect(((await twice.json()) as ErrorBody).error.conflicting_id).toBeUndefined();
  });

  it('offers free slots, leaving out booked ones', async ({ harness: h, sql, newTenant }) => {
    const t = await newTenant('Availability');
    const salon = await createSalon(sql, t);
    const slots = async () => {
      const res = await h.asUser(
        t.agent,
        `/admin/availability?service_id=${salon.cut}&from=2027-03-01&to=2027-03-01`,
      );
      expect(res.status).toBe(200);
      return ((await res.json()) as { items: Array<{ start: string; staff_id: string }> }).items;
    };
    const before = (await slots()).map((s) => s.start);
    expect(before).toContain(iso(monday('10:00')));
    expect(before[0]).toBe(iso(monday('09:00')));
    await send(h, t.agent, 'POST', '/admin/appointments', {
      service_id: salon.cut,
      staff_id: salon.ana,
      contact_id: salon.contactId,
      starts_at: monday('10:00'),
    });
    const after = (await slots()).map((s) => s.start);
    // 10:00–10:40 taken (cleaning included); a slot's own cleaning may not run into it either.
    for (const taken of ['09:30', '09:45', '10:00', '10:15', '10:30']) {
      expect(after).not.toContain(iso(monday(taken)));
    }
    expect(after).toContain(iso(monday('09:15')));
    expect(after).toContain(iso(monday('10:45')));
  });

  it("answers 404 for another tenant's service or staff, booking nothing", async ({
    harness: h,
    sql,
    tenant: t,
    otherTenant: b,
  }) => {
    const salon = await createSalon(sql, t);
    for (const body of [
      { service_id: await foreignService(sql, b), staff_id: salon.ana },
      { service_id: salon.cut, staff_id: await foreignStaff(sql, b) },
    ]) {
      const res = await send(h, t.owner, 'POST', '/admin/appointments', {
        ...body,
        contact_id: salon.contactId,
        starts_at: monday('15:00'),
      });
      expect(res.status).toBe(404);
    }
    expect(await sql`select 1 from appointments where tenant_id = ${t.tenantId}`).toHaveLength(0);
  });

  it.for([
    ['/admin/appointments?from=2027-03-07&to=2027-03-01', 'to: must not be before from'],
    ['/admin/appointments?from=2027-03-01&to=2027-06-01', 'at most 62 days'],
    ['/admin/appointments?from=2027-02-30&to=2027-03-01', 'from: must be a date the calendar has'],
    ['/admin/appointments?to=2027-03-01', 'from'],
    ['/admin/availability?from=2027-03-01&to=2027-03-01', 'service_id'],
  ])('refuses %s naming the problem', async ([path, message], { harness: h, tenant: t }) => {
    const res = await h.asUser(t.agent, path as string);
    expect(res.status).toBe(400);
    expect(((await res.json()) as ErrorBody).error.message).toContain(message);
  });

  it('refuses a start without a time zone offset', async ({ harness: h, tenant: t }) => {
    const res = await send(h, t.agent, 'POST', '/admin/appointments', {
      service_id: someId,
      staff_id: someId,
      contact_id: someId,
      starts_at: '2027-03-01 09:00',
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as ErrorBody).error.message).toContain('starts_at');
  });
});
