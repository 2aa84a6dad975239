import type postgres from 'postgres';
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { formatSlotId } from '../../core/agent/ids';
import { addDays, zonedInstant } from '../../core/appointments/availability';
import { connect } from '../../db/client';
import {
  callTool,
  conversationOf,
  customerWrites,
  messageByProviderId,
  providerSeconds,
  replyWith,
  runsOf,
  scriptedModels,
  threadOf,
} from '../../test/agent';
import { createConversation } from '../../test/conversations';
import { adminSql, createTenant, type TenantFixture } from '../../test/fixtures';
import { createHarness, type Harness } from '../../test/harness';
import { customerPhone } from '../../test/meta-webhooks';
import { must } from '../../test/must';
import type { AgentModelResolver } from '../agent/models';
import { bookAppointmentTool } from '../agent/tools/appointments';
import { emptyEffects } from '../agent/tools/index';
import { createLogger } from '../lib/logger';
import { agentTurnJob } from './agent-turn';

/**
 * The agent's booking end to end: customers write and tap through the signed webhook path, the
 * agent's turn runs with a scripted model (or the offline demo model), replies go out through the
 * send job. Taps on offered times and on appointment buttons are handled at intake, without a model.
 */

const ZONE = 'Europe/Madrid';
let h: Harness;
let sql: postgres.Sql;
let t: TenantFixture;
let clinic: Clinic;
let script = scriptedModels([]);
const models: AgentModelResolver = (choice) => script.resolver(choice);

type Clinic = Awaited<ReturnType<typeof createClinic>>;

/** A dental clinic: a 30-minute cleaning by Ana or Ben, 9:00–18:00 every day, Madrid time. */
async function createClinic(tenant: TenantFixture) {
  const [cleaning] = await sql`insert into services (tenant_id, name, names, duration_minutes)
    values (${tenant.tenantId}, 'Limpieza dental',
      ${sql.json({ es: 'Limpieza dental', en: 'Teeth cleaning', ar: 'تنظيف الأسنان' })}, 30)
    returning id`;
  const [whitening] = await sql`insert into services (tenant_id, name, duration_minutes, bookable)
    values (${tenant.tenantId}, 'Blanqueamiento', 60, false) returning id`;
  const [ana] =
    await sql`insert into staff (tenant_id, name) values (${tenant.tenantId}, 'Ana') returning id`;
  const [ben] =
    await sql`insert into staff (tenant_id, name) values (${tenant.tenantId}, 'Ben') returning id`;
  const ids = {
    cleaning: must(cleaning, 'cleaning').id as string,
    whitening: must(whitening, 'whitening').id as string,
    ana: must(ana, 'ana').id as string,
    ben: must(ben, 'ben').id as string,
  };
  for (const staffId of [ids.ana, ids.ben]) {
    for (const serviceId of [ids.cleaning, ids.whitening]) {
      await sql`insert into service_staff (tenant_id, service_id, staff_id)
        values (${tenant.tenantId}, ${serviceId}, ${staffId})`;
    }
    for (const weekday of [1, 2, 3, 4, 5, 6, 7]) {
      await sql`insert into working_hours (tenant_id, staff_id, weekday, start_time, end_time)
        values (${tenant.tenantId}, ${staffId}, ${weekday}, '09:00', '18:00')`;
    }
  }
  await sql`update tenant_settings set time_zone = ${ZONE}, min_notice_minutes = 0,
    reply_mode = 'auto' where tenant_id = ${tenant.tenantId}`;
  return ids;
}

/** A local date `days` from today in Madrid, and an instant on it. */
const dayAhead = (days: number) =>
  addDays(new Date().toLocaleDateString('sv-SE', { timeZone: ZONE }), days);
const at = (date: string, hhmm: string) => {
  const [hours, minutes] = hhmm.split(':').map(Number) as [number, number];
  return new Date(zonedInstant(date, hours * 60 + minutes, ZONE));
};
const madridTime = (d: Date) =>
  d.toLocaleTimeString('es-ES', { timeZone: ZONE, hour: '2-digit', minute: '2-digit' });

beforeAll(async () => {
  h = await createHarness({ jobs: [agentTurnJob({ models })] });
  sql = adminSql();
  t = await createTenant(sql, 'Clínica Dental');
  h.registerTenant(t);
  clinic = await createClinic(t);
});
afterAll(async () => {
  await sql.end();
  await h.close();
});
beforeEach(() => {
  script = scriptedModels([]);
});

