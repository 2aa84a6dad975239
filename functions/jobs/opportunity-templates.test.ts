import type postgres from 'postgres';
import { describe, expect } from 'vitest';
import { afterQuietHours } from '../../core/agent/quiet-hours';
import {
  defaultTemplateFixtures,
  followUpTemplateFixtures,
  type TemplateFixture,
} from '../../dev/stand-ins/meta-graph-templates';
import { customerWrites, graphSends, replyWith, scriptedModels } from '../../test/agent';
import { createConversation } from '../../test/conversations';
import type { TenantFixture } from '../../test/fixtures';
import { createHarness, type Harness } from '../../test/harness';
import { it, must } from '../../test/it';
import { opportunityOf, runScan, zoneAtLocalHour } from '../../test/opportunities';
import type { AgentModelResolver } from '../agent/models';
import { agentTurnJob } from './agent-turn';
import { opportunityDraftJob } from './opportunity-draft';

/**
 * Follow-ups outside WhatsApp's 24-hour window, end to end (docs/follow-ups.md): the draft
 * proposes the business's approved follow-up template with its parameters filled, the staff card
 * shows the text the customer will read, and approving sends exactly that template through the
 * send job (Graph stand-in). A marketing template needs the customer's recorded opt-in; without a
 * usable template nothing is drafted and the refusal is recorded with its code. Inside the window
 * the agent writes free text, as before.
 */

let script = scriptedModels([]);
const models: AgentModelResolver = (choice) => script.resolver(choice);
it.override('harnessOptions', {
  jobs: [agentTurnJob({ models }), opportunityDraftJob({ models })],
});

const DAY = 86_400_000;
const staffPhone = '34633000444';

/**
 * A business with a staff contact on WhatsApp, and `templates` synced from the Graph stand-in
 * (the default catalogue, plus the follow-up ones unless told otherwise).
 */
async function business(
  h: Harness,
  sql: postgres.Sql,
  t: TenantFixture,
  options: { templates?: TemplateFixture[]; localHour?: number } = {},
) {
  await sql`update tenant_settings set time_zone = ${zoneAtLocalHour(options.localHour ?? 12)},
      escalation_contacts = ${sql.json([{ name: 'Jefa', whatsapp: staffPhone }])},
      business_description = 'Clínica dental en Madrid'
    where tenant_id = ${t.tenantId}`;
  h.useTemplates(t, options.templates ?? [...defaultTemplateFixtures, ...followUpTemplateFixtures]);
  const synced = await h.asUser(t.owner, '/admin/templates/sync', { method: 'POST' });
  expect(synced.status).toBe(200);
  await customerWrites(h, t, staffPhone, 'hola');
  await h.settle();
}

/** A customer who asked a price five days ago, did not book, and has not written since. */
async function priceQuestion(
  sql: postgres.Sql,
  t: TenantFixture,
  options: { windowOpen?: boolean } = {},
) {
  const asked = new Date(Date.now() - 5 * DAY);
  const conv = await createConversation(sql, t, {
    lastInboundAt: asked,
    now: asked,
    name: 'Lucía',
  });
  await sql`update messages set content = '¿Cuánto cuesta el blanqueamiento?'
    where id = ${conv.inbound.id}`;
  await sql`update conversations set last_message_at = ${asked},
      last_inbound_at = ${options.windowOpen ? new Date(Date.now() - 3_600_000) : asked}
    where id = ${conv.conversationId}`;
  const phone = must(
    (await sql`select phone from contacts where id = ${conv.contactId}`)[0],
    'contact',
  ).phone as string;
  return { ...conv, phone };
}

const optInToMarketing = async (h: Harness, t: TenantFixture, contactId: string) => {
  const res = await h.asUser(t.owner, `/admin/contacts/${contactId}/opt-ins`, {
    method: 'POST',
    body: JSON.stringify({ action: 'opt_in', scope: 'marketing', source: 'web_form' }),
  });
  expect(res.status).toBe(201);
};

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
  sql`select event, detail from opportunity_events where opportunity_id = ${opportunityId}
    order by created_at, id`;
