import type postgres from 'postgres';
import {
  addDays,
  isoWeekday,
  type LocalDate,
  localDateOf,
  zonedInstant,
} from '../core/appointments/availability';

/**
 * The demo tenants' bookable business (docs/appointments.md, "Demo tenants"): services, staff with
 * weekly hours, the next public holiday on a working day, and a few appointments in the coming
 * days. Fixed ids keep it idempotent; hours and who-does-what are written only with a new staff
 * member or service, so an operator's edits stay. Times are wall-clock in the tenant's zone.
 */
type DemoService = {
  id: string;
  name: string;
  names: Record<string, string>;
  durationMinutes: number;
  bufferAfterMinutes: number;
  priceMinor: number | null;
  currency: string | null;
};
type DemoStaff = {
  id: string;
  name: string;
  /** ISO weekday (1 = Monday) → shifts, `[start, end]` local. */
  hours: Record<number, Array<[string, string]>>;
  services: string[];
};
type DemoContact = { id: string; name: string; phone: string };
type DemoAppointment = {
  contact: string;
  service: string;
  staff: string;
  /** The nth day (1 = the first) after today on which the staff member works. */
  workday: number;
  time: string;
  status: 'pending' | 'confirmed';
};
type DemoBusiness = {
  services: DemoService[];
  staff: DemoStaff[];
  /** Fixed-date public holidays, `MM-DD`: the next one on a working day closes the business. */
  holidays: Record<string, string>;
  contacts: DemoContact[];
  appointments: DemoAppointment[];
};

const days = (weekdays: number[], shifts: Array<[string, string]>) =>
  Object.fromEntries(weekdays.map((d) => [d, shifts]));
const MON_FRI = [1, 2, 3, 4, 5];

const SONRISA = {
  cleaning: '11111111-bbbb-4bbb-8bbb-000000000001',
  checkUp: '11111111-bbbb-4bbb-8bbb-000000000002',
  whitening: '11111111-bbbb-4bbb-8bbb-000000000003',
  lopez: '11111111-cccc-4ccc-8ccc-000000000001',
  ruiz: '11111111-cccc-4ccc-8ccc-000000000002',
  lucia: '11111111-dddd-4ddd-8ddd-000000000001',
  pablo: '11111111-dddd-4ddd-8ddd-000000000002',
};
const GLOW = {
  haircut: '22222222-bbbb-4bbb-8bbb-000000000001',
  color: '22222222-bbbb-4bbb-8bbb-000000000002',
  maya: '22222222-cccc-4ccc-8ccc-000000000001',
  jordan: '22222222-cccc-4ccc-8ccc-000000000002',
  emily: '22222222-dddd-4ddd-8ddd-000000000001',
  daniel: '22222222-dddd-4ddd-8ddd-000000000002',
};

