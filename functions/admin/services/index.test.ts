import { describe, expect } from 'vitest';
import { createSalon, foreignService, foreignStaff } from '../../../test/appointments';
import type { Harness } from '../../../test/harness';
import { it } from '../../../test/it';
import { describeOperatorSecurity } from '../../../test/operator-security';

describeOperatorSecurity({ method: 'GET', path: '/admin/services' });
describeOperatorSecurity({
  method: 'POST',
  path: '/admin/services',
  body: { name: 'Cut', duration_minutes: 30 },
});
describeOperatorSecurity({
  method: 'GET',
  path: '/admin/services/:foreignId',
  foreignId: foreignService,
});
describeOperatorSecurity({
  method: 'PATCH',
  path: '/admin/services/:foreignId',
  body: { name: 'Changed' },
  foreignId: foreignService,
});
describeOperatorSecurity({
  method: 'DELETE',
  path: '/admin/services/:foreignId',
  foreignId: foreignService,
});

type Service = {
  id: string;
  name: string;
  price_minor: number | null;
  currency: string | null;
  staff_ids: string[];
  active: boolean;
};
type User = { id: string; email: string };

const send = (h: Harness, user: User, method: string, path: string, body?: unknown) =>
  h.asUser(user, path, { method, ...(body ? { body: JSON.stringify(body) } : {}) });

async function errorOf(res: Response) {
  return ((await res.json()) as { error: { code: string; message: string } }).error;
}

describe('/admin/services', () => {
  it('creates, reads, changes performers, lists and deletes services', async ({
    harness: h,
    sql,
    newTenant,
  }) => {
    const t = await newTenant('Services');
    const ana = (await (
      await send(h, t.owner, 'POST', '/admin/staff', { name: 'Ana' })
    ).json()) as {
      id: string;
    };
    const created = await send(h, t.owner, 'POST', '/admin/services', {
      name: 'Haircut',
      names: { es: 'Corte' },
      duration_minutes: 30,
      buffer_after_minutes: 10,
      price_minor: 2500,
      currency: 'EUR',
      staff_ids: [ana.id],
    });
    expect(created.status).toBe(201);
    const cut = (await created.json()) as Service;
    expect(cut).toMatchObject({
      name: 'Haircut',
      names: { es: 'Corte' },
      duration_minutes: 30,
      buffer_before_minutes: 0,
      buffer_after_minutes: 10,
      price_minor: 2500,
      currency: 'EUR',
      bookable: true,
      requires_assessment: false,
      active: true,
      recall_after_days: null,
      staff_ids: [ana.id],
    });
    const [stored] = await sql`select tenant_id from services where id = ${cut.id}`;
    expect(stored?.tenant_id).toBe(t.tenantId);

    const patched = await send(h, t.owner, 'PATCH', `/admin/services/${cut.id}`, {
      staff_ids: [],
      active: false,
      recall_after_days: 42,
    });
    expect(await patched.json()).toMatchObject({
      staff_ids: [],
      active: false,
      name: 'Haircut',
      recall_after_days: 42,
    });
    const [recall] = await sql`select recall_after_days from services where id = ${cut.id}`;
    expect(recall).toEqual({ recall_after_days: 42 });
    const noRecall = await send(h, t.owner, 'PATCH', `/admin/services/${cut.id}`, {
      recall_after_days: 0,
    });
    expect(noRecall.status).toBe(400);

    const active = (await (await h.asUser(t.agent, '/admin/services')).json()) as {
      items: Service[];
    };
    expect(active.items).toEqual([]);
    const all = (await (
      await h.asUser(t.agent, '/admin/services?include_inactive=true')
    ).json()) as { items: Service[] };
    expect(all.items.map((s) => s.id)).toEqual([cut.id]);
    expect((await h.asUser(t.agent, `/admin/services/${cut.id}`)).status).toBe(200);

    expect((await send(h, t.owner, 'DELETE', `/admin/services/${cut.id}`)).status).toBe(204);
    expect((await h.asUser(t.owner, `/admin/services/${cut.id}`)).status).toBe(404);
  });

  it('refuses to delete a booked service (409): it is retired instead', async ({
    harness: h,
    sql,
    tenant: t,
  }) => {
    const salon = await createSalon(sql, t);
    await sql`insert into appointments (tenant_id, contact_id, service_id, staff_id, period, starts_at, ends_at, booked_by)
      values (${t.tenantId}, ${salon.contactId}, ${salon.cut}, ${salon.ana},
        tstzrange('2030-01-07 09:00Z', '2030-01-07 09:40Z'), '2030-01-07 09:00Z', '2030-01-07 09:30Z', 'operator')`;
    const res = await send(h, t.owner, 'DELETE', `/admin/services/${salon.cut}`);
    expect(res.status).toBe(409);
    expect((await errorOf(res)).message).toContain('retire it');
  });

  it('lets agents read but only owners and admins write', async ({ harness: h, tenant: t }) => {
    const res = await send(h, t.agent, 'POST', '/admin/services', {
      name: 'Cut',
      duration_minutes: 30,
    });
    expect(res.status).toBe(403);
    expect((await h.asUser(t.agent, '/admin/services')).status).toBe(200);
  });

  it("refuses another tenant's staff as performers (404)", async ({
    harness: h,
    sql,
    tenant: t,
    otherTenant: b,
  }) => {
    const theirs = await foreignStaff(sql, b);
    const res = await send(h, t.owner, 'POST', '/admin/services', {
      name: 'Cut',
      duration_minutes: 30,
      staff_ids: [theirs],
    });
    expect(res.status).toBe(404);
    expect(
      await sql`select 1 from services where tenant_id = ${t.tenantId} and name = 'Cut'`,
    ).toHaveLength(0);
  });

  it.for([
    [{ name: 'Cut', duration_minutes: 0 }, 'duration_minutes'],
    [{ name: 'Cut', duration_minutes: 30, buffer_before_minutes: -5 }, 'buffer_before_minutes'],
    [{ name: 'Cut', duration_minutes: 30, price_minor: 100, currency: 'euro' }, 'ISO 4217'],
    [{ name: 'Cut', duration_minutes: 30, price_minor: 100 }, 'currency: a price needs a currency'],
    [{ name: 'Cut', duration_minutes: 30, names: { spanish: 'Corte' } }, 'names.spanish'],
    [{ name: '', duration_minutes: 30 }, 'name'],
    [{ name: 'Cut', duration_minutes: 30, staff_ids: ['x'] }, 'staff_ids'],
  ] as Array<[unknown, string]>)(
    'refuses %j naming the problem',
    async ([body, message], { harness: h, tenant: t }) => {
      const res = await send(h, t.owner, 'POST', '/admin/services', body);
      expect(res.status).toBe(400);
      expect((await errorOf(res)).message).toContain(message);
    },
  );

  it('refuses a price patched onto a service without a currency (400)', async ({
    harness: h,
    tenant: t,
  }) => {
    const created = (await (
      await send(h, t.owner, 'POST', '/admin/services', { name: 'Consult', duration_minutes: 20 })
    ).json()) as Service;
    const res = await send(h, t.owner, 'PATCH', `/admin/services/${created.id}`, {
      price_minor: 1000,
    });
    expect(res.status).toBe(400);
    expect((await errorOf(res)).message).toContain('A price needs a currency');
  });
});