const draftsOf = (sql: postgres.Sql, conversationId: string) =>
  sql`select * from agent_drafts where conversation_id = ${conversationId}`;

const OFFER_ES =
  'Hola Lucía, te escribimos de Templates flow. ¿Quieres que te reservemos una cita? Responde a este mensaje y te ayudamos.';

describe('a follow-up outside the 24-hour window', () => {
  it('proposes the approved marketing template (opt-in recorded); approving sends it once', async ({
    harness: h,
    sql,
    newTenant,
  }) => {
    const t = await newTenant('Templates flow');
    await business(h, sql, t);
    const lucia = await priceQuestion(sql, t);
    await optInToMarketing(h, t, lucia.contactId);
    await runScan(h, t);
    const opp = await opportunityOf(sql, lucia.contactId);

    script = scriptedModels([replyWith('No debería escribirse: la ventana está cerrada.')]);
    await tap(h, t, `opp:${opp.id}:draft`, 'Redactar');
    await h.settle();
    // The template's text is Meta's: no model call.
    expect(script.chat.doGenerateCalls).toHaveLength(0);
    const [draft, ...others] = await draftsOf(sql, lucia.conversationId);
    expect(others).toEqual([]);
    expect(draft).toMatchObject({ status: 'pending', preview: OFFER_ES });
    expect(draft?.message).toMatchObject({
      type: 'template',
      name: 'follow_up_offer',
      language: 'es',
    });
    expect(await opportunityOf(sql, lucia.contactId)).toMatchObject({
      status: 'drafted',
      draft_id: draft?.id,
    });
    // The staff approve what the customer will read; a template is approved or cancelled, not edited.
    const [card, ...moreCards] = staffCards(h, `msg:${draft?.id}`);
    expect(moreCards).toEqual([]);
    expect(card?.body.text).toBe(
      `Borrador de respuesta a Lucía en WhatsApp:\n\n${OFFER_ES}\n\n(Plantilla aprobada de WhatsApp: follow_up_offer, es)`,
    );
    expect(card?.action.buttons.map((b) => b.reply.id)).toEqual([
      `msg:${draft?.id}:approve`,
      `msg:${draft?.id}:cancel`,
    ]);
    expect(customerSends(h, lucia.phone)).toEqual([]);

    await tap(h, t, `msg:${draft?.id}:approve`, 'Aprobar');
    await h.settle();
    // A double tap is stale: still one send.
    await tap(h, t, `msg:${draft?.id}:approve`, 'Aprobar');
    await h.settle();
    const sends = customerSends(h, lucia.phone);
    expect(sends).toHaveLength(1);
    expect(sends[0]).toMatchObject({
      type: 'template',
      template: {
        name: 'follow_up_offer',
        language: { code: 'es' },
        components: [
          {
            type: 'body',
            parameters: [
              { type: 'text', text: 'Lucía', parameter_name: 'first_name' },
              { type: 'text', text: 'Templates flow', parameter_name: 'business' },
            ],
          },
        ],
      },
    });
    expect((await opportunityOf(sql, lucia.contactId)).status).toBe('sent');
    const events = await eventsOf(sql, opp.id);
    expect(events.map((e) => e.event)).toEqual(['carded', 'accepted', 'drafted', 'queued', 'sent']);
    expect(events[2]?.detail).toEqual({ draft_id: draft?.id, template: 'follow_up_offer/es' });
    const [message] = await sql`select status, sender from messages
      where conversation_id = ${lucia.conversationId} and sender = 'agent'`;
    expect(message).toMatchObject({ status: expect.stringMatching(/sent|delivered|read/) });
  });

  it('answers a pending request with a utility template, no opt-in needed', async ({
    harness: h,
    sql,
    newTenant,
  }) => {
    const t = await newTenant('Templates utility');
    await business(h, sql, t);
    const lucia = await priceQuestion(sql, t);
    // A handoff nobody answered (what quiet_after_handoff finds), two days ago.
    const [opp] = await sql`insert into opportunities (tenant_id, contact_id, conversation_id, kind,
        evidence_id, evidence_text, suggested_action)
      values (${t.tenantId}, ${lucia.contactId}, ${lucia.conversationId}, 'quiet_after_handoff',
        ${lucia.inbound.id}, '¿Cuánto cuesta el blanqueamiento?', 'reply_to_customer') returning id`;
    script = scriptedModels([]);
    const res = await h.asUser(t.agent, `/admin/opportunities/${opp?.id}/draft`, {
      method: 'POST',
    });
    expect(res.status).toBe(200);
    await h.settle();
    expect(script.chat.doGenerateCalls).toHaveLength(0);
    const draftId = (await opportunityOf(sql, lucia.contactId)).draft_id as string;
    expect(draftId).toEqual(expect.any(String));
    const approved = await h.asUser(t.agent, `/admin/drafts/${draftId}/approve`, {
      method: 'POST',
    });
    expect(approved.status).toBe(200);
    const again = await h.asUser(t.agent, `/admin/drafts/${draftId}/approve`, { method: 'POST' });
    expect(again.status).toBe(409);
    await h.settle();
    const sends = customerSends(h, lucia.phone);
    expect(sends.map((s) => s.template)).toEqual([
      {
        name: 'follow_up_pending',
        language: { code: 'es' },
        components: [
          {
            type: 'body',
            parameters: [
              { type: 'text', text: 'Lucía', parameter_name: 'first_name' },
              { type: 'text', text: 'Templates utility', parameter_name: 'business' },
            ],
          },
        ],
      },
    ]);
    expect((await opportunityOf(sql, lucia.contactId)).status).toBe('sent');
  });

  it('refuses a marketing follow-up without a recorded opt-in: no model call, nothing sent, the reason recorded and told', async ({
    harness: h,
    sql,
    newTenant,
  }) => {
    const t = await newTenant('Templates no opt-in');
    await business(h, sql, t);
    const lucia = await priceQuestion(sql, t);
    await runScan(h, t);
    const opp = await opportunityOf(sql, lucia.contactId);
    script = scriptedModels([replyWith('No debería escribirse.')]);
    await tap(h, t, `opp:${opp.id}:draft`, 'Redactar');
    await h.settle();
    expect(script.chat.doGenerateCalls).toHaveLength(0);
    expect(await draftsOf(sql, lucia.conversationId)).toHaveLength(0);
    expect((await opportunityOf(sql, lucia.contactId)).status).toBe('skipped');
    const refused = (await eventsOf(sql, opp.id)).find((e) => e.event === 'refused');
    expect(refused?.detail).toMatchObject({ code: 'no_marketing_opt_in' });
    const { reason } = must(refused, 'the refusal').detail as { reason: string };
    expect(reason).toContain('opt-in to marketing');
    expect(staffTexts(h)).toContain(`No se redactó el seguimiento: ${reason}.`);
    expect(customerSends(h, lucia.phone)).toEqual([]);
    // The page reads why from the list.
    const list = await h.asUser(t.agent, '/admin/opportunities?status=skipped');
    const { items } = (await list.json()) as { items: Array<Record<string, unknown>> };
    expect(items.find((o) => o.id === opp.id)).toMatchObject({
      status: 'skipped',
      refused_code: 'no_marketing_opt_in',
      refused_reason: reason,
    });
  });

  it('refuses when the business has no approved follow-up template', async ({
    harness: h,
    sql,
    newTenant,
  }) => {
    const t = await newTenant('Templates none');
    // The default catalogue only (a marketing "spring_sale" is no follow-up), and a follow-up
    // template still in Meta's review.
    const pending = followUpTemplateFixtures.map((f) => ({ ...f, status: 'PENDING' as const }));
    await business(h, sql, t, { templates: [...defaultTemplateFixtures, ...pending] });
    const lucia = await priceQuestion(sql, t);
    await optInToMarketing(h, t, lucia.contactId);
    await runScan(h, t);
    const opp = await opportunityOf(sql, lucia.contactId);
    script = scriptedModels([replyWith('No debería escribirse.')]);
    await h.asUser(t.agent, `/admin/opportunities/${opp.id}/draft`, { method: 'POST' });
    await h.settle();
    expect(script.chat.doGenerateCalls).toHaveLength(0);
    expect(await draftsOf(sql, lucia.conversationId)).toHaveLength(0);
    expect((await opportunityOf(sql, lucia.contactId)).status).toBe('skipped');
    const refused = (await eventsOf(sql, opp.id)).find((e) => e.event === 'refused');
    expect(refused?.detail).toMatchObject({ code: 'no_approved_template' });
    expect(customerSends(h, lucia.phone)).toEqual([]);
    const list = await h.asUser(t.agent, '/admin/opportunities');
    const { items } = (await list.json()) as { items: Array<Record<string, unknown>> };
    expect(items.find((o) => o.id === opp.id)).toMatchObject({
      refused_code: 'no_approved_template',
    });
  });

  it('an opt-out after the template was drafted refuses the approval; nothing is sent', async ({
    harness: h,
    sql,
    newTenant,
  }) => {
    const t = await newTenant('Templates STOP');
    await business(h, sql, t);
    const lucia = await priceQuestion(sql, t);
    await optInToMarketing(h, t, lucia.contactId);
    await runScan(h, t);
    const opp = await opportunityOf(sql, lucia.contactId);
    await h.asUser(t.agent, `/admin/opportunities/${opp.id}/draft`, { method: 'POST' });
    await h.settle();
    const draftId = (await opportunityOf(sql, lucia.contactId)).draft_id as string;
    await customerWrites(h, t, lucia.phone, 'STOP');
    await h.settle();
    const before = customerSends(h, lucia.phone).length; // the opt-out's confirmation
    const approved = await h.asUser(t.agent, `/admin/drafts/${draftId}/approve`, {
      method: 'POST',
    });
    expect(approved.status).toBe(409);
    await h.settle();
    expect(customerSends(h, lucia.phone).slice(before)).toEqual([]);
    expect(customerSends(h, lucia.phone).some((s) => s.type === 'template')).toBe(false);
  });

  it('a template approved in quiet hours waits for 09:00 on the business clock', async ({
    harness: h,
    sql,
    newTenant,
  }) => {
    const t = await newTenant('Templates quiet hours');
    await business(h, sql, t, { localHour: 23 });
    const lucia = await priceQuestion(sql, t);
    await optInToMarketing(h, t, lucia.contactId);
    await runScan(h, t);
    const opp = await opportunityOf(sql, lucia.contactId);
    await h.asUser(t.agent, `/admin/opportunities/${opp.id}/draft`, { method: 'POST' });
    await h.settle();
    const draftId = (await opportunityOf(sql, lucia.contactId)).draft_id as string;
    const approved = await h.asUser(t.agent, `/admin/drafts/${draftId}/approve`, {
      method: 'POST',
    });
    expect(approved.status).toBe(200);
    const [queued] = await sql`select m.type, o.not_before from messages m
      join job_outbox o on o.kind = 'send' and o.payload->>'messageId' = m.id::text
      where m.conversation_id = ${lucia.conversationId} and m.sender = 'agent'`;
    const [settings] =
      await sql`select time_zone from tenant_settings where tenant_id = ${t.tenantId}`;
    const morning = afterQuietHours(new Date(), settings?.time_zone as string);
    const send = must(queued, 'the queued template');
    expect(send.type).toBe('template');
    const notBefore = (send.not_before as Date).getTime();
    expect(notBefore).toBeGreaterThan(Date.now() + 8 * 3_600_000);
    expect(notBefore).toBeLessThanOrEqual(morning.getTime() + 60_000);
  });

  it('a template draft cannot be edited into free text', async ({ harness: h, sql, newTenant }) => {
    const t = await newTenant('Templates edit');
    await business(h, sql, t);
    const lucia = await priceQuestion(sql, t);
    await optInToMarketing(h, t, lucia.contactId);
    await runScan(h, t);
    const opp = await opportunityOf(sql, lucia.contactId);
    await h.asUser(t.agent, `/admin/opportunities/${opp.id}/draft`, { method: 'POST' });
    await h.settle();
    const draftId = (await opportunityOf(sql, lucia.contactId)).draft_id as string;
    const edited = await h.asUser(t.agent, `/admin/drafts/${draftId}/edit`, {
      method: 'POST',
      body: JSON.stringify({ text: 'Hola Lucía, ¿vienes?' }),
    });
    expect(edited.status).toBe(409);
    const [draft] = await draftsOf(sql, lucia.conversationId);
    expect(draft?.status).toBe('pending');
  });
});