const outbound = async (conversationId: string) =>
  (await threadOf(sql, conversationId)).filter((m) => m.direction === 'outbound');

type Button = { id: string; title: string };
const buttonsOf = (message: postgres.Row | undefined): Button[] =>
  message?.payload.message.buttons ?? [];

const appointmentsOf = (tenantId: string, contactId: string) =>
  sql`select * from appointments where tenant_id = ${tenantId} and contact_id = ${contactId}
    order by starts_at`;

/** A tap on a button we sent, written after the spaced sends (their send slots are ahead). */
const tap = (phone: string, button: Button, tenant = t, harness = h) =>
  customerWrites(
    harness,
    tenant,
    phone,
    { type: 'interactive', buttonReply: button },
    { timestamp: providerSeconds(30) },
  );

describe('booking with the tools', () => {
  it('offers times as buttons, books the one the customer chose, and a tap books too', async () => {
    const date = dayAhead(8);
    script = scriptedModels([
      callTool('list_services', {}),
      callTool('check_availability', {
        service_id: clinic.cleaning,
        date,
        part_of_day: 'morning',
      }),
      replyWith(''),
    ]);
    const phone = customerPhone();
    await customerWrites(h, t, phone, 'Quiero una limpieza por la mañana');
    await h.settle();
    const conv = await conversationOf(sql, t, phone);
    const [run] = await runsOf(sql, conv.id);
    expect(run?.outcome).toBe('replied');
    const services = run?.steps[0]?.toolResults[0]?.output.services;
    expect(services.map((s: { name: string; bookable: boolean }) => [s.name, s.bookable])).toEqual([
      ['Blanqueamiento', false],
      ['Limpieza dental', true],
    ]);
    const offered = run?.steps[1]?.toolResults[0]?.output;
    expect(offered.sent_to_customer).toBe(true);
    expect(offered.slots).toHaveLength(3);
    const [offer] = await outbound(conv.id);
    expect(offer?.payload.message.body).toBe(
      'Estos son los próximos huecos para Limpieza dental. Elige uno:',
    );
    const buttons = buttonsOf(offer);
    expect(buttons.map((b) => b.id)).toEqual(
      offered.slots.map((s: { slot_id: string }) => s.slot_id),
    );
    // Spread-out morning times on the day asked, in Madrid.
    expect(
      offered.slots.map((s: { starts_at: string }) => madridTime(new Date(s.starts_at))),
    ).toEqual(['09:00', '10:00', '11:00']);
    expect(buttons.every((b) => b.id.startsWith(`slot:${clinic.cleaning}.`))).toBe(true);

    // The customer says which one; the model books exactly that slot.
    const chosen = offered.slots[1] as { slot_id: string; starts_at: string };
    script = scriptedModels([
      callTool('book_appointment', { slot_id: chosen.slot_id }),
      replyWith('¡Reservado para las 10:00!'),
    ]);
    await customerWrites(h, t, phone, 'La de las 10', { timestamp: providerSeconds(30) });
    await h.settle();
    const booked = await appointmentsOf(t.tenantId, conv.contact_id);
    expect(booked.map((a) => [a.status, a.booked_by, a.starts_at.toISOString()])).toEqual([
      ['confirmed', 'agent', chosen.starts_at],
    ]);
    expect(booked[0]?.conversation_id).toBe(conv.id);

    // A tap on another offered time books it without the model.
    const before = script.chat.doGenerateCalls.length;
    const tapped = must(buttons[2], 'third button');
    const tapId = await tap(phone, tapped);
    await h.settle();
    expect(script.chat.doGenerateCalls).toHaveLength(before);
    const after = await appointmentsOf(t.tenantId, conv.contact_id);
    expect(after).toHaveLength(2);
    const third = must(after[1], 'booked by the tap');
    expect(third.status).toBe('confirmed');
    expect((await messageByProviderId(sql, tapId)).payload.routing).toEqual({
      turn: false,
      outcome: 'appointment_booked',
      kind: 'slot',
      detail: third.id,
    });
    const confirmation = (await outbound(conv.id)).at(-1);
    expect(confirmation?.sender).toBe('agent');
    expect(confirmation?.payload.message.body).toMatch(
      /^¡Listo! Tu cita de Limpieza dental queda reservada para el .+, 11:00 con (Ana|Ben)\.$/,
    );
    expect(buttonsOf(confirmation).map((b) => b.id)).toEqual([
      `appt:${third.id}:reschedule`,
      `appt:${third.id}:cancel`,
    ]);
    // Tapping the same time again books nothing more: it says it is already theirs.
    await tap(phone, tapped);
    await h.settle();
    expect(await appointmentsOf(t.tenantId, conv.contact_id)).toHaveLength(2);
    expect((await outbound(conv.id)).at(-1)?.payload.message.body).toMatch(
      /^Ya tienes esa cita reservada: Limpieza dental/,
    );
  });

  it('turns a time just taken into a tool result with fresh options, never an error', async () => {
    const date = dayAhead(9);
    const rival = customerPhone();
    const phone = customerPhone();
    // Another customer takes 10:00 with Ana first (a tap on a slot we offered them).
    await customerWrites(h, t, rival, 'hola');
    script = scriptedModels([replyWith('¡Hola!')]);
    await h.settle();
    const slot = formatSlotId({
      action: 'book',
      target: clinic.cleaning,
      staffId: clinic.ana,
      start: at(date, '10:00'),
    });
    await tap(rival, { id: slot, title: '10:00' });
    await h.settle();
    const rivalConv = await conversationOf(sql, t, rival);
    expect(await appointmentsOf(t.tenantId, rivalConv.contact_id)).toHaveLength(1);

    script = scriptedModels([
      callTool('book_appointment', { slot_id: slot }),
      replyWith('Vaya, esa hora se acaba de ocupar.'),
    ]);
    await customerWrites(h, t, phone, 'Resérvame la limpieza a las 10 con Ana');
    await h.settle();
    const conv = await conversationOf(sql, t, phone);
    const [run] = await runsOf(sql, conv.id);
    expect(run?.outcome).toBe('replied');
    const result = run?.steps[0]?.toolResults[0]?.output;
    expect(result.status).toBe('unavailable');
    expect(result.alternatives.length).toBeGreaterThan(0);
    expect(await appointmentsOf(t.tenantId, conv.contact_id)).toEqual([]);
    const [options, text] = await outbound(conv.id);
    expect(options?.payload.message.body).toBe(
      'Lo siento, esa hora ya no está disponible. Estas son otras opciones:',
    );
    expect(buttonsOf(options).map((b) => b.id)).toEqual(
      result.alternatives.map((a: { slot_id: string }) => a.slot_id),
    );
    expect(buttonsOf(options).map((b) => b.id)).not.toContain(slot);
    expect(text?.content).toBe('Vaya, esa hora se acaba de ocupar.');

    // The same stale slot tapped by this customer: a safe answer with fresh options, no booking.
    const tapId = await tap(phone, { id: slot, title: '10:00' });
    await h.settle();
    expect((await messageByProviderId(sql, tapId)).payload.routing).toMatchObject({
      turn: false,
      outcome: 'stale',
      kind: 'slot',
    });
    expect(await appointmentsOf(t.tenantId, conv.contact_id)).toEqual([]);
    expect((await outbound(conv.id)).at(-1)?.payload.message.body).toBe(
      'Lo siento, esa hora ya no está disponible. Estas son otras opciones:',
    );
    expect(await appointmentsOf(t.tenantId, rivalConv.contact_id)).toHaveLength(1);
  });
});

