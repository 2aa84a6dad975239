import type postgres from 'postgres';
import { describe, expect } from 'vitest';
import { afterQuietHours } from '../../core/agent/quiet-hours';
import {
  customerWrites,
  graphSends,
  messageByProviderId,
  replyWith,
  scriptedModels,
} from '../../test/agent';
import { createConversation } from '../../test/conversations';
import type { TenantFixture } from '../../test/fixtures';
import type { Harness } from '../../test/harness';
import { it, must } from '../../test/it';
import { opportunityOf, runScan, zoneAtLocalHour } from '../../test/opportunities';
import type { AgentModelResolver } from '../agent/models';
import { agentTurnJob } from './agent-turn';
import { opportunityDraftJob } from './opportunity-draft';

/**
 * Follow-ups, phase 2, end to end (docs/follow-ups.md): the daily scan job (delivered signed, as
 * QStash does) cards the staff on WhatsApp (Graph stand-in), the staff taps through the signed
 * webhook, the agent (AI SDK mock model) writes the follow-up as a draft on the usual `msg:` card,
 * and only its approval sends anything to the customer, through the real send job.
 */

let script = scriptedModels([]);
const models: AgentModelResolver = (choice) => script.resolver(choice);
it.override('harnessOptions', {
  jobs: [agentTurnJob({ models }), opportunityDraftJob({ models })],
});

const DAY = 86_400_000;
const staffPhone = '34633000333';

/** A business with a staff contact on WhatsApp who has written to its number (window open). */
async function business(h: Harness, sql: postgres.Sql, t: TenantFixture, localHour = 12) {
  await sql`update tenant_settings set time_zone = ${zoneAtLocalHour(localHour)},
      escalation_contacts = ${sql.json([{ name: 'Jefa', whatsapp: staffPhone }])},
      business_description = 'Clínica dental en Madrid'
    where tenant_id = ${t.tenantId}`;
  await customerWrites(h, t, staffPhone, 'hola');
  await h.settle();
}

/**
 * A customer who asked a price five days ago and did not book (what the scan finds); with
 * `windowOpen` they also wrote an hour ago, so a free-form follow-up may still be sent.
 */
async function priceQuestion(
  sql: postgres.Sql,
  t: TenantFixture,
  options: { name?: string; windowOpen?: boolean } = {},
) {
  const asked = new Date(Date.now() - 5 * DAY);
  const conv = await createConversation(sql, t, {
    lastInboundAt: asked,
    now: asked,
    name: options.name ?? 'Lucía',
  });
  await sql`update messages set content = '¿Cuánto cuesta el blanqueamiento?'
    where id = ${conv.inbound.id}`;
  await sql`update conversations set last_message_at = ${asked},
      last_inbound_at = ${options.windowOpen === false ? asked : new Date(Date.now() - 3_600_000)}
    where id = ${conv.conversationId}`;
  const phone = must(
    (await sql`select phone from contacts where id = ${conv.contactId}`)[0],
    'contact',
  ).phone as string;
  return { ...conv, phone };
}

/** The daily scan job, delivered (signed) as QStash delivers it. */
type Interactive = {
  body: { text: string };
  action: { buttons: Array<{ reply: { id: string; title: string } }> };
};
const staffCards = (h: Harness, fragment: string) =>
  graphSends(h)
    .filter((b) => b.to === staffPhone && b.type === 'interactive')
    .map((b) => b.interactive as Interactive)
    .filter((i) => i.action.buttons.some((b) => b.reply.id.includes(fragment)));
const staffTexts = (h: Harness) =>
  graphSends(h)
    .filter((b) => b.to === staffPhone && b.type === 'text')
    .map((b) => (b.text as { body: string }).body);
const customerSends = (h: Harness, phone: string) => graphSends(h).filter((b) => b.to === phone);

const tap = (h: Harness, t: TenantFixture, id: string, title = 'x') =>
  customerWrites(h, t, staffPhone, { type: 'interactive', buttonReply: { id, title } });

