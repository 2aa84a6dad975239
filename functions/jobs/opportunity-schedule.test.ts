import type postgres from 'postgres';
import { describe, expect } from 'vitest';
import { parseInteractiveId, parseSlotId } from '../../core/agent/ids';
import { customerWrites, graphSends, messageByProviderId, scriptedModels } from '../../test/agent';
import type { TenantFixture } from '../../test/fixtures';
import type { Harness } from '../../test/harness';
import { it, must } from '../../test/it';
import { bookableClinic, customerWhoAsked, opportunityOf, runScan } from '../../test/opportunities';
import type { AgentModelResolver } from '../agent/models';
import { agentTurnJob } from './agent-turn';
import { opportunityDraftJob } from './opportunity-draft';

/**
 * Follow-ups, `opp:{id}:schedule`, end to end (docs/follow-ups.md): a card with four actions is a
 * WhatsApp list (Graph stand-in); the staff member picks "Propose times" through the signed webhook
 * (a list_reply); the free-slot search drafts an appointment proposal (no model) on the usual
 * `msg:` card; only its approval sends anything (one send), nothing is booked until the customer
 * taps a time, through the normal booking path.
 */

const script = scriptedModels([]);
const models: AgentModelResolver = (choice) => script.resolver(choice);
it.override('harnessOptions', {
  jobs: [agentTurnJob({ models }), opportunityDraftJob({ models })],
});

const DAY = 86_400_000;
const staffPhone = '34633000444';

/** The clinic of test/opportunities.ts, with this file's staff contact. */
const clinic = (h: Harness, sql: postgres.Sql, t: TenantFixture, description?: string) =>
  bookableClinic(h, sql, t, { staffPhone, description });

const asked = customerWhoAsked;

type Row = { id: string; title: string; description?: string };
type Interactive = {
  type: 'list' | 'button';
  body: { text: string };
  action: {
    button?: string;
    sections?: Array<{ rows: Row[] }>;
    buttons?: Array<{ reply: { id: string; title: string } }>;
  };
};
const idsOf = (i: Interactive) => [
  ...(i.action.buttons ?? []).map((b) => b.reply.id),
  ...(i.action.sections ?? []).flatMap((s) => s.rows.map((r) => r.id)),
];
const interactiveTo = (h: Harness, to: string, fragment: string) =>
  graphSends(h)
    .filter((b) => b.to === to && b.type === 'interactive')
    .map((b) => b.interactive as Interactive)
    .filter((i) => idsOf(i).some((id) => id.includes(fragment)));
const staffTexts = (h: Harness) =>
  graphSends(h)
    .filter((b) => b.to === staffPhone && b.type === 'text')
    .map((b) => (b.text as { body: string }).body);
const customerSends = (h: Harness, phone: string) => graphSends(h).filter((b) => b.to === phone);

/** A staff tap on a list row (`list_reply`), as WhatsApp delivers it. */
const pick = (h: Harness, t: TenantFixture, id: string, title = 'x') =>
  customerWrites(h, t, staffPhone, { type: 'interactive', listReply: { id, title } });
const tap = (h: Harness, t: TenantFixture, from: string, id: string, title = 'x') =>
  customerWrites(h, t, from, { type: 'interactive', buttonReply: { id, title } });

/**
 * The audit trail's events, sorted: a schedule tap accepts and drafts (or refuses) in one
 * transaction, so those lines share their created_at and have no order between them.
 */
const eventsOf = async (sql: postgres.Sql, opportunityId: string) =>
  (await sql`select event from opportunity_events where opportunity_id = ${opportunityId}`)
    .map((e) => e.event as string)
    .sort();
const draftsOf = (sql: postgres.Sql, conversationId: string) =>
  sql`select * from agent_drafts where conversation_id = ${conversationId}`;
const appointmentsOf = (sql: postgres.Sql, t: TenantFixture) =>
  sql`select * from appointments where tenant_id = ${t.tenantId}`;