describe("the customer's own appointments", () => {
  /** A customer with one booked cleaning (tapped), and their conversation. */
  async function customerWithBooking(days: number, hhmm: string) {
    const phone = customerPhone();
    script = scriptedModels([replyWith('¡Hola!')]);
    await customerWrites(h, t, phone, 'hola, quiero una cita');
    await h.settle();
    await tap(phone, {
      id: formatSlotId({
        action: 'book',
        target: clinic.cleaning,
        staffId: clinic.ben,
        start: at(dayAhead(days), hhmm),
      }),
      title: hhmm,
    });
    await h.settle();
    const conv = await conversationOf(sql, t, phone);
    const [appointment] = await appointmentsOf(t.tenantId, conv.contact_id);
    return { phone, conv, appointment: must(appointment, 'booked') };
  }

  it('cancels with the tools, and never another customer’s appointment', async () => {
    const mine = await customerWithBooking(10, '12:00');
    const theirs = await customerWithBooking(10, '13:00');
    script = scriptedModels([
      callTool('my_appointments', {}),
      callTool('cancel_appointment', { appointment_id: theirs.appointment.id }),
      callTool('cancel_appointment', { appointment_id: mine.appointment.id }),
      replyWith('Cancelada.'),
    ]);
    await customerWrites(h, t, mine.phone, 'cancela mi cita', { timestamp: providerSeconds(40) });
    await h.settle();
    const run = (await runsOf(sql, mine.conv.id)).at(-1);
    const [listed, foreign, cancelled] = (run?.steps ?? []).map(
      (s: { toolResults?: Array<{ output: unknown }> }) => s.toolResults?.[0]?.output,
    );
    expect(run?.outcome).toBe('replied');
    expect(listed.appointments.map((a: { appointment_id: string }) => a.appointment_id)).toEqual([
      mine.appointment.id,
    ]);
    expect(foreign.status).toBe('not_found');
    expect(cancelled).toMatchObject({
      status: 'cancelled',
      appointment: { appointment_id: mine.appointment.id, status: 'cancelled', staff: 'Ben' },
    });
    const [mineNow] = await appointmentsOf(t.tenantId, mine.conv.contact_id);
    const [theirsNow] = await appointmentsOf(t.tenantId, theirs.conv.contact_id);
    expect([mineNow?.status, theirsNow?.status]).toEqual(['cancelled', 'confirmed']);
    const [event] =
      await sql`select kind, actor from appointment_events where appointment_id = ${mine.appointment.id} and kind = 'cancelled'`;
    expect(event).toEqual({ kind: 'cancelled', actor: 'agent' });
  });

  it('offers a failed reschedule’s alternatives as buttons that move, not book', async () => {
    const date = dayAhead(13);
    const mine = await customerWithBooking(13, '12:00');
    await customerWithBooking(13, '14:00');
    script = scriptedModels([
      callTool('reschedule_appointment', {
        appointment_id: mine.appointment.id,
        // Ben has the other customer at 14:00.
        slot_id: formatSlotId({
          action: 'move',
          target: mine.appointment.id,
          staffId: clinic.ben,
          start: at(date, '14:00'),
        }),
      }),
      replyWith('Esa hora ya está ocupada.'),
    ]);
    await customerWrites(h, t, mine.phone, 'cámbiala a las 14:00', {
      timestamp: providerSeconds(40),
    });
    await h.settle();
    const options = (await outbound(mine.conv.id)).at(-2);
    expect(options?.payload.message.body).toBe(
      'Lo siento, esa hora ya no está disponible. Estas son otras opciones:',
    );
    const ids = buttonsOf(options).map((b) => b.id);
    expect(ids.length).toBeGreaterThan(0);
    for (const id of ids) expect(id).toMatch(new RegExp(`^slot:${mine.appointment.id}\\..+:move$`));
    const [still] = await appointmentsOf(t.tenantId, mine.conv.contact_id);
    expect(still?.starts_at.getTime()).toBe(mine.appointment.starts_at.getTime());
  });

  it('cancels and confirms with appt: buttons, and refuses another customer’s id', async () => {
    const mine = await customerWithBooking(11, '12:00');
    const theirs = await customerWithBooking(11, '15:00');
    const before = script.chat.doGenerateCalls.length;

    // Another customer's appointment id, tapped by "mine": refused politely, nothing changes.
    const foreignTap = await tap(mine.phone, {
      id: `appt:${theirs.appointment.id}:cancel`,
      title: 'Cancelar cita',
    });
    await h.settle();
    expect((await messageByProviderId(sql, foreignTap)).payload.routing).toEqual({
      turn: false,
      outcome: 'unknown',
      kind: 'appt',
      detail: 'not an appointment of this customer',
    });
    expect((await outbound(mine.conv.id)).at(-1)?.content).toBe(
      'No encuentro esa cita entre las tuyas. Si necesitas ayuda, escríbenos.',
    );
    const [theirsNow] = await appointmentsOf(t.tenantId, theirs.conv.contact_id);
    expect(theirsNow?.status).toBe('confirmed');

    // Pending (as an operator would book it), confirmed with the button.
    await sql`update appointments set status = 'pending' where id = ${mine.appointment.id}`;
    await tap(mine.phone, { id: `appt:${mine.appointment.id}:confirm`, title: 'Confirmar' });
    await h.settle();
    let [mineNow] = await appointmentsOf(t.tenantId, mine.conv.contact_id);
    expect(mineNow?.status).toBe('confirmed');
    expect((await outbound(mine.conv.id)).at(-1)?.payload.message.body).toMatch(
      /^¡Gracias! Tu cita de Limpieza dental del .+, 12:00 queda confirmada\.$/,
    );

    // Reschedule offers new times (move ids); a tap moves it atomically.
    await tap(mine.phone, { id: `appt:${mine.appointment.id}:reschedule`, title: 'Cambiar hora' });
    await h.settle();
    const offer = (await outbound(mine.conv.id)).at(-1);
    expect(offer?.payload.message.body).toBe(
      '¿A qué hora quieres cambiar tu cita de Limpieza dental?',
    );
    const move = must(buttonsOf(offer)[0], 'a new time');
    expect(move.id).toMatch(new RegExp(`^slot:${mine.appointment.id}\\..+:move$`));
    await tap(mine.phone, move);
    await h.settle();
    [mineNow] = await appointmentsOf(t.tenantId, mine.conv.contact_id);
    expect(mineNow?.id).toBe(mine.appointment.id);
    expect(mineNow?.starts_at.getTime()).not.toBe(mine.appointment.starts_at.getTime());
    expect((await outbound(mine.conv.id)).at(-1)?.payload.message.body).toMatch(
      /^Hecho: tu cita de Limpieza dental pasa al /,
    );

    // Cancel with the button; a second tap is stale and changes nothing.
    await tap(mine.phone, { id: `appt:${mine.appointment.id}:cancel`, title: 'Cancelar cita' });
    await h.settle();
    [mineNow] = await appointmentsOf(t.tenantId, mine.conv.contact_id);
    expect(mineNow?.status).toBe('cancelled');
    expect((await outbound(mine.conv.id)).at(-1)?.content).toMatch(
      /^Tu cita de Limpieza dental del .+ queda cancelada\.$/,
    );
    const again = await tap(mine.phone, {
      id: `appt:${mine.appointment.id}:cancel`,
      title: 'Cancelar cita',
    });
    await h.settle();
    expect((await messageByProviderId(sql, again)).payload.routing).toMatchObject({
      outcome: 'stale',
      detail: 'appointment cancelled',
    });
    // None of these taps ran the model.
    expect(script.chat.doGenerateCalls).toHaveLength(before);
  });

  it('leaves a tap to the team while a person has the conversation', async () => {
    const mine = await customerWithBooking(12, '12:00');
    await sql`update conversations set is_locked = true, locked_by = 'operator',
      lock_reason = 'Marta' where id = ${mine.conv.id}`;
    const sent = (await outbound(mine.conv.id)).length;
    const tapId = await tap(mine.phone, {
      id: `appt:${mine.appointment.id}:cancel`,
      title: 'Cancelar cita',
    });
    await h.settle();
    expect((await messageByProviderId(sql, tapId)).payload.routing).toMatchObject({
      turn: true,
      outcome: 'appointment_tap_for_person',
    });
    const [now] = await appointmentsOf(t.tenantId, mine.conv.contact_id);
    expect(now?.status).toBe('confirmed');
    expect(await outbound(mine.conv.id)).toHaveLength(sent);
  });
});

