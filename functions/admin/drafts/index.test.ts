import type postgres from 'postgres';
import { describe, expect } from 'vitest';
import {
  callTool,
  conversationOf,
  customerWrites,
  graphSends,
  messageByProviderId,
  providerSeconds,
  replyWith,
  scriptedModels,
  threadOf,
} from '../../../test/agent';
import type { TenantFixture } from '../../../test/fixtures';
import type { Harness } from '../../../test/harness';
import { it } from '../../../test/it';
import { customerPhone } from '../../../test/meta-webhooks';
import { describeOperatorSecurity } from '../../../test/operator-security';
import type { AgentModelResolver } from '../../agent/models';
import { agentTurnJob } from '../../jobs/agent-turn';

/** A pending draft of tenant `t` (with the conversation and run it belongs to), made directly. */
async function insertDraft(sql: postgres.Sql, t: TenantFixture): Promise<string> {
  const [contact] = await sql`insert into contacts (tenant_id, channel, external_user_id, phone)
    values (${t.tenantId}, 'whatsapp', ${customerPhone()}, null) returning id`;
  const [conv] = await sql`insert into conversations (tenant_id, contact_id, channel_account_id)
    values (${t.tenantId}, ${contact?.id}, ${t.accounts.whatsapp.id}) returning id`;
  const correlationId = `turn-${crypto.randomUUID()}`;
  const [run] =
    await sql`insert into agent_runs (tenant_id, conversation_id, correlation_id, model, outcome)
    values (${t.tenantId}, ${conv?.id}, ${correlationId}, 'mock', 'replied') returning id`;
  const [draft] =
    await sql`insert into agent_drafts (tenant_id, conversation_id, run_id, correlation_id, message, preview)
    values (${t.tenantId}, ${conv?.id}, ${run?.id}, ${correlationId}, ${sql.json({ type: 'text', text: 'Hola' })}, 'Hola')
    returning id`;
  return draft?.id as string;
}

describeOperatorSecurity({ method: 'GET', path: '/admin/drafts' });
describeOperatorSecurity({
  method: 'GET',
  path: '/admin/drafts/:foreignId',
  foreignId: insertDraft,
});
describeOperatorSecurity({
  method: 'POST',
  path: '/admin/drafts/:foreignId/approve',
  foreignId: insertDraft,
});
describeOperatorSecurity({
  method: 'POST',
  path: '/admin/drafts/:foreignId/edit',
  body: { text: 'Corregido' },
  foreignId: insertDraft,
});
describeOperatorSecurity({
  method: 'POST',
  path: '/admin/drafts/:foreignId/cancel',
  foreignId: insertDraft,
});

type Draft = {
  id: string;
  status: string;
  preview: string;
  correlation_id: string;
  conversation_id: string;
  sent_message_id: string | null;
  decided_via: string | null;
  decided_by_user_id: string | null;
};

let script = scriptedModels([]);
const models: AgentModelResolver = (choice) => script.resolver(choice);
it.override('harnessOptions', { jobs: [agentTurnJob({ models })] });

