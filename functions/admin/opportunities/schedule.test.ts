import type postgres from 'postgres';
import { describe, expect } from 'vitest';
import { parseInteractiveId, parseSlotId } from '../../../core/agent/ids';
import { customerWrites, graphSends, scriptedModels } from '../../../test/agent';
import type { TenantFixture } from '../../../test/fixtures';
import type { Harness } from '../../../test/harness';
import { it, must } from '../../../test/it';
import { bookableClinic, customerWhoAsked } from '../../../test/opportunities';
import type { AgentModelResolver } from '../../agent/models';
import { agentTurnJob } from '../../jobs/agent-turn';
import { opportunityDraftJob } from '../../jobs/opportunity-draft';

/**
 * `POST /admin/opportunities/{id}/schedule` (docs/follow-ups.md "Proposing times"): the page's
 * "Propose times", the same as a staff card's `opp:{id}:schedule` tap. The clinic and the customer
 * are set up as in functions/jobs/opportunity-schedule.test.ts; the opportunities are inserted as
 * the scan leaves them.
 */

const script = scriptedModels([]);
const models: AgentModelResolver = (choice) => script.resolver(choice);
it.override('harnessOptions', {
  jobs: [agentTurnJob({ models }), opportunityDraftJob({ models })],
});

const staffPhone = '34633000555';

/** The clinic of test/opportunities.ts, with this file's staff contact. */
const clinic = (h: Harness, sql: postgres.Sql, t: TenantFixture) =>
  bookableClinic(h, sql, t, { staffPhone });

/**
 * A customer who asked five days ago (`question`) and wrote an hour ago, and the open opportunity
 * the scan finds for it (`kind`, the question its evidence).
 */
async function opportunity(
  sql: postgres.Sql,
  t: TenantFixture,
  question: string,
  kind: 'price_no_booking' | 'quiet_after_handoff' = 'price_no_booking',
  name = 'Lucía Pérez',
) {
  const conv = await customerWhoAsked(sql, t, question, name);
  const action = kind === 'price_no_booking' ? 'offer_booking' : 'reply_to_customer';
  const [row] = await sql`insert into opportunities (tenant_id, contact_id, conversation_id, kind,
      evidence_id, evidence_text, suggested_action)
    values (${t.tenantId}, ${conv.contactId}, ${conv.conversationId}, ${kind},
      ${conv.inbound.id}, ${question}, ${action}) returning id`;
  return { ...conv, id: must(row, 'opportunity').id as string };
}

const schedule = (h: Harness, user: { id: string; email: string }, id: string) =>
  h.asUser(user, `/admin/opportunities/${id}/schedule`, { method: 'POST' });

type ErrorBody = { error: { code: string; message: string } };
const rowOf = async (sql: postgres.Sql, id: string) =>
  must((await sql`select * from opportunities where id = ${id}`)[0], 'opportunity');
const eventsOf = async (sql: postgres.Sql, id: string) =>
  (
    await sql`select event, actor, detail from opportunity_events where opportunity_id = ${id}`
  ).sort((a, b) => String(a.event).localeCompare(String(b.event)));
const draftsOf = (sql: postgres.Sql, conversationId: string) =>
  sql`select * from agent_drafts where conversation_id = ${conversationId}`;
const appointmentsOf = (sql: postgres.Sql, t: TenantFixture) =>
  sql`select id from appointments where tenant_id = ${t.tenantId}`;
const interactiveIds = (h: Harness, to: string) =>
  graphSends(h)
    .filter((b) => b.to === to && b.type === 'interactive')
    .flatMap((b) => {
      const i = b.interactive as {
        action: {
          buttons?: Array<{ reply: { id: string } }>;
          sections?: Array<{ rows: Array<{ id: string }> }>;
        };
      };
      return [
        ...(i.action.buttons ?? []).map((x) => x.reply.id),
        ...(i.action.sections ?? []).flatMap((s) => s.rows.map((r) => r.id)),
      ];
    });