describe('the offline demo model', () => {
  let offline: Harness;
  let demo: TenantFixture;
  let demoClinic: Clinic;
  beforeAll(async () => {
    offline = await createHarness();
    demo = await createTenant(sql, 'Clínica Demo');
    offline.registerTenant(demo);
    // The demo clinic has the same services and hours.
    demoClinic = await createClinic(demo);
  });
  afterAll(async () => {
    await offline.close();
  });

  it.each([
    {
      language: 'es',
      book: 'Hola, quiero una limpieza el martes por la mañana',
      body: 'Estos son los próximos huecos para Limpieza dental. Elige uno:',
      booked: /^¡Listo! Tu cita de Limpieza dental queda reservada para el martes, /,
      cancel: 'cancela mi cita',
      cancelled: /^Hecho: tu cita de Limpieza dental del martes, .+ queda cancelada\.$/,
    },
    {
      language: 'en',
      book: "I'd like a cleaning on Tuesday morning",
      body: 'Here are the next free times for Teeth cleaning. Pick one:',
      booked: /^Done! Your Teeth cleaning is booked for Tuesday /,
      cancel: 'Please cancel my appointment',
      cancelled: /^Done: your Teeth cleaning on Tuesday .+ is cancelled\.$/,
    },
    {
      language: 'ar',
      book: 'أريد تنظيف الأسنان يوم الثلاثاء صباحاً',
      body: 'هذه أقرب المواعيد المتاحة لـتنظيف الأسنان. اختر واحداً:',
      booked: /^تم! حُجز موعدك لـتنظيف الأسنان يوم الثلاثاء/,
      cancel: 'أريد إلغاء موعدي',
      cancelled: /^تم: أُلغي موعدك لـتنظيف الأسنان يوم الثلاثاء/,
    },
  ])('books and cancels in $language', async ({ book, body, booked, cancel, cancelled }) => {
    const phone = customerPhone();
    await customerWrites(offline, demo, phone, book);
    await offline.settle();
    const conv = await conversationOf(sql, demo, phone);
    const [run] = await runsOf(sql, conv.id);
    expect([run?.outcome, run?.model]).toEqual(['replied', 'offline-demo']);
    expect(
      run?.steps.map(
        (s: { toolCalls?: Array<{ toolName: string }> }) => s.toolCalls?.[0]?.toolName,
      ),
    ).toEqual(['list_services', 'check_availability', undefined]);
    const [offer] = await outbound(conv.id);
    expect(offer?.payload.message.body).toBe(body);
    const buttons = buttonsOf(offer);
    expect(buttons).toHaveLength(3);
    // Tuesday mornings in Madrid.
    const starts = buttons.map((b) => new Date(Number(b.id.split('.')[2]?.split(':')[0]) * 60_000));
    for (const start of starts) {
      expect(start.toLocaleDateString('en-GB', { timeZone: ZONE, weekday: 'long' })).toBe(
        'Tuesday',
      );
      expect(Number(madridTime(start).slice(0, 2))).toBeLessThan(12);
    }

    await tap(phone, must(buttons[0], 'first time'), demo, offline);
    await offline.settle();
    const [appointment] = await appointmentsOf(demo.tenantId, conv.contact_id);
    expect([appointment?.status, appointment?.starts_at.getTime()]).toEqual([
      'confirmed',
      starts[0]?.getTime(),
    ]);
    expect((await outbound(conv.id)).at(-1)?.payload.message.body).toMatch(booked);

    await customerWrites(offline, demo, phone, cancel, { timestamp: providerSeconds(60) });
    await offline.settle();
    const [after] = await appointmentsOf(demo.tenantId, conv.contact_id);
    expect(after?.status).toBe('cancelled');
    expect((await outbound(conv.id)).at(-1)?.content).toMatch(cancelled);
  });

  /** A local date `from` days ahead or later that is not a Thursday (the move asks for one). */
  const notThursday = (from: number) => {
    const date = dayAhead(from);
    return at(date, '12:00').toLocaleDateString('en-GB', { timeZone: ZONE, weekday: 'long' }) ===
      'Thursday'
      ? dayAhead(from + 1)
      : date;
  };

  /** A cleaning with Ana, booked by a tap (then pending, as an operator would book it). */
  async function bookedBy(phone: string, date: string, hhmm: string, seconds: number) {
    await customerWrites(
      offline,
      demo,
      phone,
      {
        type: 'interactive',
        buttonReply: {
          id: formatSlotId({
            action: 'book',
            target: demoClinic.cleaning,
            staffId: demoClinic.ana,
            start: at(date, hhmm),
          }),
          title: hhmm,
        },
      },
      { timestamp: providerSeconds(seconds) },
    );
    await offline.settle();
    const conv = await conversationOf(sql, demo, phone);
    const [appointment] = await appointmentsOf(demo.tenantId, conv.contact_id);
    return { conv, appointment: must(appointment, 'booked') };
  }

  /** The starts of offered times, from their slot ids (`…{epoch minutes}:book|move`). */
  const startsOf = (buttons: Button[]) =>
    buttons.map((b) => new Date(Number(b.id.split('.')[2]?.split(':')[0]) * 60_000));

  it.each([
    {
      language: 'es',
      confirm: 'Confirmo mi cita',
      nothing: 'No veo ninguna cita pendiente de confirmar a tu nombre. ¡Gracias!',
      confirmed: /^¡Gracias! Tu cita de Limpieza dental del .+, 10:00 queda confirmada\.$/,
      move: 'cambia mi cita al jueves por la tarde',
      offer: '¿A qué hora quieres cambiar tu cita de Limpieza dental?',
      moved: /^Hecho: tu cita de Limpieza dental pasa al jueves, .+ con (Ana|Ben)\.$/,
    },
    {
      language: 'en',
      confirm: 'I confirm my appointment',
      nothing: "I don't see any appointment waiting for confirmation in your name. Thank you!",
      confirmed: /^Thank you! Your Teeth cleaning on .+ is confirmed\.$/,
      move: 'Please move my appointment to Thursday afternoon',
      offer: 'Which time would you like for your Teeth cleaning instead?',
      moved: /^Done: your Teeth cleaning is moved to Thursday .+ with (Ana|Ben)\.$/,
    },
    {
      language: 'ar',
      confirm: 'أؤكد موعدي',
      nothing: 'لا أرى أي موعد باسمك بانتظار التأكيد. شكراً!',
      confirmed: /^شكراً! تم تأكيد موعدك لـتنظيف الأسنان يوم /,
      move: 'أريد تغيير موعدي إلى يوم الخميس بعد الظهر',
      offer: 'اختر وقتاً جديداً لموعدك لـتنظيف الأسنان:',
      moved: /^تم: نُقل موعدك لـتنظيف الأسنان إلى الخميس/,
    },
  ])(
    'confirms and reschedules in $language',
    async ({ confirm, nothing, confirmed, move, offer, moved }) => {
      const phone = customerPhone();
      // Nothing to confirm yet: a polite answer, nothing else.
      await customerWrites(offline, demo, phone, confirm);
      await offline.settle();
      const conv = await conversationOf(sql, demo, phone);
      expect((await outbound(conv.id)).at(-1)?.content).toBe(nothing);

      const { appointment } = await bookedBy(phone, notThursday(9), '10:00', 30);
      await sql`update appointments set status = 'pending' where id = ${appointment.id}`;
      await customerWrites(offline, demo, phone, confirm, { timestamp: providerSeconds(60) });
      await offline.settle();
      const [run] = (await runsOf(sql, conv.id)).slice(-1);
      expect(
        run?.steps.map(
          (s: { toolCalls?: Array<{ toolName: string }> }) => s.toolCalls?.[0]?.toolName,
        ),
      ).toEqual(['my_appointments', 'confirm_appointment', undefined]);
      let [now] = await appointmentsOf(demo.tenantId, conv.contact_id);
      expect(now?.status).toBe('confirmed');
      expect((await outbound(conv.id)).at(-1)?.content).toMatch(confirmed);

      // Thursday afternoon: three times that move this appointment, as buttons.
      await customerWrites(offline, demo, phone, move, { timestamp: providerSeconds(90) });
      await offline.settle();
      const sent = (await outbound(conv.id)).at(-1);
      expect(sent?.payload.message.body).toBe(offer);
      const buttons = buttonsOf(sent);
      expect(buttons).toHaveLength(3);
      for (const button of buttons) {
        expect(button.id).toMatch(new RegExp(`^slot:${appointment.id}\\..+:move$`));
      }
      const starts = startsOf(buttons);
      for (const start of starts) {
        expect(start.toLocaleDateString('en-GB', { timeZone: ZONE, weekday: 'long' })).toBe(
          'Thursday',
        );
        expect(Number(madridTime(start).slice(0, 2))).toBeGreaterThanOrEqual(12);
      }

      await customerWrites(
        offline,
        demo,
        phone,
        { type: 'interactive', buttonReply: must(buttons[1], 'second time') },
        { timestamp: providerSeconds(120) },
      );
      await offline.settle();
      [now] = await appointmentsOf(demo.tenantId, conv.contact_id);
      expect([now?.id, now?.status, now?.starts_at.getTime()]).toEqual([
        appointment.id,
        'confirmed',
        starts[1]?.getTime(),
      ]);
      expect(await appointmentsOf(demo.tenantId, conv.contact_id)).toHaveLength(1);
      expect((await outbound(conv.id)).at(-1)?.payload.message.body).toMatch(moved);
    },
  );

  it("reschedules the customer's own appointment, never another customer's", async () => {
    // Theirs is sooner: a reschedule that looked past the customer would pick it.
    const other = customerPhone();
    await customerWrites(offline, demo, other, 'hola');
    await offline.settle();
    const theirs = await bookedBy(other, notThursday(2), '09:00', 30);
    const phone = customerPhone();
    await customerWrites(offline, demo, phone, 'hola');
    await offline.settle();
    const mine = await bookedBy(phone, notThursday(12), '11:00', 30);

    await customerWrites(offline, demo, phone, 'cambia mi cita al jueves por la tarde', {
      timestamp: providerSeconds(60),
    });
    await offline.settle();
    const buttons = buttonsOf((await outbound(mine.conv.id)).at(-1));
    expect(buttons.map((b) => b.id.split('.')[0])).toEqual([
      `slot:${mine.appointment.id}`,
      `slot:${mine.appointment.id}`,
      `slot:${mine.appointment.id}`,
    ]);
    // A move button for their appointment, tapped by this customer: refused, nothing changes.
    const first = must(buttons[0], 'a time');
    await customerWrites(
      offline,
      demo,
      phone,
      {
        type: 'interactive',
        buttonReply: { ...first, id: first.id.replace(mine.appointment.id, theirs.appointment.id) },
      },
      { timestamp: providerSeconds(90) },
    );
    await offline.settle();
    await customerWrites(
      offline,
      demo,
      phone,
      { type: 'interactive', buttonReply: first },
      { timestamp: providerSeconds(120) },
    );
    await offline.settle();

    const [mineNow] = await appointmentsOf(demo.tenantId, mine.conv.contact_id);
    const [theirsNow] = await appointmentsOf(demo.tenantId, theirs.conv.contact_id);
    expect(mineNow?.starts_at.getTime()).toBe(startsOf([first])[0]?.getTime());
    expect([theirsNow?.status, theirsNow?.starts_at.getTime()]).toEqual([
      'confirmed',
      theirs.appointment.starts_at.getTime(),
    ]);
  });
});

