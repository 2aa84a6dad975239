import type postgres from 'postgres';
import { addDays, localDateOf, zonedInstant } from '../core/appointments/availability';

/**
 * The demo tenants' follow-up histories (docs/follow-ups.md, "Demo"): per business, one customer
 * each detector finds (asked a price and did not book; due back for a recall; a no-show or a
 * cancellation not rebooked; quiet after a handoff) and a staff contact on WhatsApp who gets the
 * cards. Dated relative to `now` when first seeded: fixed ids keep a second run from adding
 * anything, and a scan finds each once (the evidence key), so a fresh `.local/` gives fresh ones.
 *
 * Three of the four customers also wrote an hour or so before the seed, so their 24-hour window is
 * open and a free-form follow-up may be sent (follow-ups outside the window need a template); the
 * handed-off one cannot have (waiting 24 hours is what finds them). The staff contact says good
 * morning to the business number whenever the last time is 20 hours old, so the cards (free-form
 * buttons) can reach them at the Graph stand-in: in production staff must have written to the
 * number within 24 hours too.
 */
type DemoMessage = { text: string; hoursAgo: number };
type DemoCustomer = {
  contact: string;
  conversation: string;
  name: string;
  phone: string;
  messages: DemoMessage[];
  /** A past appointment of theirs: completed (recall) or missed / cancelled. */
  appointment?: {
    id: string;
    service: string;
    staff: string;
    daysAgo: number;
    /** Its start, local time in minutes after midnight. */
    at: number;
    status: 'completed' | 'no_show' | 'cancelled';
    bookedDaysAgo: number;
    /** When it was cancelled, days ago; a visit or a no-show is marked two hours after its start. */
    cancelledDaysAgo?: number;
  };
  /** Handed to a person (an escalation) this many hours ago, and still locked. */
  handedOffHoursAgo?: number;
};
type DemoFollowUps = {
  staff: { contact: string; conversation: string; name: string; phone: string; hello: string };
  /** Services due back after this many days (services.recall_after_days). */
  recalls: Record<string, number>;
  customers: DemoCustomer[];
};

const HOUR = 3_600_000;

/** Ids: the tenant's prefix, `eeee` contacts, `ffff` conversations, `aaaa` appointments. */
const id = (tenant: '1' | '2', kind: 'e' | 'f' | 'a', n: number) =>
  `${tenant.repeat(8)}-${kind.repeat(4)}-4${kind.repeat(3)}-8${kind.repeat(3)}-${String(n).padStart(12, '0')}`;