const DEMO: Record<string, DemoBusiness> = {
  'clinica-sonrisa': {
    // Prices as the knowledge base states them (check-ups free, whitening from 150 €).
    services: [
      {
        id: SONRISA.cleaning,
        name: 'Limpieza dental',
        names: { es: 'Limpieza dental', en: 'Dental cleaning' },
        durationMinutes: 45,
        bufferAfterMinutes: 15,
        priceMinor: 6000,
        currency: 'EUR',
      },
      {
        id: SONRISA.checkUp,
        name: 'Revisión',
        names: { es: 'Revisión', en: 'Check-up' },
        durationMinutes: 30,
        bufferAfterMinutes: 0,
        priceMinor: 0,
        currency: 'EUR',
      },
      {
        id: SONRISA.whitening,
        name: 'Blanqueamiento',
        names: { es: 'Blanqueamiento', en: 'Teeth whitening' },
        durationMinutes: 60,
        bufferAfterMinutes: 15,
        priceMinor: 15000,
        currency: 'EUR',
      },
    ],
    staff: [
      {
        id: SONRISA.lopez,
        name: 'Dra. Marta López',
        // The clinic opens on Saturday mornings (its knowledge base says so): she covers them.
        hours: {
          ...days(MON_FRI, [
            ['09:00', '14:00'],
            ['16:00', '20:00'],
          ]),
          6: [['10:00', '14:00']],
        },
        services: [SONRISA.cleaning, SONRISA.checkUp, SONRISA.whitening],
      },
      {
        id: SONRISA.ruiz,
        name: 'Dr. Javier Ruiz',
        hours: days(MON_FRI, [
          ['09:00', '14:00'],
          ['16:00', '20:00'],
        ]),
        services: [SONRISA.cleaning, SONRISA.checkUp],
      },
    ],
    // National and Community of Madrid holidays that fall on a fixed date.
    holidays: {
      '01-01': 'Año Nuevo',
      '01-06': 'Reyes',
      '05-01': 'Día del Trabajo',
      '05-02': 'Fiesta de la Comunidad de Madrid',
      '05-15': 'San Isidro',
      '08-15': 'Asunción',
      '10-12': 'Fiesta Nacional',
      '11-01': 'Todos los Santos',
      '11-09': 'Almudena',
      '12-06': 'Día de la Constitución',
      '12-08': 'Inmaculada Concepción',
      '12-25': 'Navidad',
    },
    contacts: [
      { id: SONRISA.lucia, name: 'Lucía Fernández', phone: '34600333444' },
      { id: SONRISA.pablo, name: 'Pablo Gómez', phone: '34600555666' },
    ],
    appointments: [
      {
        contact: SONRISA.lucia,
        service: SONRISA.cleaning,
        staff: SONRISA.lopez,
        workday: 1,
        time: '10:00',
        status: 'confirmed',
      },
      {
        contact: SONRISA.pablo,
        service: SONRISA.checkUp,
        staff: SONRISA.ruiz,
        workday: 1,
        time: '17:30',
        status: 'confirmed',
      },
      {
        contact: SONRISA.pablo,
        service: SONRISA.whitening,
        staff: SONRISA.lopez,
        workday: 3,
        time: '12:00',
        status: 'pending',
      },
    ],
  },
  'glow-salon': {
    services: [
      {
        id: GLOW.haircut,
        name: 'Haircut',
        names: { en: 'Haircut', es: 'Corte de pelo' },
        durationMinutes: 30,
        bufferAfterMinutes: 0,
        priceMinor: 5500,
        currency: 'USD',
      },
      {
        id: GLOW.color,
        name: 'Color',
        names: { en: 'Color', es: 'Color' },
        durationMinutes: 90,
        bufferAfterMinutes: 15,
        priceMinor: 12000,
        currency: 'USD',
      },
    ],
    staff: [
      {
        id: GLOW.maya,
        name: 'Maya',
        hours: days([2, 3, 4, 5, 6], [['10:00', '19:00']]),
        services: [GLOW.haircut, GLOW.color],
      },
      {
        id: GLOW.jordan,
        name: 'Jordan',
        hours: days([2, 3, 4, 5, 6], [['10:00', '19:00']]),
        services: [GLOW.haircut, GLOW.color],
      },
    ],
    // Federal holidays on a fixed date.
    holidays: {
      '01-01': "New Year's Day",
      '06-19': 'Juneteenth',
      '07-04': 'Independence Day',
      '11-11': 'Veterans Day',
      '12-25': 'Christmas Day',
    },
    contacts: [
      { id: GLOW.emily, name: 'Emily Carter', phone: '17185550123' },
      { id: GLOW.daniel, name: 'Daniel Brooks', phone: '17185550188' },
    ],
    appointments: [
      {
        contact: GLOW.emily,
        service: GLOW.haircut,
        staff: GLOW.maya,
        workday: 1,
        time: '11:00',
        status: 'confirmed',
      },
      {
        contact: GLOW.daniel,
        service: GLOW.color,
        staff: GLOW.jordan,
        workday: 2,
        time: '14:00',
        status: 'confirmed',
      },
      {
        contact: GLOW.emily,
        service: GLOW.haircut,
        staff: GLOW.jordan,
        workday: 4,
        time: '10:30',
        status: 'pending',
      },
    ],
  },
};

/** The demo business of the tenant with this slug, if it has one (for tests and docs). */
export function demoBusiness(slug: string): DemoBusiness | undefined {
  return DEMO[slug];
}

/** The first local date on or after `from` that is one of `holidays` and a day someone works. */
export function nextHoliday(
  business: Pick<DemoBusiness, 'holidays' | 'staff'>,
  from: LocalDate,
): { date: LocalDate; name: string } | undefined {
  const worked = new Set(business.staff.flatMap((s) => Object.keys(s.hours).map(Number)));
  for (let date = from, i = 0; i < 366; date = addDays(date, 1), i++) {
    const name = business.holidays[date.slice(5)];
    if (name && worked.has(isoWeekday(date))) return { date, name };
  }
  return undefined;
}

/** The nth date after `today` on which `staff` works, skipping `closed` dates. */
function nthWorkday(staff: DemoStaff, today: LocalDate, n: number, closed: Set<LocalDate>) {
  let date = today;
  for (let found = 0; found < n; ) {
    date = addDays(date, 1);
    if (staff.hours[isoWeekday(date)] && !closed.has(date)) found++;
  }
  return date;
}

const minutesOf = (time: string) => {
  const [h, m] = time.split(':').map(Number) as [number, number];
  return h * 60 + m;
};

/**
 * Loads the demo business of a demo tenant (nothing for other slugs). Appointments are booked,
 * relative to `now`, only while the tenant has none ahead: a restart days later books new ones,
 * a second run at once changes nothing.
 */