describe('opp:{id}:schedule', () => {
  it('list card → Propose times → draft with slots → Approve: one send, nothing booked until the customer taps', async ({
    harness: h,
    sql,
    newTenant,
  }) => {
    const t = await newTenant('Schedule flow');
    const ids = await clinic(h, sql, t);
    const lucia = await asked(sql, t, '¿Cuánto cuesta la limpieza dental?');
    // A price question that names no service: nothing to propose times of.
    const pablo = await asked(sql, t, '¿Cuánto cuesta?', 'Pablo');
    await runScan(h, t);
    const opp = await opportunityOf(sql, lucia.contactId);
    const plain = await opportunityOf(sql, pablo.contactId);

    // Four actions: a list of one section, in the business's language, within Meta's limits.
    const [card, ...more] = interactiveTo(h, staffPhone, `opp:${opp.id}:`);
    expect(more).toEqual([]);
    expect(card?.type).toBe('list');
    expect(card?.action.button).toBe('Decidir');
    expect(card?.action.sections).toHaveLength(1);
    expect(card?.action.sections?.[0]?.rows.map((r) => [r.id, r.title])).toEqual([
      [`opp:${opp.id}:accept`, 'Aceptar'],
      [`opp:${opp.id}:skip`, 'Omitir'],
      [`opp:${opp.id}:draft`, 'Redactar'],
      [`opp:${opp.id}:schedule`, 'Proponer cita'],
    ]);
    expect(card?.body.text).toContain('Cliente: Lucía Pérez');
    // Without a known service, the card keeps its three reply buttons.
    const [plainCard] = interactiveTo(h, staffPhone, `opp:${plain.id}:`);
    expect(plainCard?.type).toBe('button');
    expect(plainCard?.action.buttons?.map((b) => b.reply.id)).toEqual([
      `opp:${plain.id}:accept`,
      `opp:${plain.id}:skip`,
      `opp:${plain.id}:draft`,
    ]);

    const picked = await pick(h, t, `opp:${opp.id}:schedule`, 'Proponer cita');
    await h.settle();
    expect((await messageByProviderId(sql, picked)).payload.routing).toEqual({
      turn: false,
      outcome: 'opportunity_drafted',
      kind: 'opp',
      detail: opp.id,
    });
    // No model: the free-slot search picked the times.
    expect(script.chat.doGenerateCalls).toHaveLength(0);
    const [draft, ...otherDrafts] = await draftsOf(sql, lucia.conversationId);
    expect(otherDrafts).toEqual([]);
    expect(draft?.status).toBe('pending');
    const message = draft?.message as {
      type: string;
      body: string;
      buttons: Array<{ id: string; title: string }>;
    };
    expect(message.type).toBe('buttons');
    expect(message.buttons.length).toBeGreaterThanOrEqual(2);
    expect(message.buttons.length).toBeLessThanOrEqual(3);
    const slots = message.buttons.map((b) => parseSlotId(must(parseInteractiveId(b.id), 'id')));
    for (const slot of slots) {
      expect(slot).toMatchObject({ action: 'book', target: ids.cleaning, staffId: ids.ana });
      expect(slot?.start.getTime()).toBeGreaterThan(Date.now());
    }
    // In the customer's language, the times written out (the draft card shows the body).
    expect(message.body).toMatch(/^Hola Lucía, ¿te reservamos una cita de Limpieza dental\?/);
    expect(message.body.split('\n').filter((l) => l.startsWith('• '))).toHaveLength(
      message.buttons.length,
    );
    expect(await opportunityOf(sql, lucia.contactId)).toMatchObject({
      status: 'drafted',
      draft_id: draft?.id,
      decided_via: `whatsapp:${staffPhone}`,
    });
    const [draftCard] = interactiveTo(h, staffPhone, `msg:${draft?.id}:`);
    expect(idsOf(must(draftCard, 'draft card'))).toEqual([
      `msg:${draft?.id}:approve`,
      `msg:${draft?.id}:edit`,
      `msg:${draft?.id}:cancel`,
    ]);
    expect(draftCard?.body.text).toContain(message.body);
    expect(customerSends(h, lucia.phone)).toEqual([]);
    expect(await appointmentsOf(sql, t)).toEqual([]);

    // A double tap: stale, answered, still one draft.
    const again = await pick(h, t, `opp:${opp.id}:schedule`);
    await h.settle();
    expect((await messageByProviderId(sql, again)).payload.routing).toEqual({
      turn: false,
      outcome: 'stale',
      kind: 'opp',
      detail: 'opportunity already drafted',
    });
    expect(staffTexts(h).at(-1)).toBe('Esta oportunidad ya no está abierta; no se ha hecho nada.');
    expect(await draftsOf(sql, lucia.conversationId)).toHaveLength(1);

    await tap(h, t, staffPhone, `msg:${draft?.id}:approve`, 'Aprobar');
    await h.settle();
    const sent = customerSends(h, lucia.phone);
    expect(sent).toHaveLength(1);
    const proposal = sent[0]?.interactive as Interactive;
    expect(proposal.body.text).toBe(message.body);
    expect(idsOf(proposal)).toEqual(message.buttons.map((b) => b.id));
    expect((await opportunityOf(sql, lucia.contactId)).status).toBe('sent');
    expect(await appointmentsOf(sql, t)).toEqual([]);
    expect(await eventsOf(sql, opp.id)).toEqual([
      'accepted',
      'carded',
      'drafted',
      'queued',
      'sent',
    ]);

    // The customer's tap books through the normal booking path.
    const chosen = must(message.buttons[1], 'second time');
    await tap(h, t, lucia.phone, chosen.id, chosen.title);
    await h.settle();
    const booked = await appointmentsOf(sql, t);
    expect(booked).toHaveLength(1);
    expect(booked[0]).toMatchObject({
      contact_id: lucia.contactId,
      service_id: ids.cleaning,
      staff_id: ids.ana,
      status: 'confirmed',
      starts_at: slots[1]?.start,
    });
  });

  it('a recall proposes times of the visit’s service with the customer’s usual staff member', async ({
    harness: h,
    sql,
    newTenant,
  }) => {
    const t = await newTenant('Schedule recall');
    const ids = await clinic(h, sql, t);
    // Ben also does cleanings, from 07:00, while Ana starts at 15:00 (it is 10:00 there): the
    // soonest times are Ben's, but Lucía's last cleaning was with Ana.
    const [ben] = await sql`insert into staff (tenant_id, name) values (${t.tenantId}, 'Ben')
      returning id`;
    const benId = must(ben, 'ben').id as string;
    await sql`insert into service_staff (tenant_id, service_id, staff_id)
      values (${t.tenantId}, ${ids.cleaning}, ${benId})`;
    for (const weekday of [1, 2, 3, 4, 5, 6, 7]) {
      await sql`insert into working_hours (tenant_id, staff_id, weekday, start_time, end_time)
        values (${t.tenantId}, ${benId}, ${weekday}, '07:00', '20:00')`;
    }
    await sql`update working_hours set start_time = '15:00' where staff_id = ${ids.ana}`;
    await sql`update services set recall_after_days = 180 where id = ${ids.cleaning}`;
    const lucia = await asked(sql, t, 'Gracias, hasta la próxima');
    const start = new Date(Date.now() - 200 * DAY);
    const end = new Date(start.getTime() + 30 * 60_000);
    const [visit] = await sql`insert into appointments (tenant_id, contact_id, conversation_id,
        service_id, staff_id, period, starts_at, ends_at, booked_by, status)
      values (${t.tenantId}, ${lucia.contactId}, ${lucia.conversationId}, ${ids.cleaning},
        ${ids.ana}, tstzrange(${start}, ${end}), ${start}, ${end}, 'operator', 'completed')
      returning id`;
    await runScan(h, t);
    const opp = await opportunityOf(sql, lucia.contactId);
    expect(opp).toMatchObject({ kind: 'recall_due', evidence_id: must(visit, 'visit').id });
    const [card] = interactiveTo(h, staffPhone, `opp:${opp.id}:`);
    expect(card?.type).toBe('list');

    await pick(h, t, `opp:${opp.id}:schedule`, 'Proponer cita');
    await h.settle();
    const [draft] = await draftsOf(sql, lucia.conversationId);
    const message = draft?.message as { body: string; buttons: Array<{ id: string }> };
    expect(message.body).toMatch(/^Hola Lucía, ya te toca volver para Limpieza dental\./);
    const slots = message.buttons.map((b) => parseSlotId(must(parseInteractiveId(b.id), 'id')));
    expect(slots.length).toBeGreaterThanOrEqual(2);
    for (const slot of slots) expect(slot?.staffId).toBe(ids.ana);
    expect(await appointmentsOf(sql, t)).toHaveLength(1);
  });

  it('Arabic: the list labels are Arabic and within the limits', async ({
    harness: h,
    sql,
    newTenant,
  }) => {
    const t = await newTenant('Schedule Arabic');
    await clinic(h, sql, t, 'عيادة أسنان في دبي');
    const amal = await asked(sql, t, 'بكم تنظيف الأسنان؟', 'أمل');
    await runScan(h, t);
    const opp = await opportunityOf(sql, amal.contactId);
    const [card] = interactiveTo(h, staffPhone, `opp:${opp.id}:`);
    expect(card?.type).toBe('list');
    expect(card?.action.button).toBe('اختر');
    const rows = card?.action.sections?.[0]?.rows ?? [];
    expect(rows.map((r) => [r.id, r.title])).toEqual([
      [`opp:${opp.id}:accept`, 'قبول'],
      [`opp:${opp.id}:skip`, 'تخطي'],
      [`opp:${opp.id}:draft`, 'رسالة'],
      [`opp:${opp.id}:schedule`, 'اقتراح موعد'],
    ]);
    for (const row of rows) {
      expect([...row.title].length).toBeLessThanOrEqual(24);
      expect([...(row.description ?? '')].length).toBeLessThanOrEqual(72);
    }
    expect([...(card?.action.button ?? '')].length).toBeLessThanOrEqual(20);
  });

  it('no free time: a safe answer, recorded, nothing drafted or sent, still open', async ({
    harness: h,
    sql,
    newTenant,
  }) => {
    const t = await newTenant('Schedule no slots');
    const ids = await clinic(h, sql, t);
    const lucia = await asked(sql, t, '¿Cuánto cuesta la limpieza dental?');
    await runScan(h, t);
    const opp = await opportunityOf(sql, lucia.contactId);
    // Ana stops working: the card offered times, but there are none now.
    await sql`delete from working_hours where staff_id = ${ids.ana}`;
    const picked = await pick(h, t, `opp:${opp.id}:schedule`);
    await h.settle();
    expect((await messageByProviderId(sql, picked)).payload.routing).toEqual({
      turn: false,
      outcome: 'opportunity_no_slots',
      kind: 'opp',
      detail: opp.id,
    });
    expect(staffTexts(h).at(-1)).toBe(
      'No hay horas libres de Limpieza dental en los próximos 14 días; no se ha enviado nada. Puedes pulsar Redactar.',
    );
    expect((await opportunityOf(sql, lucia.contactId)).status).toBe('open');
    expect(await eventsOf(sql, opp.id)).toEqual(['carded', 'no_slots']);
    expect(await draftsOf(sql, lucia.conversationId)).toHaveLength(0);
    expect(customerSends(h, lucia.phone)).toEqual([]);
    expect(await appointmentsOf(sql, t)).toEqual([]);
  });

  it('stale, unknown, foreign and service-less ids change nothing; STOP refuses', async ({
    harness: h,
    sql,
    newTenant,
  }) => {
    const t = await newTenant('Schedule stale');
    const other = await newTenant('Schedule stale, other business');
    await clinic(h, sql, t);
    const lucia = await asked(sql, t, '¿Cuánto cuesta la limpieza dental?');
    const pablo = await asked(sql, t, '¿Cuánto cuesta?', 'Pablo');
    const marta = await asked(sql, t, '¿Cuánto cuesta la limpieza dental?', 'Marta');
    const foreign = await asked(sql, other, '¿Cuánto cuesta?', 'Otra');
    await runScan(h, t);
    await runScan(h, other);
    const opp = await opportunityOf(sql, lucia.contactId);
    const plain = await opportunityOf(sql, pablo.contactId);
    const stopped = await opportunityOf(sql, marta.contactId);
    const foreignOpp = await opportunityOf(sql, foreign.contactId);
    await pick(h, t, `opp:${opp.id}:skip`, 'Omitir');
    await h.settle();

    const cases = [
      [`opp:${opp.id}:schedule`, 'stale', 'opportunity already skipped'],
      [`opp:${foreignOpp.id}:schedule`, 'unknown', 'no such opportunity'],
      [`opp:${crypto.randomUUID()}:schedule`, 'unknown', 'no such opportunity'],
      ['opp:not-an-id:schedule', 'unknown', 'no opportunity action schedule'],
    ] as const;
    const before = staffTexts(h).length;
    const tapped: string[] = [];
    for (const [id] of cases) tapped.push(await pick(h, t, id));
    await h.settle();
    for (const [index, [, outcome, detail]] of cases.entries()) {
      const routing = (await messageByProviderId(sql, must(tapped[index], 'tap'))).payload.routing;
      expect(routing).toEqual({ turn: false, outcome, kind: 'opp', detail });
    }
    expect(staffTexts(h).slice(before)).toEqual(
      cases.map(() => 'Esta oportunidad ya no está abierta; no se ha hecho nada.'),
    );
    expect((await opportunityOf(sql, foreign.contactId)).status).toBe('open');

    // A forged schedule on a card without one: answered, still open.
    await pick(h, t, `opp:${plain.id}:schedule`);
    await h.settle();
    expect(staffTexts(h).at(-1)).toBe(
      'No hay un servicio reservable para proponer horas; no se ha enviado nada. Puedes pulsar Redactar.',
    );
    expect((await opportunityOf(sql, pablo.contactId)).status).toBe('open');

    // The customer opted out since the card: refused before any draft, recorded.
    await customerWrites(h, t, marta.phone, 'STOP');
    await h.settle();
    await pick(h, t, `opp:${stopped.id}:schedule`);
    await h.settle();
    expect((await opportunityOf(sql, marta.contactId)).status).toBe('skipped');
    expect(await eventsOf(sql, stopped.id)).toEqual(['accepted', 'carded', 'refused']);
    expect(staffTexts(h).at(-1)).toBe(
      'No se redactó el seguimiento: the customer opted out of messages.',
    );

    for (const c of [lucia, pablo, marta]) {
      expect(await draftsOf(sql, c.conversationId)).toHaveLength(0);
    }
    expect(customerSends(h, lucia.phone)).toEqual([]);
    expect(customerSends(h, pablo.phone)).toEqual([]);
    expect(customerSends(h, foreign.phone)).toEqual([]);
    expect(await appointmentsOf(sql, t)).toEqual([]);
    expect(script.chat.doGenerateCalls).toHaveLength(0);
  });
});