const DEMO: Record<string, DemoFollowUps> = {
  'clinica-sonrisa': {
    staff: {
      contact: id('1', 'e', 100),
      conversation: id('1', 'f', 100),
      name: 'Marta (recepción)',
      phone: '34600999001',
      hello: 'Buenos días',
    },
    // Limpieza dental: every six months.
    recalls: { '11111111-bbbb-4bbb-8bbb-000000000001': 180 },
    customers: [
      {
        contact: id('1', 'e', 1),
        conversation: id('1', 'f', 1),
        name: 'Carmen Ruiz',
        phone: '34600700001',
        messages: [
          { text: 'Hola, ¿cuánto cuesta el blanqueamiento?', hoursAgo: 5 * 24 },
          { text: 'Vale, gracias. Lo hablo en casa y os digo.', hoursAgo: 1 },
        ],
      },
      {
        contact: id('1', 'e', 2),
        conversation: id('1', 'f', 2),
        name: 'Javier Moreno',
        phone: '34600700002',
        messages: [
          { text: 'Hola, quería pedir cita para una limpieza', hoursAgo: 190 * 24 },
          { text: '¡Hola! ¿Qué horario tenéis en verano?', hoursAgo: 2 },
        ],
        appointment: {
          id: id('1', 'a', 2),
          service: '11111111-bbbb-4bbb-8bbb-000000000001',
          staff: '11111111-cccc-4ccc-8ccc-000000000001',
          daysAgo: 185,
          at: 10 * 60,
          status: 'completed',
          bookedDaysAgo: 190,
        },
      },
      {
        contact: id('1', 'e', 3),
        conversation: id('1', 'f', 3),
        name: 'Elena Sanz',
        phone: '34600700003',
        messages: [
          { text: 'Hola, ¿tenéis hueco esta semana?', hoursAgo: 10 * 24 },
          { text: 'Perdón por lo del martes, tuve un imprevisto.', hoursAgo: 3 },
        ],
        appointment: {
          id: id('1', 'a', 3),
          service: '11111111-bbbb-4bbb-8bbb-000000000002',
          staff: '11111111-cccc-4ccc-8ccc-000000000002',
          daysAgo: 3,
          at: 17 * 60 + 30,
          status: 'no_show',
          bookedDaysAgo: 10,
        },
      },
      {
        contact: id('1', 'e', 4),
        conversation: id('1', 'f', 4),
        name: 'Andrés Vidal',
        phone: '34600700004',
        messages: [
          { text: 'Quiero hablar con una persona, por favor.', hoursAgo: 32 },
          { text: '¿Hola? ¿Hay alguien?', hoursAgo: 30 },
        ],
        handedOffHoursAgo: 32,
      },
    ],
  },
  'glow-salon': {
    staff: {
      contact: id('2', 'e', 100),
      conversation: id('2', 'f', 100),
      name: 'Sam (front desk)',
      phone: '17185550999',
      hello: 'Good morning',
    },
    // Haircut: every six weeks.
    recalls: { '22222222-bbbb-4bbb-8bbb-000000000001': 42 },
    customers: [
      {
        contact: id('2', 'e', 1),
        conversation: id('2', 'f', 1),
        name: 'Olivia Bennett',
        phone: '17185550301',
        messages: [
          { text: 'Hi! How much is a color?', hoursAgo: 5 * 24 },
          { text: "Thanks, I'll check my calendar and get back to you.", hoursAgo: 1 },
        ],
      },
      {
        contact: id('2', 'e', 2),
        conversation: id('2', 'f', 2),
        name: 'Marcus Lee',
        phone: '17185550302',
        messages: [
          { text: 'Hi, can I come in on Friday?', hoursAgo: 46 * 24 },
          { text: 'Hey, is there parking nearby?', hoursAgo: 2 },
        ],
        appointment: {
          id: id('2', 'a', 2),
          service: '22222222-bbbb-4bbb-8bbb-000000000001',
          staff: '22222222-cccc-4ccc-8ccc-000000000001',
          daysAgo: 45,
          at: 11 * 60,
          status: 'completed',
          bookedDaysAgo: 46,
        },
      },
      {
        contact: id('2', 'e', 3),
        conversation: id('2', 'f', 3),
        name: 'Sofia Martinez',
        phone: '17185550303',
        messages: [
          { text: "Hi, I'd like to book something for next week", hoursAgo: 8 * 24 },
          { text: 'Sorry I had to cancel!', hoursAgo: 3 },
        ],
        appointment: {
          id: id('2', 'a', 3),
          service: '22222222-bbbb-4bbb-8bbb-000000000002',
          staff: '22222222-cccc-4ccc-8ccc-000000000002',
          daysAgo: 2,
          at: 14 * 60,
          status: 'cancelled',
          bookedDaysAgo: 8,
          cancelledDaysAgo: 4,
        },
      },
      {
        contact: id('2', 'e', 4),
        conversation: id('2', 'f', 4),
        name: 'Ethan Walker',
        phone: '17185550304',
        messages: [
          { text: 'Can I talk to a real person, please?', hoursAgo: 32 },
          { text: 'Hello? Anyone there?', hoursAgo: 30 },
        ],
        handedOffHoursAgo: 32,
      },
    ],
  },
};

/** The demo follow-up histories of the tenant with this slug (for tests and docs). */
export function demoFollowUps(slug: string): DemoFollowUps | undefined {
  return DEMO[slug];
}

/**
 * Loads a demo tenant's follow-up histories (nothing for other slugs); after its bookable business
 * (dev/seed-appointments.ts: the services and staff they refer to). Idempotent: fixed ids, and the
 * staff contact (escalation_contacts) only where the business has none.
 */
