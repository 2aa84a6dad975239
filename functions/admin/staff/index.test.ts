import { describe, expect } from 'vitest';
import { foreignException, foreignStaff } from '../../../test/appointments';
import type { Harness } from '../../../test/harness';
import { it, must } from '../../../test/it';
import { describeOperatorSecurity } from '../../../test/operator-security';

const someId = '0b6f5a52-8c1e-4d2a-9f3b-7e4c1d2a9b60';

describeOperatorSecurity({ method: 'GET', path: '/admin/staff' });
describeOperatorSecurity({ method: 'POST', path: '/admin/staff', body: { name: 'Ana' } });
describeOperatorSecurity({
  method: 'GET',
  path: '/admin/staff/:foreignId',
  foreignId: foreignStaff,
});
describeOperatorSecurity({
  method: 'PATCH',
  path: '/admin/staff/:foreignId',
  body: { name: 'Changed' },
  foreignId: foreignStaff,
});
describeOperatorSecurity({
  method: 'DELETE',
  path: '/admin/staff/:foreignId',
  foreignId: foreignStaff,
});
describeOperatorSecurity({
  method: 'GET',
  path: '/admin/staff/:foreignId/working-hours',
  foreignId: foreignStaff,
});
describeOperatorSecurity({
  method: 'POST',
  path: '/admin/staff/:foreignId/working-hours',
  body: { weekday: 1, start_time: '09:00', end_time: '14:00' },
  foreignId: foreignStaff,
});
describeOperatorSecurity({
  method: 'PATCH',
  path: `/admin/staff/:foreignId/working-hours/${someId}`,
  body: { weekday: 2 },
  foreignId: foreignStaff,
});
describeOperatorSecurity({
  method: 'DELETE',
  path: `/admin/staff/:foreignId/working-hours/${someId}`,
  foreignId: foreignStaff,
});
describeOperatorSecurity({ method: 'GET', path: '/admin/schedule-exceptions' });
describeOperatorSecurity({
  method: 'POST',
  path: '/admin/schedule-exceptions',
  body: { date: '2027-01-06', kind: 'holiday' },
});
describeOperatorSecurity({
  method: 'PATCH',
  path: '/admin/schedule-exceptions/:foreignId',
  body: { note: 'Changed' },
  foreignId: foreignException,
});
describeOperatorSecurity({
  method: 'DELETE',
  path: '/admin/schedule-exceptions/:foreignId',
  foreignId: foreignException,
});

type User = { id: string; email: string };
type Json = Record<string, unknown> & { id: string };

const send = (h: Harness, user: User, method: string, path: string, body?: unknown) =>
  h.asUser(user, path, { method, ...(body ? { body: JSON.stringify(body) } : {}) });
const json = async (res: Response) => (await res.json()) as Json;
const items = async (res: Response) => ((await res.json()) as { items: Json[] }).items;
const errorOf = async (res: Response) =>
  ((await res.json()) as { error: { code: string; message: string } }).error;