const eventsOf = async (sql: postgres.Sql, opportunityId: string) =>
  (
    await sql`select event from opportunity_events where opportunity_id = ${opportunityId}
      order by created_at, id`
  ).map((e) => e.event);

const draftsOf = (sql: postgres.Sql, conversationId: string) =>
  sql`select * from agent_drafts where conversation_id = ${conversationId}`;

describe('opportunity cards on WhatsApp', () => {
  it('scan → card → Draft → draft card → Approve: exactly one send to the customer', async ({
    harness: h,
    sql,
    newTenant,
  }) => {
    const t = await newTenant('Cards flow');
    await business(h, sql, t);
    const lucia = await priceQuestion(sql, t);
    await runScan(h, t);

    const opp = await opportunityOf(sql, lucia.contactId);
    const [card, ...more] = staffCards(h, opp.id);
    expect(more).toEqual([]);
    // In the business's language (its description is Spanish), with the customer, reason, evidence.
    expect(card?.body.text).toBe(
      'Oportunidad de seguimiento\nCliente: Lucía\nMotivo: preguntó un precio y no reservó\nEvidencia: "¿Cuánto cuesta el blanqueamiento?"',
    );
    expect(card?.action.buttons.map((b) => [b.reply.id, b.reply.title])).toEqual([
      [`opp:${opp.id}:accept`, 'Aceptar'],
      [`opp:${opp.id}:skip`, 'Omitir'],
      [`opp:${opp.id}:draft`, 'Redactar'],
    ]);
    expect(customerSends(h, lucia.phone)).toEqual([]);

    script = scriptedModels([
      replyWith('Hola Lucía, ¿te reservo una cita para el blanqueamiento?'),
    ]);
    await tap(h, t, `opp:${opp.id}:draft`, 'Redactar');
    await h.settle();
    // The agent read the conversation and was asked for a follow-up in the customer's language.
    expect(script.chat.doGenerateCalls).toHaveLength(1);
    const [draft, ...otherDrafts] = await draftsOf(sql, lucia.conversationId);
    expect(otherDrafts).toEqual([]);
    expect(draft).toMatchObject({
      status: 'pending',
      preview: 'Hola Lucía, ¿te reservo una cita para el blanqueamiento?',
    });
    expect(await opportunityOf(sql, lucia.contactId)).toMatchObject({
      status: 'drafted',
      draft_id: draft?.id,
      decided_via: `whatsapp:${staffPhone}`,
    });
    expect(staffTexts(h)).toContain('Redactando el mensaje; te llegará para aprobarlo.');
    // The usual draft card, and still nothing to the customer.
    const draftCard = staffCards(h, `msg:${draft?.id}`);
    expect(draftCard.map((c) => c.action.buttons.map((b) => b.reply.id))).toEqual([
      [`msg:${draft?.id}:approve`, `msg:${draft?.id}:edit`, `msg:${draft?.id}:cancel`],
    ]);
    expect(customerSends(h, lucia.phone)).toEqual([]);

    // A double tap: stale, answered, no second draft, no second model call.
    const again = await tap(h, t, `opp:${opp.id}:accept`, 'Aceptar');
    await h.settle();
    expect((await messageByProviderId(sql, again)).payload.routing).toEqual({
      turn: false,
      outcome: 'stale',
      kind: 'opp',
      detail: 'opportunity already drafted',
    });
    expect(await draftsOf(sql, lucia.conversationId)).toHaveLength(1);
    expect(script.chat.doGenerateCalls).toHaveLength(1);

    await tap(h, t, `msg:${draft?.id}:approve`, 'Aprobar');
    await h.settle();
    expect(customerSends(h, lucia.phone).map((b) => b.text)).toEqual([
      { body: 'Hola Lucía, ¿te reservo una cita para el blanqueamiento?' },
    ]);
    expect((await opportunityOf(sql, lucia.contactId)).status).toBe('sent');
    expect(await eventsOf(sql, opp.id)).toEqual([
      'carded',
      'accepted',
      'drafted',
      'queued',
      'sent',
    ]);
  });

  it('Skip records who and sends nothing; stale, unknown and foreign ids change nothing', async ({
    harness: h,
    sql,
    newTenant,
  }) => {
    const t = await newTenant('Cards skip');
    const other = await newTenant('Cards skip, other business');
    await business(h, sql, t);
    const lucia = await priceQuestion(sql, t);
    const foreign = await priceQuestion(sql, other, { name: 'Otra' });
    await runScan(h, t);
    await runScan(h, other);
    const opp = await opportunityOf(sql, lucia.contactId);
    const foreignOpp = await opportunityOf(sql, foreign.contactId);
    script = scriptedModels([]);

    await tap(h, t, `opp:${opp.id}:skip`, 'Omitir');
    await h.settle();
    expect(await opportunityOf(sql, lucia.contactId)).toMatchObject({
      status: 'skipped',
      decided_via: `whatsapp:${staffPhone}`,
      decided_by_user_id: null,
      decided_at: expect.any(Date),
    });
    expect(staffTexts(h)).toContain('Omitida: no se enviará nada.');

    const cases = [
      [`opp:${opp.id}:draft`, 'stale', 'opportunity already skipped'],
      [`opp:${foreignOpp.id}:draft`, 'unknown', 'no such opportunity'],
      [`opp:${crypto.randomUUID()}:accept`, 'unknown', 'no such opportunity'],
      ['opp:not-an-id:accept', 'unknown', 'no opportunity action accept'],
      [`opp:${opp.id}:explode`, 'unknown', 'no opportunity action explode'],
    ] as const;
    const before = staffTexts(h).length;
    const tapped: string[] = [];
    for (const [id] of cases) tapped.push(await tap(h, t, id));
    await h.settle();
    for (const [index, [, outcome, detail]] of cases.entries()) {
      const routing = (await messageByProviderId(sql, must(tapped[index], 'tap'))).payload.routing;
      expect(routing).toEqual({ turn: false, outcome, kind: 'opp', detail });
    }
    // Each gets a short, safe answer, and nothing else happens.
    expect(staffTexts(h).slice(before)).toEqual(
      cases.map(() => 'Esta oportunidad ya no está abierta; no se ha hecho nada.'),
    );
    expect((await opportunityOf(sql, foreign.contactId)).status).toBe('open');
    expect(script.chat.doGenerateCalls).toHaveLength(0);
    expect(await draftsOf(sql, lucia.conversationId)).toHaveLength(0);
    expect(customerSends(h, lucia.phone)).toEqual([]);
    expect(customerSends(h, foreign.phone)).toEqual([]);
    expect(await eventsOf(sql, opp.id)).toEqual(['carded', 'skipped']);
  });

  it('cards at most 3 a day; the rest wait in the page', async ({ harness: h, sql, newTenant }) => {
    const t = await newTenant('Cards budget');
    await business(h, sql, t);
    for (const name of ['Ana', 'Berta', 'Carla', 'Dora']) await priceQuestion(sql, t, { name });
    await runScan(h, t);
    const carded = await sql`select id from opportunities
      where tenant_id = ${t.tenantId} and carded_at is not null`;
    expect(carded).toHaveLength(3);
    const cardsOf = async () => {
      const ids = (await sql`select id from opportunities where tenant_id = ${t.tenantId}`).map(
        (o) => o.id as string,
      );
      return ids.flatMap((id) => staffCards(h, `opp:${id}:`));
    };
    expect(await cardsOf()).toHaveLength(3);
    // Later the same day another customer qualifies: today's budget is spent.
    await priceQuestion(sql, t, { name: 'Eva' });
    await runScan(h, t);
    expect(await cardsOf()).toHaveLength(3);
    expect(
      await sql`select id from opportunities where tenant_id = ${t.tenantId} and carded_at is not null`,
    ).toHaveLength(3);
    expect(
      await sql`select id from opportunities where tenant_id = ${t.tenantId} and status = 'open'`,
    ).toHaveLength(5);
  });
});