export async function seedDemoFollowUps(
  sql: postgres.TransactionSql,
  tenant: { id: string; slug: string },
  now: Date,
): Promise<void> {
  const demo = DEMO[tenant.slug];
  if (!demo) return;
  const tenantId = tenant.id;
  const at = (hoursAgo: number) => new Date(now.getTime() - hoursAgo * HOUR);
  const [settings] = await sql<{ time_zone: string }[]>`
    select time_zone from tenant_settings where tenant_id = ${tenantId}`;
  const timeZone = settings?.time_zone ?? 'UTC';
  const [account] = await sql<{ id: string }[]>`select id from channel_accounts
    where tenant_id = ${tenantId} and channel = 'whatsapp' order by created_at, provider, id limit 1`;
  if (!account) return;

  await sql`update tenant_settings set escalation_contacts = ${sql.json([
    { name: demo.staff.name, whatsapp: demo.staff.phone },
  ])} where tenant_id = ${tenantId} and escalation_contacts = '[]'::jsonb`;
  for (const [serviceId, days] of Object.entries(demo.recalls)) {
    await sql`update services set recall_after_days = ${days}
      where tenant_id = ${tenantId} and id = ${serviceId} and recall_after_days is null`;
  }

  /** A contact and their WhatsApp conversation; the ids of the ones already there. */
  const thread = async (c: {
    contact: string;
    conversation: string;
    name: string;
    phone: string;
  }) => {
    // A customer who wrote from this number before the seed ran is the same contact.
    const [contact] = await sql<{ id: string }[]>`
      insert into contacts (id, tenant_id, channel, external_user_id, phone, name)
      values (${c.contact}, ${tenantId}, 'whatsapp', ${c.phone}, ${c.phone}, ${c.name})
      on conflict (tenant_id, external_user_id, channel) do update set name = contacts.name
      returning id`;
    if (!contact) throw new Error(`demo contact ${c.name} not stored`);
    const [conversation] = await sql<{ id: string }[]>`
      insert into conversations (id, tenant_id, contact_id, channel_account_id)
      values (${c.conversation}, ${tenantId}, ${contact.id}, ${account.id})
      on conflict (channel_account_id, contact_id) do update set contact_id = excluded.contact_id
      returning id`;
    if (!conversation) throw new Error(`demo conversation of ${c.name} not stored`);
    return { contactId: contact.id, conversationId: conversation.id };
  };
  const said = async (conversationId: string, providerId: string, text: string, when: Date) => {
    const [row] = await sql`insert into messages (tenant_id, conversation_id, channel_account_id,
        direction, sender, type, content, provider_message_id, provider_timestamp, received_at, status)
      values (${tenantId}, ${conversationId}, ${account.id}, 'inbound', 'user', 'text', ${text},
        ${providerId}, ${when}, ${when}, 'received')
      on conflict (channel_account_id, provider_message_id) do nothing returning id`;
    if (!row) return;
    await sql`update conversations set
        last_inbound_at = greatest(last_inbound_at, ${when}::timestamptz),
        last_message_at = greatest(last_message_at, ${when}::timestamptz)
      where id = ${conversationId}`;
  };

  for (const [n, c] of demo.customers.entries()) {
    const { contactId, conversationId } = await thread(c);
    for (const [m, message] of c.messages.entries()) {
      await said(
        conversationId,
        `wamid.DEMO-FOLLOW-UP-${tenant.slug}-${n}-${m}`,
        message.text,
        at(message.hoursAgo),
      );
    }
    const a = c.appointment;
    if (a) {
      const day = addDays(localDateOf(now, timeZone), -a.daysAgo);
      const startsAt = new Date(zonedInstant(day, a.at, timeZone));
      const endsAt = new Date(startsAt.getTime() + 30 * 60_000);
      const marked =
        a.cancelledDaysAgo === undefined
          ? new Date(startsAt.getTime() + 2 * HOUR)
          : at(a.cancelledDaysAgo * 24);
      await sql`insert into appointments (id, tenant_id, contact_id, conversation_id, service_id,
          staff_id, period, starts_at, ends_at, status, booked_by, created_at, updated_at)
        values (${a.id}, ${tenantId}, ${contactId}, ${conversationId}, ${a.service}, ${a.staff},
          tstzrange(${startsAt}::timestamptz, ${endsAt}::timestamptz, '[)'), ${startsAt}, ${endsAt},
          ${a.status}, 'agent', ${at(a.bookedDaysAgo * 24)}, ${marked})
        on conflict do nothing`;
    }
    if (c.handedOffHoursAgo !== undefined) {
      await sql`update conversations set is_locked = true, locked_by = 'escalation',
          locked_at = ${at(c.handedOffHoursAgo)}, lock_reason = ${'The customer asked for a person'}
        where id = ${conversationId} and not is_locked`;
    }
  }

  // The staff contact's good morning: their window open for the cards (see above).
  const staff = await thread(demo.staff);
  const [recent] = await sql`select 1 from conversations where id = ${staff.conversationId}
    and last_inbound_at > ${at(20)}`;
  if (!recent) {
    await said(
      staff.conversationId,
      `wamid.DEMO-STAFF-${tenant.slug}-${now.getTime()}`,
      demo.staff.hello,
      now,
    );
  }
}
