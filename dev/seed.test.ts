import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { localDateOf } from '../core/appointments/availability';
import { findFreeSlots } from '../db/appointments';
import { asTenant, connect } from '../db/client';
import { encryptSecret } from '../functions/lib/crypto';
import { customerWrites, graphSends } from '../test/agent';
import { TEST_ENCRYPTION_KEY, TEST_GRAPH_TOKEN, type TenantFixture } from '../test/fixtures';
import { createHarness, type Harness } from '../test/harness';
import { must } from '../test/must';
import { zoneAtLocalHour } from '../test/opportunities';
import { demoTenants, ports } from './local-config';
import { seedDemo } from './seed';
import { demoBusiness, nextHoliday } from './seed-appointments';
import { demoFollowUps } from './seed-follow-ups';

const DAY = 86_400_000;

describe('demo seed', () => {
  const sql = postgres(inject('databaseUrl'), { max: 1, onnotice: () => {} });
  const { db, close } = connect(inject('databaseUrl'));
  afterAll(async () => {
    await sql.end();
    await close();
  });
  const ids = demoTenants.map((t) => t.id);

  /** Every row the demo business seeds, for comparing one seeding with the next. */
  async function bookableRows() {
    const tables = [
      'services',
      'staff',
      'service_staff',
      'working_hours',
      'schedule_exceptions',
      'contacts',
      'appointments',
      'appointment_events',
    ];
    const rows: Record<string, readonly unknown[]> = {};
    for (const table of tables) {
      rows[table] = await sql`select * from ${sql(table)} where tenant_id = any(${ids})
        order by id`;
    }
    return rows;
  }

  it('loads two tenants with WhatsApp on Meta, Gupshup and YCloud, Messenger, Instagram, a web widget, two operators and templates each, idempotently', async () => {
    await seedDemo(sql);
    await seedDemo(sql);
    const accounts = await sql`select tenant_id, channel, provider, count(*)::int as n
      from channel_accounts where tenant_id = any(${ids})
      group by tenant_id, channel, provider order by tenant_id, channel, provider`;
    const perTenant = [
      ['whatsapp', 'meta', 1],
      ['whatsapp', 'gupshup', 1],
      ['whatsapp', 'ycloud', 1],
      ['messenger', 'meta', 1],
      ['instagram', 'meta', 1],
      ['web', 'meta', 1],
    ];
    expect(accounts.map((r) => [r.channel, r.provider, r.n])).toEqual([...perTenant, ...perTenant]);
    // Each provider number's callback secret and API key, sealed; its templates under its WABA.
    const providers = await sql`select c.webhook_secret, c.access_token,
        (select count(*)::int from templates t where t.channel_account_id = a.id) as templates
      from channel_accounts a join private.channel_credentials c on c.channel_account_id = a.id
      where a.tenant_id = any(${ids}) and a.provider <> 'meta'`;
    expect(providers).toHaveLength(4);
    for (const p of providers) {
      expect(p.webhook_secret).toMatch(/^v1:/);
      expect(p.access_token).toMatch(/^v1:/);
      expect(p.templates).toBeGreaterThan(0);
    }
    // The web chat widget of each (docs/widget.md), allowing the demo business site's origins.
    const widgets = await sql`select w.allowed_origins, a.external_id from widgets w
      join channel_accounts a on a.id = w.channel_account_id where w.tenant_id = any(${ids})`;
    expect(widgets.map((w) => w.external_id).sort()).toEqual(
      demoTenants.map((t) => t.widget.key).sort(),
    );
    expect(widgets[0]?.allowed_origins).toContain(`http://127.0.0.1:${ports.demoSite}`);
    const members =
      await sql`select count(*)::int as n from tenant_members where tenant_id = any(${ids})`;
    expect(members[0]?.n).toBe(4);
    const approved =
      await sql`select count(*)::int as n from templates where tenant_id = ${ids[0]!} and status = 'APPROVED'`;
    expect(approved[0]?.n).toBeGreaterThan(0);
    const [user] =
      await sql`select encrypted_password from auth.users where email = 'owner@sonrisa.test'`;
    expect(user?.encrypted_password).toMatch(/^\$2[aby]\$/);
  });

  it('seeds the bookable business once: seeding again leaves the same rows', async () => {
    const now = new Date();
    await seedDemo(sql, now);
    const first = await bookableRows();
    await seedDemo(sql, now);
    expect(await bookableRows()).toEqual(first);
    for (const table of ['services', 'staff', 'working_hours', 'appointments'] as const) {
      expect(first[table]?.length, table).toBeGreaterThan(0);
    }
  });

  it('gives each business four weeks of dashboard history, once: seeding again adds nothing', async () => {
    const now = new Date();
    await seedDemo(sql, now);
    const counted = () => sql<{ n: number }[]>`select count(*)::int as n from messages
      where tenant_id = any(${ids}) and provider_message_id like 'demo.%'`;
    const [first] = await counted();
    await seedDemo(sql, now);
    expect(await counted()).toEqual([first]);
    for (const tenant of demoTenants) {
      const today = localDateOf(now, tenant.timeZone);
      const facts = await sql<{ metric: string; dim: string; value: number; days: number }[]>`
        select metric, dim, sum(value)::float8 as value, count(distinct day)::int as days
        from app.dashboard_facts(${tenant.id}::uuid, ${tenant.timeZone}, ${today}::date - 28, ${today}::date - 1)
        where dim in ('all', 'handoff_reason', 'failure_reason', 'staff')
        group by metric, dim`;
      const total = (metric: string, dim = 'all') =>
        facts.find((f) => f.metric === metric && f.dim === dim);
      // Every one of the 28 days has customers writing, the AI and people answering.
      expect(total('messages_in')?.days, tenant.name).toBe(28);
      expect(total('messages_in')?.value).toBeGreaterThan(28 * 5);
      expect(total('first_reply_ai_n')?.value).toBeGreaterThan(28 * 3);
      expect(total('first_reply_human_n')?.value).toBeGreaterThan(5);
      expect(total('cost_usd')?.value).toBeGreaterThan(0);
      expect(total('handoffs', 'handoff_reason')?.value).toBeGreaterThan(2);
      expect(total('delivery_failures', 'failure_reason')?.value).toBeGreaterThan(2);
      expect(total('replies', 'staff')?.value).toBeGreaterThan(5);
    }
  });

  for (const tenant of demoTenants) {
    it(`gives ${tenant.name} services, staff with hours, a holiday, bookings and free slots`, async () => {
      const now = new Date();
      await seedDemo(sql, now);
      const [settings] = await sql`select time_zone from tenant_settings
        where tenant_id = ${tenant.id}`;
      expect(settings?.time_zone).toBe(tenant.timeZone);
      const services = await sql<{ id: string; performers: number }[]>`
        select s.id, (select count(*)::int from service_staff ss where ss.service_id = s.id) as performers
        from services s where s.tenant_id = ${tenant.id} and s.active and s.bookable order by s.name`;
      expect(services.length).toBeGreaterThanOrEqual(2);
      for (const s of services) expect(s.performers).toBeGreaterThan(0);
      const staff = await sql<{ name: string; shifts: number }[]>`
        select st.name, (select count(*)::int from working_hours w where w.staff_id = st.id) as shifts
        from staff st where st.tenant_id = ${tenant.id} order by st.name`;
      expect(staff).toHaveLength(2);
      for (const member of staff) expect(member.shifts, member.name).toBeGreaterThanOrEqual(5);

      const holiday = nextHoliday(
        demoBusiness(tenant.slug) ?? { holidays: {}, staff: [] },
        localDateOf(now, tenant.timeZone),
      );
      const [closedDay] = await sql<{ date: string }[]>`select date::text from schedule_exceptions
        where tenant_id = ${tenant.id} and staff_id is null and kind = 'holiday'
          and date >= ${localDateOf(now, tenant.timeZone)}::date`;
      expect(closedDay?.date).toBe(holiday?.date);

      const booked = await sql<{ starts_at: Date; staff_id: string }[]>`
        select starts_at, staff_id from appointments
        where tenant_id = ${tenant.id} and starts_at > ${now} and status in ('pending', 'confirmed')`;
      expect(booked).toHaveLength(3);
      // Booked within the next working days, not on the holiday.
      for (const a of booked) {
        expect(a.starts_at.getTime() - now.getTime()).toBeLessThan(10 * DAY);
        expect(localDateOf(a.starts_at, tenant.timeZone)).not.toBe(holiday?.date);
      }

      const from = localDateOf(now, tenant.timeZone);
      const to = localDateOf(new Date(now.getTime() + 30 * DAY), tenant.timeZone);
      for (const service of services) {
        const slots = await asTenant(db, tenant.id, (ctx) =>
          findFreeSlots(ctx, { serviceId: service.id, from, to, now }),
        );
        expect(slots.length).toBeGreaterThan(0);
        expect(slots.every((s) => s.start > now)).toBe(true);
        expect(slots.some((s) => localDateOf(s.start, tenant.timeZone) === holiday?.date)).toBe(
          false,
        );
        // No slot starts where a booking of the same staff member starts.
        const taken = new Set(booked.map((b) => `${b.staff_id} ${b.starts_at.getTime()}`));
        expect(slots.filter((s) => taken.has(`${s.staffId} ${s.start.getTime()}`))).toEqual([]);
      }
    });
  }
});