describe('the scan by hand', () => {
  it('cards the staff like the daily job (POST /admin/opportunities/scan)', async ({
    harness: h,
    sql,
    newTenant,
  }) => {
    const t = await newTenant('Cards by hand');
    await business(h, sql, t);
    const lucia = await priceQuestion(sql, t);
    const res = await h.asUser(t.owner, '/admin/opportunities/scan', { method: 'POST' });
    expect(res.status).toBe(200);
    await h.settle();
    const opp = await opportunityOf(sql, lucia.contactId);
    expect(staffCards(h, `opp:${opp.id}:`)).toHaveLength(1);
    expect(opp.carded_at).toEqual(expect.any(Date));
  });
});

describe('sending rules', () => {
  it('an opted-out customer (STOP) gets no follow-up: refused before the model, recorded, staff told', async ({
    harness: h,
    sql,
    newTenant,
  }) => {
    const t = await newTenant('Rules STOP');
    await business(h, sql, t);
    const lucia = await priceQuestion(sql, t);
    await runScan(h, t);
    const opp = await opportunityOf(sql, lucia.contactId);
    await customerWrites(h, t, lucia.phone, 'STOP');
    await h.settle();
    script = scriptedModels([replyWith('No debería escribirse.')]);
    await tap(h, t, `opp:${opp.id}:draft`);
    await h.settle();
    expect(script.chat.doGenerateCalls).toHaveLength(0);
    expect(await draftsOf(sql, lucia.conversationId)).toHaveLength(0);
    expect((await opportunityOf(sql, lucia.contactId)).status).toBe('skipped');
    const [refused] =
      await sql`select detail from opportunity_events where opportunity_id = ${opp.id} and event = 'refused'`;
    expect(refused?.detail).toEqual({ reason: 'the customer opted out of messages' });
    expect(staffTexts(h)).toContain(
      'No se redactó el seguimiento: the customer opted out of messages.',
    );
    const agentSends = await sql`select id from messages
      where conversation_id = ${lucia.conversationId} and sender = 'agent'`;
    expect(agentSends).toEqual([]);
  });

  it('at most one follow-up per customer in 7 days', async ({ harness: h, sql, newTenant }) => {
    const t = await newTenant('Rules cap');
    await business(h, sql, t);
    const lucia = await priceQuestion(sql, t);
    // A follow-up of hers (a recall) was sent two days ago.
    await sql`insert into opportunities (tenant_id, contact_id, conversation_id, kind, evidence_id,
        evidence_text, suggested_action, status, decided_at)
      values (${t.tenantId}, ${lucia.contactId}, ${lucia.conversationId}, 'recall_due',
        ${crypto.randomUUID()}, 'Limpieza · 2027-01-01 10:00', 'offer_recall_appointment', 'sent',
        ${new Date(Date.now() - 2 * DAY)})`;
    await runScan(h, t);
    const opp = must(
      (
        await sql`select id from opportunities where contact_id = ${lucia.contactId} and status = 'open'`
      )[0],
      'open opportunity',
    );
    script = scriptedModels([replyWith('No debería escribirse.')]);
    const res = await h.asUser(t.agent, `/admin/opportunities/${opp.id}/draft`, { method: 'POST' });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { status: string }).status).toBe('accepted');
    await h.settle();
    expect(script.chat.doGenerateCalls).toHaveLength(0);
    expect(await draftsOf(sql, lucia.conversationId)).toHaveLength(0);
    const [row] = await sql`select status from opportunities where id = ${opp.id}`;
    expect(row?.status).toBe('skipped');
    const [refused] =
      await sql`select detail from opportunity_events where opportunity_id = ${opp.id} and event = 'refused'`;
    expect(refused?.detail).toEqual({
      reason: 'the customer already has a follow-up from the last 7 days',
    });
  });

  // The cap's period is the business's setting (follow_up_min_days_apart, 7 by default): the same
  // follow-up ten days ago refuses under a 14-day cap and does not under the default.
  it.for([
    [null, 'drafted'],
    [14, 'skipped'],
  ] as const)(
    'a follow-up ten days ago with a cap of %s days: the new one is %s',
    async ([days, outcome], { harness: h, sql, newTenant }) => {
      const t = await newTenant(`Rules cap setting ${days ?? 'default'}`);
      await business(h, sql, t);
      if (days !== null) {
        const res = await h.asUser(t.owner, '/admin/settings', {
          method: 'PATCH',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ follow_up_min_days_apart: days }),
        });
        expect(res.status).toBe(200);
      }
      const lucia = await priceQuestion(sql, t);
      await sql`insert into opportunities (tenant_id, contact_id, conversation_id, kind, evidence_id,
        evidence_text, suggested_action, status, decided_at)
      values (${t.tenantId}, ${lucia.contactId}, ${lucia.conversationId}, 'recall_due',
        ${crypto.randomUUID()}, 'Limpieza · 2027-01-01 10:00', 'offer_recall_appointment', 'sent',
        ${new Date(Date.now() - 10 * DAY)})`;
      await runScan(h, t);
      const opp = must(
        (
          await sql`select id from opportunities where contact_id = ${lucia.contactId} and status = 'open'`
        )[0],
        'open opportunity',
      );
      script = scriptedModels([
        replyWith('Hola Lucía, ¿te reservo una cita para el blanqueamiento?'),
      ]);
      const res = await h.asUser(t.agent, `/admin/opportunities/${opp.id}/draft`, {
        method: 'POST',
      });
      expect(res.status).toBe(200);
      await h.settle();
      const [row] = await sql`select status from opportunities where id = ${opp.id}`;
      expect(row?.status).toBe(outcome);
      const refusals = await sql`select detail from opportunity_events
      where opportunity_id = ${opp.id} and event = 'refused'`;
      expect(refusals.map((r) => r.detail)).toEqual(
        days === null
          ? []
          : [{ reason: `the customer already has a follow-up from the last ${days} days` }],
      );
      expect(script.chat.doGenerateCalls).toHaveLength(days === null ? 1 : 0);
    },
  );

  it('no cold outreach: a customer who never wrote gets no follow-up', async ({
    harness: h,
    sql,
    newTenant,
  }) => {
    const t = await newTenant('Rules cold');
    await business(h, sql, t);
    // Booked by phone, never wrote: the detectors never propose them; the rule holds even so.
    const cold = await createConversation(sql, t, { lastInboundAt: null, name: 'Fría' });
    const [opp] = await sql`insert into opportunities (tenant_id, contact_id, conversation_id, kind,
        evidence_id, evidence_text, suggested_action)
      values (${t.tenantId}, ${cold.contactId}, ${cold.conversationId}, 'no_show_or_cancelled',
        ${crypto.randomUUID()}, 'Limpieza · 2027-01-01 10:00', 'offer_new_appointment') returning id`;
    script = scriptedModels([replyWith('No debería escribirse.')]);
    const res = await h.asUser(t.agent, `/admin/opportunities/${opp?.id}/draft`, {
      method: 'POST',
    });
    expect(res.status).toBe(200);
    await h.settle();
    expect(script.chat.doGenerateCalls).toHaveLength(0);
    const [refused] =
      await sql`select detail from opportunity_events where opportunity_id = ${opp?.id} and event = 'refused'`;
    expect(refused?.detail).toEqual({
      reason: 'the customer never wrote to the business (no cold outreach)',
    });
  });

  it('approved in quiet hours, the send waits for 09:00 on the business clock', async ({
    harness: h,
    sql,
    newTenant,
  }) => {
    const t = await newTenant('Rules quiet hours');
    await business(h, sql, t, 23);
    const lucia = await priceQuestion(sql, t);
    await runScan(h, t);
    const opp = await opportunityOf(sql, lucia.contactId);
    script = scriptedModels([replyWith('Hola Lucía, ¿te reservo cita?')]);
    await h.asUser(t.agent, `/admin/opportunities/${opp.id}/draft`, { method: 'POST' });
    await h.settle();
    const draftId = (await opportunityOf(sql, lucia.contactId)).draft_id as string;
    const approved = await h.asUser(t.agent, `/admin/drafts/${draftId}/approve`, {
      method: 'POST',
    });
    expect(approved.status).toBe(200);
    // The send job's not-before (the outbox row QStash gets it from).
    const [queued] = await sql`select m.status, o.not_before from messages m
      join job_outbox o on o.kind = 'send' and o.payload->>'messageId' = m.id::text
      where m.conversation_id = ${lucia.conversationId} and m.sender = 'agent'`;
    const [settings] =
      await sql`select time_zone from tenant_settings where tenant_id = ${t.tenantId}`;
    const morning = afterQuietHours(new Date(), settings?.time_zone as string);
    // Not refused: queued for the morning (the 23:00 local hour puts it 9–11 hours ahead).
    const send = must(queued, 'the queued follow-up');
    expect(send.status).toBe('queued');
    const notBefore = (send.not_before as Date).getTime();
    expect(notBefore).toBeGreaterThan(Date.now() + 8 * 3_600_000);
    expect(notBefore).toBeLessThanOrEqual(morning.getTime() + 60_000);
  });

  it('a free-form follow-up whose window closed before approval is refused then; nothing is sent', async ({
    harness: h,
    sql,
    newTenant,
  }) => {
    const t = await newTenant('Rules window');
    await business(h, sql, t);
    const lucia = await priceQuestion(sql, t);
    await runScan(h, t);
    const opp = await opportunityOf(sql, lucia.contactId);
    script = scriptedModels([replyWith('Hola Lucía, ¿te reservo cita?')]);
    await h.asUser(t.agent, `/admin/opportunities/${opp.id}/draft`, { method: 'POST' });
    await h.settle();
    const draftId = (await opportunityOf(sql, lucia.contactId)).draft_id as string;
    // Written as free text inside the window, which closes before anyone approves it.
    // (A follow-up drafted outside the window is a template: opportunity-templates.test.ts.)
    await sql`update conversations set last_inbound_at = ${new Date(Date.now() - 2 * DAY)}
      where id = ${lucia.conversationId}`;
    const approved = await h.asUser(t.agent, `/admin/drafts/${draftId}/approve`, {
      method: 'POST',
    });
    expect(approved.status).toBeGreaterThanOrEqual(400);
    await h.settle();
    expect(customerSends(h, lucia.phone)).toEqual([]);
    expect((await opportunityOf(sql, lucia.contactId)).status).toBe('drafted');
  });
});