export async function seedDemoAppointments(
  sql: postgres.TransactionSql,
  tenant: { id: string; slug: string; timeZone: string },
  now: Date,
): Promise<void> {
  const demo = DEMO[tenant.slug];
  if (!demo) return;
  const tenantId = tenant.id;
  // Only where nobody has chosen a zone (the column's default).
  await sql`update tenant_settings set time_zone = ${tenant.timeZone}
    where tenant_id = ${tenantId} and time_zone = 'UTC'`;
  const [settings] = await sql<{ time_zone: string }[]>`
    select time_zone from tenant_settings where tenant_id = ${tenantId}`;
  const timeZone = settings?.time_zone ?? tenant.timeZone;

  const newServices = new Set<string>();
  for (const s of demo.services) {
    const created = await sql`insert into services (id, tenant_id, name, names, duration_minutes,
        buffer_after_minutes, price_minor, currency)
      values (${s.id}, ${tenantId}, ${s.name}, ${sql.json(s.names)}, ${s.durationMinutes},
        ${s.bufferAfterMinutes}, ${s.priceMinor}, ${s.currency})
      on conflict (id) do nothing returning id`;
    if (created.length > 0) newServices.add(s.id);
  }
  for (const member of demo.staff) {
    const created = await sql`insert into staff (id, tenant_id, name)
      values (${member.id}, ${tenantId}, ${member.name}) on conflict (id) do nothing returning id`;
    const newStaff = created.length > 0;
    for (const serviceId of member.services) {
      if (!newStaff && !newServices.has(serviceId)) continue;
      await sql`insert into service_staff (tenant_id, service_id, staff_id)
        values (${tenantId}, ${serviceId}, ${member.id}) on conflict do nothing`;
    }
    if (!newStaff) continue;
    for (const [weekday, shifts] of Object.entries(member.hours)) {
      for (const [start, end] of shifts) {
        await sql`insert into working_hours (tenant_id, staff_id, weekday, start_time, end_time)
          values (${tenantId}, ${member.id}, ${Number(weekday)}, ${start}, ${end})`;
      }
    }
  }

  const today = localDateOf(now, timeZone);
  const holiday = nextHoliday(demo, today);
  if (holiday) {
    await sql`insert into schedule_exceptions (tenant_id, staff_id, date, kind, note)
      select ${tenantId}, null, ${holiday.date}, 'holiday', ${holiday.name}
      where not exists (select 1 from schedule_exceptions where tenant_id = ${tenantId}
        and staff_id is null and date = ${holiday.date} and kind = 'holiday')`;
  }

  const contactIds = new Map<string, string>();
  for (const c of demo.contacts) {
    // A customer who wrote from this number before the seed ran is the same contact.
    const [row] = await sql<{ id: string }[]>`
      insert into contacts (id, tenant_id, channel, external_user_id, phone, name)
      values (${c.id}, ${tenantId}, 'whatsapp', ${c.phone}, ${c.phone}, ${c.name})
      on conflict (tenant_id, external_user_id, channel) do update set name = contacts.name
      returning id`;
    if (row) contactIds.set(c.id, row.id);
  }

  const [ahead] = await sql<{ n: number }[]>`select count(*)::int as n from appointments
    where tenant_id = ${tenantId} and starts_at > ${now}`;
  if ((ahead?.n ?? 0) > 0) return;
  const closed = new Set(holiday ? [holiday.date] : []);
  for (const a of demo.appointments) {
    const staff = demo.staff.find((s) => s.id === a.staff);
    const service = demo.services.find((s) => s.id === a.service);
    const contactId = contactIds.get(a.contact);
    if (!staff || !service || !contactId) throw new Error('demo appointment refers to nothing');
    const date = nthWorkday(staff, today, a.workday, closed);
    const startsAt = new Date(zonedInstant(date, minutesOf(a.time), timeZone));
    const endsAt = new Date(startsAt.getTime() + service.durationMinutes * 60_000);
    const periodEnd = new Date(endsAt.getTime() + service.bufferAfterMinutes * 60_000);
    // DO NOTHING also covers the no-overlap constraint: a time an operator took stays theirs.
    const [booked] = await sql<{ id: string }[]>`
      insert into appointments (tenant_id, contact_id, service_id, staff_id, period, starts_at,
        ends_at, status, booked_by)
      values (${tenantId}, ${contactId}, ${a.service}, ${a.staff},
        tstzrange(${startsAt}::timestamptz, ${periodEnd}::timestamptz, '[)'), ${startsAt}, ${endsAt}, ${a.status}, 'system')
      on conflict do nothing returning id`;
    if (!booked) continue;
    await sql`insert into appointment_events (tenant_id, appointment_id, kind, actor, changes)
      values (${tenantId}, ${booked.id}, 'booked', 'system', ${sql.json({
        serviceId: a.service,
        staffId: a.staff,
        startsAt: startsAt.toISOString(),
        endsAt: endsAt.toISOString(),
        status: a.status,
      })})`;
  }
}