describe('approval reply mode', () => {
  const staffPhone = '34622000222';

  it.beforeAll(async ({ harness: h, sql, tenant: t }) => {
    await sql`update tenant_settings set reply_mode = 'approval',
      escalation_contacts = ${sql.json([{ name: 'Jefa', whatsapp: staffPhone }])}
      where tenant_id = ${t.tenantId}`;
    // The escalation contact has written to the number, so buttons can reach them.
    await customerWrites(h, t, staffPhone, 'hola');
    await h.settle();
  });

  /** A customer question answered by the model with `reply`, drafted; returns the pending draft. */
  async function draftFor(
    h: Harness,
    sql: postgres.Sql,
    t: TenantFixture,
    reply: string,
    question = '¿Hacéis blanqueamientos?',
  ) {
    script = scriptedModels([replyWith(reply)]);
    const phone = customerPhone();
    await customerWrites(h, t, phone, question);
    await h.settle();
    const conv = await conversationOf(sql, t, phone);
    const res = await h.asUser(t.agent, `/admin/drafts?status=pending&conversation_id=${conv.id}`);
    expect(res.status).toBe(200);
    const { items } = (await res.json()) as { items: Draft[] };
    expect(items.map((d) => [d.status, d.preview])).toEqual([['pending', reply]]);
    return { phone, conv, draft: items[0] as Draft };
  }

  const customerSends = (h: Harness, phone: string) => graphSends(h).filter((b) => b.to === phone);
  const staffButtonsFor = (h: Harness, draftId: string) =>
    graphSends(h)
      .filter((b) => b.to === staffPhone && b.type === 'interactive')
      .map(
        (b) =>
          b.interactive as {
            body: { text: string };
            action: { buttons: Array<{ reply: { id: string } }> };
          },
      )
      .filter((i) => i.action.buttons.some((b) => b.reply.id.includes(draftId)));

  // The card speaks the tenant's language: its own settings texts decide, else the conversation's.
  it.for([
    {
      language: 'es',
      description: '',
      question: '¿Hacéis blanqueamientos?',
      heading: 'Borrador de respuesta a Ana en WhatsApp:',
      titles: ['Aprobar', 'Editar', 'Cancelar'],
    },
    {
      language: 'en',
      description: '',
      question: 'Hello, do you do whitening?',
      heading: 'Draft reply to Ana on WhatsApp:',
      titles: ['Approve', 'Edit', 'Cancel'],
    },
    {
      language: 'ar',
      description: 'عيادة أسنان في دبي',
      question: 'Hello, do you do whitening?',
      heading: 'مسودة رد على Ana عبر WhatsApp:',
      titles: ['اعتماد', 'تعديل', 'إلغاء'],
    },
  ])(
    'drafts instead of sending, and sends the escalation contact the card in $language',
    async ({ description, question, heading, titles }, { harness: h, sql, tenant: t }) => {
      await sql`update tenant_settings set business_description = ${description}
        where tenant_id = ${t.tenantId}`;
      try {
        const reply = 'Sí, hacemos blanqueamientos desde 150 €.';
        const { phone, draft } = await draftFor(h, sql, t, reply, question);
        expect(customerSends(h, phone)).toEqual([]);
        const [alert] = staffButtonsFor(h, draft.id);
        expect(alert?.body.text).toBe(`${heading}\n\n${reply}`);
        expect(alert?.action.buttons.map((b) => b.reply)).toEqual([
          { id: `msg:${draft.id}:approve`, title: titles[0] },
          { id: `msg:${draft.id}:edit`, title: titles[1] },
          { id: `msg:${draft.id}:cancel`, title: titles[2] },
        ]);
      } finally {
        await sql`update tenant_settings set business_description = '' where tenant_id = ${t.tenantId}`;
      }
    },
  );

  it('approve by API sends the draft as the agent, with the run’s correlation id; twice is a 409', async ({
    harness: h,
    sql,
    tenant: t,
  }) => {
    const { phone, conv, draft } = await draftFor(h, sql, t, 'Sí, desde 150 €.');
    const res = await h.asUser(t.agent, `/admin/drafts/${draft.id}/approve`, { method: 'POST' });
    expect(res.status).toBe(200);
    const decided = (await res.json()) as Draft;
    expect([decided.status, decided.decided_via, decided.decided_by_user_id]).toEqual([
      'approved',
      'operator_api',
      t.agent.id,
    ]);
    await h.settle();
    const sent = (await threadOf(sql, conv.id)).filter((m) => m.sender === 'agent');
    expect(sent.map((m) => [m.id, m.content, m.correlation_id])).toEqual([
      [decided.sent_message_id, 'Sí, desde 150 €.', draft.correlation_id],
    ]);
    expect(customerSends(h, phone).map((b) => b.text)).toEqual([{ body: 'Sí, desde 150 €.' }]);
    const again = await h.asUser(t.agent, `/admin/drafts/${draft.id}/approve`, { method: 'POST' });
    expect(again.status).toBe(409);
    expect(customerSends(h, phone)).toHaveLength(1);
  });

  it('edit by API sends the corrected text instead', async ({ harness: h, sql, tenant: t }) => {
    const { phone, draft } = await draftFor(h, sql, t, 'Sí, desde 100 €.');
    const res = await h.asUser(t.owner, `/admin/drafts/${draft.id}/edit`, {
      method: 'POST',
      body: JSON.stringify({ text: 'Sí, desde 150 € (consulta incluida).' }),
    });
    expect(res.status).toBe(200);
    expect(((await res.json()) as Draft).status).toBe('edited');
    await h.settle();
    expect(customerSends(h, phone).map((b) => b.text)).toEqual([
      { body: 'Sí, desde 150 € (consulta incluida).' },
    ]);
  });

  it('cancel by API sends nothing', async ({ harness: h, sql, tenant: t }) => {
    const { phone, conv, draft } = await draftFor(h, sql, t, 'Quizá.');
    const res = await h.asUser(t.agent, `/admin/drafts/${draft.id}/cancel`, { method: 'POST' });
    expect(((await res.json()) as Draft).status).toBe('cancelled');
    await h.settle();
    expect(customerSends(h, phone)).toEqual([]);
    expect((await threadOf(sql, conv.id)).filter((m) => m.sender === 'agent')).toEqual([]);
  });

  it('refuses to send a draft once a person has taken the conversation (409)', async ({
    harness: h,
    sql,
    tenant: t,
  }) => {
    const { conv, draft } = await draftFor(h, sql, t, 'Claro.');
    await sql`update conversations set is_locked = true, locked_by = 'operator' where id = ${conv.id}`;
    const res = await h.asUser(t.agent, `/admin/drafts/${draft.id}/approve`, { method: 'POST' });
    expect(res.status).toBe(409);
    const [row] = await sql`select status from agent_drafts where id = ${draft.id}`;
    expect(row?.status).toBe('pending');
  });

  it('approve and cancel from WhatsApp buttons; a stale tap changes nothing', async ({
    harness: h,
    sql,
    tenant: t,
  }) => {
    const first = await draftFor(h, sql, t, 'Sí, el sábado abrimos.');
    await customerWrites(h, t, staffPhone, {
      type: 'interactive',
      buttonReply: { id: `msg:${first.draft.id}:approve`, title: 'Approve' },
    });
    await h.settle();
    expect(customerSends(h, first.phone).map((b) => b.text)).toEqual([
      { body: 'Sí, el sábado abrimos.' },
    ]);
    const [approved] =
      await sql`select status, decided_via from agent_drafts where id = ${first.draft.id}`;
    expect(approved).toEqual({ status: 'approved', decided_via: `whatsapp:${staffPhone}` });

    const second = await draftFor(h, sql, t, 'No, el domingo cerramos.');
    await customerWrites(h, t, staffPhone, {
      type: 'interactive',
      buttonReply: { id: `msg:${second.draft.id}:cancel`, title: 'Cancel' },
    });
    await h.settle();
    expect(customerSends(h, second.phone)).toEqual([]);

    // Tapping Approve on the cancelled draft later: stale, nothing is sent.
    const stale = await customerWrites(h, t, staffPhone, {
      type: 'interactive',
      buttonReply: { id: `msg:${second.draft.id}:approve`, title: 'Approve' },
    });
    await h.settle();
    expect(customerSends(h, second.phone)).toEqual([]);
    expect((await messageByProviderId(sql, stale)).payload.routing).toEqual({
      turn: false,
      outcome: 'stale',
      kind: 'msg',
      detail: 'draft already cancelled',
    });
    // No tap of the staff member ever reached the model.
    expect(script.chat.doGenerateCalls).toHaveLength(1);
  });

  it('edit from WhatsApp: the escalation contact’s next message replaces the draft', async ({
    harness: h,
    sql,
    tenant: t,
  }) => {
    const { phone, draft } = await draftFor(h, sql, t, 'Cuesta 90 €.');
    await customerWrites(h, t, staffPhone, {
      type: 'interactive',
      buttonReply: { id: `msg:${draft.id}:edit`, title: 'Edit' },
    });
    await h.settle();
    const prompt = graphSends(h)
      .filter((b) => b.to === staffPhone && b.type === 'text')
      .at(-1);
    expect(prompt?.text).toEqual({
      body: 'Send the corrected reply as your next message; it will go to the customer instead of the draft.',
    });
    await customerWrites(h, t, staffPhone, 'Cuesta 95 €, IVA incluido.', {
      timestamp: providerSeconds(30),
    });
    await h.settle();
    expect(customerSends(h, phone).map((b) => b.text)).toEqual([
      { body: 'Cuesta 95 €, IVA incluido.' },
    ]);
    const [row] = await sql`select status, preview from agent_drafts where id = ${draft.id}`;
    expect(row).toEqual({ status: 'edited', preview: 'Cuesta 95 €, IVA incluido.' });
  });

  it('a newer turn supersedes older pending drafts of the conversation', async ({
    harness: h,
    sql,
    tenant: t,
  }) => {
    const { phone, conv, draft } = await draftFor(h, sql, t, 'Primera versión.');
    script = scriptedModels([
      callTool('send_buttons', {
        body: '¿Qué día?',
        options: [{ title: 'Lunes' }, { title: 'Martes' }],
      }),
      replyWith(''),
    ]);
    await customerWrites(h, t, phone, 'quiero cita', { timestamp: providerSeconds(30) });
    await h.settle();
    const drafts =
      await sql`select id, status, message from agent_drafts where conversation_id = ${conv.id}
      order by created_at`;
    expect(drafts.map((d) => [d.id === draft.id, d.status, d.message.type])).toEqual([
      [true, 'superseded', 'text'],
      [false, 'pending', 'buttons'],
    ]);
  });
});