describe('one slot, many bookers at once', () => {
  it('20 concurrent bookings (agent tool and operator API): one booked, 19 told it is taken', async () => {
    const start = at(dayAhead(11), '11:00');
    const slotId = formatSlotId({
      action: 'book',
      target: clinic.cleaning,
      staffId: clinic.ana,
      start,
    });
    // The tool's own connection pool, as a turn has: each call is its own transaction.
    const { db, close } = connect(inject('databaseUrl'), { max: 10 });
    try {
      const customers = await Promise.all(
        Array.from({ length: 20 }, () => createConversation(sql, t)),
      );
      const viaTool = async (customer: (typeof customers)[number], i: number) => {
        const effects = emptyEffects();
        const book = bookAppointmentTool({
          db,
          tenantId: t.tenantId,
          conversationId: customer.conversationId,
          contactId: customer.contactId,
          channel: 'whatsapp',
          language: 'es',
          now: new Date(),
          logger: createLogger({ test: 'concurrent-booking' }, 'error'),
          effects,
        });
        const output = await must(book?.execute, 'book_appointment').call(
          book,
          { slot_id: slotId },
          { toolCallId: `call-${i}`, messages: [], context: {} },
        );
        return { via: 'tool' as const, output: output as { status: string }, effects };
      };
      const viaApi = async (customer: (typeof customers)[number]) => {
        const res = await h.asUser(t.agent, '/admin/appointments', {
          method: 'POST',
          body: JSON.stringify({
            service_id: clinic.cleaning,
            staff_id: clinic.ana,
            contact_id: customer.contactId,
            starts_at: start.toISOString(),
          }),
        });
        return {
          via: 'api' as const,
          status: res.status,
          body: (await res.json()) as { id?: string; error?: { conflicting_id?: string } },
        };
      };
      const results = await Promise.all(
        customers.map((customer, i) => (i % 2 === 0 ? viaTool(customer, i) : viaApi(customer))),
      );

      const booked = await sql`select id, contact_id from appointments
        where tenant_id = ${t.tenantId} and staff_id = ${clinic.ana} and starts_at = ${start}
          and status in ('pending', 'confirmed')`;
      expect(booked).toHaveLength(1);
      const winner = must(booked[0], 'the one booking').id as string;

      const won = results.filter((r) =>
        r.via === 'tool' ? r.output.status === 'booked' : r.status === 201,
      );
      expect(won).toHaveLength(1);
      const lost = results.filter((r) => !won.includes(r));
      expect(lost).toHaveLength(19);
      for (const r of lost) {
        if (r.via === 'api') {
          expect(r.status).toBe(409);
          expect(r.body.error?.conflicting_id).toBe(winner);
        } else {
          // The customer is told the time went, with other options: never an error.
          expect(r.output.status).toBe('unavailable');
          expect(r.effects.messages.map((m) => m.message)).toEqual([
            expect.objectContaining({
              body: 'Lo siento, esa hora ya no está disponible. Estas son otras opciones:',
            }),
          ]);
        }
      }
    } finally {
      await close();
    }
  });
});