describe('inside the 24-hour window', () => {
  it('the agent writes free text, as before, even with follow-up templates and an opt-in', async ({
    harness: h,
    sql,
    newTenant,
  }) => {
    const t = await newTenant('Templates window open');
    await business(h, sql, t);
    const lucia = await priceQuestion(sql, t, { windowOpen: true });
    await optInToMarketing(h, t, lucia.contactId);
    await runScan(h, t);
    const opp = await opportunityOf(sql, lucia.contactId);
    script = scriptedModels([replyWith('Hola Lucía, ¿te reservo el blanqueamiento?')]);
    await h.asUser(t.agent, `/admin/opportunities/${opp.id}/draft`, { method: 'POST' });
    await h.settle();
    expect(script.chat.doGenerateCalls).toHaveLength(1);
    const [draft] = await draftsOf(sql, lucia.conversationId);
    expect(draft?.message).toEqual({
      type: 'text',
      text: 'Hola Lucía, ¿te reservo el blanqueamiento?',
    });
    await h.asUser(t.agent, `/admin/drafts/${draft?.id}/approve`, { method: 'POST' });
    await h.settle();
    expect(customerSends(h, lucia.phone).map((s) => s.text)).toEqual([
      { body: 'Hola Lucía, ¿te reservo el blanqueamiento?' },
    ]);
  });
});