describe('/admin/staff', () => {
  it('creates, reads, changes, lists and deletes staff', async ({ harness: h, newTenant }) => {
    const t = await newTenant('Staff');
    const created = await send(h, t.owner, 'POST', '/admin/staff', {
      name: 'Ana',
      user_id: t.agent.id,
    });
    expect(created.status).toBe(201);
    const ana = await json(created);
    expect(ana).toMatchObject({ name: 'Ana', user_id: t.agent.id, active: true });
    const renamed = await send(h, t.owner, 'PATCH', `/admin/staff/${ana.id}`, {
      name: 'Ana María',
      active: false,
    });
    expect(await json(renamed)).toMatchObject({ name: 'Ana María', active: false });
    expect(await items(await h.asUser(t.agent, '/admin/staff'))).toEqual([]);
    expect(
      (await items(await h.asUser(t.agent, '/admin/staff?include_inactive=true'))).map((s) => s.id),
    ).toEqual([ana.id]);
    expect((await send(h, t.owner, 'DELETE', `/admin/staff/${ana.id}`)).status).toBe(204);
    expect((await h.asUser(t.owner, `/admin/staff/${ana.id}`)).status).toBe(404);
  });

  it('refuses a user who is not a member, and a member twice', async ({
    harness: h,
    newTenant,
    otherTenant: b,
  }) => {
    const t = await newTenant('Staff members');
    const stranger = await send(h, t.owner, 'POST', '/admin/staff', {
      name: 'Eve',
      user_id: b.owner.id,
    });
    expect(stranger.status).toBe(400);
    expect((await errorOf(stranger)).message).toContain('not a member');
    await send(h, t.owner, 'POST', '/admin/staff', { name: 'Ana', user_id: t.agent.id });
    const twice = await send(h, t.owner, 'POST', '/admin/staff', {
      name: 'Ana again',
      user_id: t.agent.id,
    });
    expect(twice.status).toBe(409);
  });

  it('lets agents read but only owners and admins write', async ({ harness: h, tenant: t }) => {
    expect((await send(h, t.agent, 'POST', '/admin/staff', { name: 'Ana' })).status).toBe(403);
    const ana = await json(await send(h, t.owner, 'POST', '/admin/staff', { name: 'Ana' }));
    const hours = { weekday: 1, start_time: '09:00', end_time: '14:00' };
    expect(
      (await send(h, t.agent, 'POST', `/admin/staff/${ana.id}/working-hours`, hours)).status,
    ).toBe(403);
    expect(
      (
        await send(h, t.agent, 'POST', '/admin/schedule-exceptions', {
          date: '2027-01-06',
          kind: 'holiday',
        })
      ).status,
    ).toBe(403);
    expect((await h.asUser(t.agent, `/admin/staff/${ana.id}/working-hours`)).status).toBe(200);
  });

  it('keeps weekly hours: a split shift, changed and removed', async ({
    harness: h,
    tenant: t,
  }) => {
    const ana = await json(await send(h, t.owner, 'POST', '/admin/staff', { name: 'Ana' }));
    const base = `/admin/staff/${ana.id}/working-hours`;
    const afternoon = await send(h, t.owner, 'POST', base, {
      weekday: 1,
      start_time: '16:00',
      end_time: '24:00',
    });
    expect(afternoon.status).toBe(201);
    const late = await json(afternoon);
    const morning = await json(
      await send(h, t.owner, 'POST', base, { weekday: 1, start_time: '09:00', end_time: '14:00' }),
    );
    expect((await items(await h.asUser(t.agent, base))).map((r) => r.start_time)).toEqual([
      '09:00',
      '16:00',
    ]);
    expect(late).toMatchObject({ weekday: 1, start_time: '16:00', end_time: '24:00' });
    const moved = await send(h, t.owner, 'PATCH', `${base}/${morning.id}`, { weekday: 6 });
    expect(await json(moved)).toMatchObject({ weekday: 6, start_time: '09:00' });
    // The merged row breaks the order: start after the stored end.
    const reversed = await send(h, t.owner, 'PATCH', `${base}/${morning.id}`, {
      start_time: '15:00',
    });
    expect(reversed.status).toBe(400);
    expect((await errorOf(reversed)).message).toContain('end after they start');
    expect((await send(h, t.owner, 'DELETE', `${base}/${late.id}`)).status).toBe(204);
    expect(await items(await h.asUser(t.agent, base))).toHaveLength(1);
  });

  it.for([
    [{ weekday: 0, start_time: '09:00', end_time: '14:00' }, 'weekday'],
    [{ weekday: 8, start_time: '09:00', end_time: '14:00' }, 'weekday'],
    [{ weekday: 1, start_time: '9:00', end_time: '14:00' }, 'start_time: must be HH:MM'],
    [{ weekday: 1, start_time: '14:00', end_time: '09:00' }, 'end_time: must be after start_time'],
    [{ weekday: 1, start_time: '24:00', end_time: '24:00' }, 'start_time'],
  ] as Array<[unknown, string]>)(
    'refuses hours %j naming the problem',
    async ([body, message], { harness: h, tenant: t }) => {
      const ana = await json(await send(h, t.owner, 'POST', '/admin/staff', { name: 'Ana' }));
      const res = await send(h, t.owner, 'POST', `/admin/staff/${ana.id}/working-hours`, body);
      expect(res.status).toBe(400);
      expect((await errorOf(res)).message).toContain(message);
    },
  );

  it("answers 404 for another tenant's hours, even under its own staff id", async ({
    harness: h,
    sql,
    tenant: t,
    otherTenant: b,
  }) => {
    const theirStaff = await foreignStaff(sql, b);
    const [row] =
      await sql`insert into working_hours (tenant_id, staff_id, weekday, start_time, end_time)
      values (${b.tenantId}, ${theirStaff}, 1, '09:00', '14:00') returning id`;
    const path = `/admin/staff/${theirStaff}/working-hours/${must(row, 'hours').id}`;
    expect((await send(h, t.owner, 'PATCH', path, { weekday: 2 })).status).toBe(404);
    expect((await send(h, t.owner, 'DELETE', path)).status).toBe(404);
    const [kept] = await sql`select weekday from working_hours where id = ${must(row, 'hours').id}`;
    expect(kept?.weekday).toBe(1);
  });
});