describe('POST /admin/opportunities/{id}/schedule', () => {
  it('drafts a proposal with slot buttons, recording who decided; nothing sent or booked; a second call is a 409', async ({
    harness: h,
    sql,
    newTenant,
  }) => {
    const t = await newTenant('Schedule API');
    const ids = await clinic(h, sql, t);
    const lucia = await opportunity(sql, t, '¿Cuánto cuesta la limpieza dental?');

    const res = await schedule(h, t.agent, lucia.id);
    expect(res.status).toBe(200);
    await h.settle();
    const [draft, ...more] = await draftsOf(sql, lucia.conversationId);
    expect(more).toEqual([]);
    expect(draft?.status).toBe('pending');
    expect(await res.json()).toMatchObject({
      id: lucia.id,
      status: 'drafted',
      draft_id: draft?.id,
      decided_by_user_id: t.agent.id,
      decided_via: 'operator_api',
    });
    const message = draft?.message as {
      type: string;
      body: string;
      buttons: Array<{ id: string }>;
    };
    expect(message.type).toBe('buttons');
    expect(message.buttons.length).toBeGreaterThanOrEqual(2);
    for (const b of message.buttons) {
      const slot = parseSlotId(must(parseInteractiveId(b.id), 'slot id'));
      expect(slot).toMatchObject({ action: 'book', target: ids.cleaning, staffId: ids.ana });
      expect(slot?.start.getTime()).toBeGreaterThan(Date.now());
    }
    expect(message.body).toMatch(/^Hola Lucía, ¿te reservamos una cita de Limpieza dental\?/);
    // The usual approval card went to the staff; no model, nothing to the customer, nothing booked.
    expect(interactiveIds(h, staffPhone)).toContain(`msg:${draft?.id}:approve`);
    expect(script.chat.doGenerateCalls).toHaveLength(0);
    expect(graphSends(h).filter((b) => b.to === lucia.phone)).toEqual([]);
    expect(await appointmentsOf(sql, t)).toEqual([]);
    expect(await eventsOf(sql, lucia.id)).toEqual([
      { event: 'accepted', actor: `operator:${t.agent.id}`, detail: { via: 'operator_api' } },
      expect.objectContaining({ event: 'drafted' }),
    ]);

    const twice = await schedule(h, t.owner, lucia.id);
    expect(twice.status).toBe(409);
    expect(((await twice.json()) as ErrorBody).error.code).toBe('CONFLICT');
    await h.settle();
    expect(await draftsOf(sql, lucia.conversationId)).toHaveLength(1);
    expect(await rowOf(sql, lucia.id)).toMatchObject({
      status: 'drafted',
      decided_by_user_id: t.agent.id,
    });
  });

  it.for([
    ['a quiet_after_handoff', 'quiet_after_handoff', 'Necesito hablar con alguien', 'service'],
    ['a price question naming no service', 'price_no_booking', '¿Cuánto cuesta?', 'service'],
    ['no free time', 'price_no_booking', '¿Cuánto cuesta la limpieza dental?', 'free time'],
  ] as const)(
    '%s: 422 saying so, recorded, still open, nothing drafted',
    async ([, kind, question, said], { harness: h, sql, newTenant }) => {
      const t = await newTenant(`Schedule API none ${kind} ${said}`);
      const ids = await clinic(h, sql, t);
      if (said === 'free time') await sql`delete from working_hours where staff_id = ${ids.ana}`;
      const opp = await opportunity(sql, t, question, kind);

      const res = await schedule(h, t.agent, opp.id);
      expect(res.status).toBe(422);
      const { error } = (await res.json()) as ErrorBody;
      expect(error.code).toBe('UNPROCESSABLE');
      expect(error.message).toContain(said === 'service' ? 'No bookable service' : 'no free time');
      expect(error.message).toContain('still open');
      await h.settle();
      expect(await rowOf(sql, opp.id)).toMatchObject({ status: 'open', decided_by_user_id: null });
      expect(await eventsOf(sql, opp.id)).toEqual([
        expect.objectContaining({ event: 'no_slots', actor: `operator:${t.agent.id}` }),
      ]);
      expect(await draftsOf(sql, opp.conversationId)).toHaveLength(0);
      expect(graphSends(h).filter((b) => b.to === opp.phone)).toEqual([]);
    },
  );

  it('a sending rule refusing: 200 with the opportunity skipped and the reason', async ({
    harness: h,
    sql,
    newTenant,
  }) => {
    const t = await newTenant('Schedule API refused');
    await clinic(h, sql, t);
    const marta = await opportunity(
      sql,
      t,
      '¿Cuánto cuesta la limpieza dental?',
      undefined,
      'Marta',
    );
    await customerWrites(h, t, marta.phone, 'STOP');
    await h.settle();

    const res = await schedule(h, t.agent, marta.id);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({
      id: marta.id,
      status: 'skipped',
      decided_by_user_id: t.agent.id,
      refused_reason: 'the customer opted out of messages',
    });
    expect(await draftsOf(sql, marta.conversationId)).toHaveLength(0);
  });

  it('another business’s or an unknown id: 404, and theirs stays open', async ({
    harness: h,
    sql,
    newTenant,
  }) => {
    const t = await newTenant('Schedule API mine');
    const other = await newTenant('Schedule API theirs');
    await clinic(h, sql, other);
    const theirs = await opportunity(sql, other, '¿Cuánto cuesta la limpieza dental?');
    for (const id of [theirs.id, crypto.randomUUID()]) {
      const res = await schedule(h, t.owner, id);
      expect(res.status).toBe(404);
      expect(((await res.json()) as ErrorBody).error.code).toBe('NOT_FOUND');
    }
    expect((await rowOf(sql, theirs.id)).status).toBe('open');
    expect(await eventsOf(sql, theirs.id)).toEqual([]);
  });
});