describe('live sending off', () => {
  it('an approved template follow-up never leaves', async ({ sql, newTenant }) => {
    const off = await createHarness({
      jobs: [opportunityDraftJob({ models })],
      bindings: { WHATSAPP_ALLOW_LIVE_SEND: 'false' },
    });
    try {
      const t = await newTenant('Templates live off');
      off.registerTenant(t);
      await sql`update tenant_settings set time_zone = ${zoneAtLocalHour(12)}
        where tenant_id = ${t.tenantId}`;
      off.useTemplates(t, [...defaultTemplateFixtures, ...followUpTemplateFixtures]);
      expect((await off.asUser(t.owner, '/admin/templates/sync', { method: 'POST' })).status).toBe(
        200,
      );
      const lucia = await priceQuestion(sql, t);
      await optInToMarketing(off, t, lucia.contactId);
      await off.asUser(t.owner, '/admin/opportunities/scan', { method: 'POST' });
      await off.settle();
      const opp = await opportunityOf(sql, lucia.contactId);
      await off.asUser(t.agent, `/admin/opportunities/${opp.id}/draft`, { method: 'POST' });
      await off.settle();
      const draftId = (await opportunityOf(sql, lucia.contactId)).draft_id as string;
      const approved = await off.asUser(t.agent, `/admin/drafts/${draftId}/approve`, {
        method: 'POST',
      });
      expect(approved.status).toBe(200);
      await off.settle();
      expect(graphSends(off)).toEqual([]);
      const [message] = await sql`select type, status, payload from messages
        where conversation_id = ${lucia.conversationId} and sender = 'agent'`;
      expect(message?.type).toBe('template');
      expect((await opportunityOf(sql, lucia.contactId)).status).toBe('sent');
    } finally {
      await off.close();
    }
  });
});