describe('/admin/schedule-exceptions', () => {
  it('keeps dated exceptions of one member or everyone', async ({ harness: h, newTenant }) => {
    const t = await newTenant('Exceptions');
    const ana = await json(await send(h, t.owner, 'POST', '/admin/staff', { name: 'Ana' }));
    const ben = await json(await send(h, t.owner, 'POST', '/admin/staff', { name: 'Ben' }));
    const holiday = await send(h, t.owner, 'POST', '/admin/schedule-exceptions', {
      date: '2027-01-06',
      kind: 'holiday',
      note: 'Reyes',
    });
    expect(holiday.status).toBe(201);
    expect(await json(holiday)).toMatchObject({
      staff_id: null,
      date: '2027-01-06',
      kind: 'holiday',
      start_time: null,
      end_time: null,
      note: 'Reyes',
    });
    const extra = await json(
      await send(h, t.owner, 'POST', '/admin/schedule-exceptions', {
        staff_id: ana.id,
        date: '2027-01-09',
        kind: 'extra_hours',
        start_time: '10:00',
        end_time: '13:00',
      }),
    );
    await send(h, t.owner, 'POST', '/admin/schedule-exceptions', {
      staff_id: ben.id,
      date: '2027-01-08',
      kind: 'closed',
    });
    const forAna = await items(
      await h.asUser(
        t.agent,
        `/admin/schedule-exceptions?from=2027-01-01&to=2027-01-31&staff_id=${ana.id}`,
      ),
    );
    expect(forAna.map((e) => [e.date, e.kind])).toEqual([
      ['2027-01-06', 'holiday'],
      ['2027-01-09', 'extra_hours'],
    ]);
    const patched = await send(h, t.owner, 'PATCH', `/admin/schedule-exceptions/${extra.id}`, {
      end_time: '14:30',
    });
    expect(await json(patched)).toMatchObject({ start_time: '10:00', end_time: '14:30' });
    const untimed = await send(h, t.owner, 'PATCH', `/admin/schedule-exceptions/${extra.id}`, {
      start_time: null,
    });
    expect(untimed.status).toBe(400);
    expect(
      (await send(h, t.owner, 'DELETE', `/admin/schedule-exceptions/${extra.id}`)).status,
    ).toBe(204);
    expect(
      await items(
        await h.asUser(t.agent, '/admin/schedule-exceptions?from=2027-01-09&to=2027-01-09'),
      ),
    ).toEqual([]);
  });

  it("refuses another tenant's staff member (404)", async ({
    harness: h,
    sql,
    tenant: t,
    otherTenant: b,
  }) => {
    const res = await send(h, t.owner, 'POST', '/admin/schedule-exceptions', {
      staff_id: await foreignStaff(sql, b),
      date: '2027-01-06',
      kind: 'closed',
    });
    expect(res.status).toBe(404);
  });

  it.for([
    [{ date: '2027-02-30', kind: 'closed' }, 'date: must be a date the calendar has'],
    [{ date: '06/01/2027', kind: 'closed' }, 'date: must be a date, YYYY-MM-DD'],
    [{ date: '2027-01-06', kind: 'vacation' }, 'kind'],
    [{ date: '2027-01-06', kind: 'extra_hours' }, 'extra_hours need times'],
    [{ date: '2027-01-06', kind: 'closed', start_time: '14:00' }, 'give both times, or neither'],
    [
      { date: '2027-01-06', kind: 'closed', start_time: '14:00', end_time: '13:00' },
      'end_time: must be after start_time',
    ],
  ] as Array<[unknown, string]>)(
    'refuses %j naming the problem',
    async ([body, message], { harness: h, tenant: t }) => {
      const res = await send(h, t.owner, 'POST', '/admin/schedule-exceptions', body);
      expect(res.status).toBe(400);
      expect((await errorOf(res)).message).toContain(message);
    },
  );
});