describe('POST /admin/opportunities/{id}/draft', () => {
  it('accepts once (409 after), and the draft still waits for approval', async ({
    harness: h,
    sql,
    newTenant,
  }) => {
    const t = await newTenant('Draft API');
    await business(h, sql, t);
    const lucia = await priceQuestion(sql, t);
    await runScan(h, t);
    const opp = await opportunityOf(sql, lucia.contactId);
    script = scriptedModels([replyWith('Hola Lucía, ¿te reservo cita?')]);
    const first = await h.asUser(t.agent, `/admin/opportunities/${opp.id}/draft`, {
      method: 'POST',
    });
    expect(first.status).toBe(200);
    expect(await first.json()).toMatchObject({
      id: opp.id,
      status: 'accepted',
      decided_by_user_id: t.agent.id,
      decided_via: 'operator_api',
    });
    const second = await h.asUser(t.agent, `/admin/opportunities/${opp.id}/draft`, {
      method: 'POST',
    });
    expect(second.status).toBe(409);
    await h.settle();
    expect(script.chat.doGenerateCalls).toHaveLength(1);
    expect((await draftsOf(sql, lucia.conversationId)).map((d) => d.status)).toEqual(['pending']);
    expect(customerSends(h, lucia.phone)).toEqual([]);
    const skip = await h.asUser(t.agent, `/admin/opportunities/${opp.id}/skip`, { method: 'POST' });
    expect(skip.status).toBe(409);
  });
});