/**
 * Issue 12's "Done when", short of `npm start` itself: the demo seed's histories are found by the
 * scan by hand (`POST /admin/opportunities/scan`, as docs/follow-ups.md documents it), the staff
 * contact gets cards at the Graph stand-in, and their taps drive one follow-up to one compliant send
 * (the offline model writes it, as on `npm start` without an OpenAI key), which the page's routes
 * then show. The app runs in-process (test/harness.ts) against this run's database.
 */
describe('demo follow-ups', () => {
  const sql = postgres(inject('databaseUrl'), { max: 1, onnotice: () => {} });
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness();
  });
  afterAll(async () => {
    await h?.close();
    // Back to the demo's own zones and credentials for anything after.
    for (const t of demoTenants) {
      await sql`update tenant_settings set time_zone = ${t.timeZone} where tenant_id = ${t.id}`;
    }
    await seedDemo(sql);
    await sql.end();
  });

  /** The demo tenant as the test helpers take a tenant (its WhatsApp number). */
  const fixtureOf = (t: (typeof demoTenants)[number]) =>
    ({
      tenantId: t.id,
      accounts: {
        whatsapp: {
          externalId: t.whatsapp.phoneNumberId,
          wabaId: t.whatsapp.wabaId,
          phone: t.whatsapp.displayPhone,
        },
        messenger: { externalId: t.messengerPageId },
        instagram: { externalId: t.instagramId },
      },
    }) as unknown as TenantFixture;

  /** A fixed-offset zone whose wall clock shows noon now: no quiet hours delay the send. */
  const noonZone = () => zoneAtLocalHour(12);

  /** Reply buttons, or a list's rows (a card with a fourth action, `:schedule`). */
  type Interactive = {
    action: {
      buttons?: Array<{ reply: { id: string } }>;
      sections?: Array<{ rows: Array<{ id: string }> }>;
    };
  };
  const cardsTo = (phone: string, prefix: string) =>
    graphSends(h)
      .filter((b) => b.to === phone && b.type === 'interactive')
      .flatMap(({ interactive }) => {
        const { action } = interactive as Interactive;
        return [
          ...(action.buttons ?? []).map((x) => x.reply.id),
          ...(action.sections ?? []).flatMap((section) => section.rows.map((row) => row.id)),
        ];
      })
      .filter((id) => id.startsWith(prefix));

  for (const tenant of demoTenants) {
    it(`${tenant.name}: the scan by hand finds all four, cards the staff, and taps end in one send`, async () => {
      const demo = must(demoFollowUps(tenant.slug), 'demo follow-ups');
      await seedDemo(sql, new Date());
      // The harness's Graph stand-in: its token under its key, and the demo number known to it.
      await sql`update private.channel_credentials
        set access_token = ${await encryptSecret(TEST_GRAPH_TOKEN, TEST_ENCRYPTION_KEY)}
        where tenant_id = ${tenant.id}`;
      await sql`update tenant_settings set time_zone = ${noonZone()} where tenant_id = ${tenant.id}`;
      const t = fixtureOf(tenant);
      h.registerTenant(t);
      const owner = must(
        tenant.users.find((u) => u.role === 'owner'),
        'owner',
      );

      const scan = await h.asUser(owner, '/admin/opportunities/scan', { method: 'POST' });
      expect(scan.status).toBe(200);
      expect(await scan.json()).toEqual({
        found: {
          price_no_booking: 1,
          recall_due: 1,
          no_show_or_cancelled: 1,
          quiet_after_handoff: 1,
        },
        expired: 0,
      });
      await h.settle();
      const found = await sql<{ id: string; kind: string; contact_id: string }[]>`
        select id, kind, contact_id from opportunities where tenant_id = ${tenant.id}`;
      // One per seeded customer, none for the staff contact or the customers who never wrote.
      expect(new Set(found.map((o) => o.contact_id))).toEqual(
        new Set(demo.customers.map((c) => c.contact)),
      );
      // The staff contact got today's three cards, each with Accept, Skip and Draft (and Propose
      // times where the service is known: those come as a list).
      const carded = cardsTo(demo.staff.phone, 'opp:');
      const cardedIds = new Set(carded.map((id) => id.split(':')[1]));
      expect(cardedIds.size).toBe(3);
      for (const id of cardedIds) {
        const actions = carded
          .filter((c) => c.startsWith(`opp:${id}:`))
          .map((c) => c.split(':')[2]);
        expect(actions.slice(0, 3)).toEqual(['accept', 'skip', 'draft']);
      }

      // Draft on a carded one whose customer wrote within 24 hours (not the handed-off one).
      const chosen = must(
        found.find((o) => cardedIds.has(o.id) && o.kind !== 'quiet_after_handoff'),
        'a carded opportunity with an open window',
      );
      const customer = must(
        demo.customers.find((c) => c.contact === chosen.contact_id),
        'its customer',
      );
      const tap = (id: string) =>
        customerWrites(h, t, demo.staff.phone, {
          type: 'interactive',
          buttonReply: { id, title: 'x' },
        });
      await tap(`opp:${chosen.id}:draft`);
      await h.settle();
      const [drafted] =
        await sql`select status, draft_id from opportunities where id = ${chosen.id}`;
      expect(drafted?.status).toBe('drafted');
      expect(cardsTo(demo.staff.phone, `msg:${drafted?.draft_id}:`)).toHaveLength(3);
      expect(graphSends(h).filter((b) => b.to === customer.phone)).toEqual([]);

      await tap(`msg:${drafted?.draft_id}:approve`);
      await h.settle();
      const sends = graphSends(h).filter((b) => b.to === customer.phone);
      expect(sends).toHaveLength(1);
      expect(sends[0]?.type).toBe('text');
      const [sent] = await sql`select status from opportunities where id = ${chosen.id}`;
      expect(sent?.status).toBe('sent');

      // The page shows the same: the sent one in its list, and the counts and metrics.
      const list = await h.asUser(owner, '/admin/opportunities?status=sent');
      expect(
        ((await list.json()) as { items: Array<{ id: string }> }).items.map((o) => o.id),
      ).toEqual([chosen.id]);
      const summary = (await (await h.asUser(owner, '/admin/opportunities/summary')).json()) as {
        by_status: Record<string, number>;
        metrics: Record<string, number>;
      };
      expect(summary.by_status).toMatchObject({ open: 3, sent: 1 });
      expect(summary.metrics).toMatchObject({ found: 4, accepted: 1, sent: 1 });
    });
  }
});
