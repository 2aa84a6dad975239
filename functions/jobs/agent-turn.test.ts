import type postgres from 'postgres';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { instagramMessageBody, messengerMessageBody } from '../../dev/meta-payloads';
import {
  callTool,
  conversationOf,
  customerWrites,
  graphSends,
  messageByProviderId,
  promptLines,
  providerSeconds,
  replyWith,
  runsOf,
  scriptedModels,
  systemPrompt,
  threadOf,
} from '../../test/agent';
import { adminSql, createTenant, type TenantFixture } from '../../test/fixtures';
import {
  createHarness,
  type Harness,
  qstashSignature,
  TEST_PUBLIC_BASE_URL,
} from '../../test/harness';
import { customerPhone, postWebhook, scopedUserId } from '../../test/meta-webhooks';
import { startR2Bucket } from '../../test/r2';
import type { AgentModelResolver } from '../agent/models';
import { JOB_RETRIES } from '../lib/jobs';
import { agentTurnJob } from './agent-turn';

/**
 * The agent's turn end to end: customers write through the signed webhook path, QStash (stand-in)
 * delivers the debounced `agent-turn` jobs, the AI SDK mock model plays a script, and replies go
 * out through the real send job to the Graph stand-in. Only the model is not production.
 */

let h: Harness;
let sql: postgres.Sql;
let t: TenantFixture;
let other: TenantFixture;
let script = scriptedModels([]);
let closeR2: () => Promise<void>;
const models: AgentModelResolver = (choice) => script.resolver(choice);

beforeAll(async () => {
  const r2 = await startR2Bucket();
  closeR2 = r2.close;
  h = await createHarness({
    jobs: [agentTurnJob({ models })],
    objectBindings: { MEDIA: r2.bucket },
    bindings: { AGENT_TURN_PARALLELISM: '2' },
  });
  sql = adminSql();
  t = await createTenant(sql, 'Clínica Turnos');
  other = await createTenant(sql, 'Other Clinic');
  h.registerTenant(t);
  h.registerTenant(other);
});
afterAll(async () => {
  await sql.end();
  await h.close();
  await closeR2();
});
beforeEach(async () => {
  await sql`update tenant_settings set reply_mode = 'auto', escalation_contacts = '[]'::jsonb
    where tenant_id = ${t.tenantId}`;
});

const agentMessages = async (conversationId: string) =>
  (await threadOf(sql, conversationId)).filter((m) => m.direction === 'outbound');

/** The agent-turn jobs QStash (stand-in) was given for a conversation. */
const turnJobsOf = (conversationId: string) =>
  h
    .qstash!.messages()
    .filter(
      (m) =>
        m.url.endsWith('/jobs/agent-turn') &&
        JSON.parse(m.body).payload.conversationId === conversationId,
    );

describe('debounce and supersede', () => {
  it('answers a burst of five messages with one job and one run that reads all five', async () => {
    script = scriptedModels([replyWith('Respondo a todo: abrimos a las 9 y sí hay parking.')]);
    const phone = customerPhone();
    const texts = ['Hola', 'una pregunta', '¿a qué hora abrís?', 'y otra cosa', '¿hay parking?'];
    for (const text of texts) await customerWrites(h, t, phone, text);
    await h.settle();

    expect(script.chat.doGenerateCalls).toHaveLength(1);
    expect(promptLines(script.chat, 0).slice(1)).toEqual(texts.map((x) => `user: ${x}`));
    const conv = await conversationOf(sql, t, phone);
    const runs = await runsOf(sql, conv.id);
    // One turn per debounce window: the first message scheduled it, the other four joined it.
    expect(runs.map((r) => r.outcome)).toEqual(['replied']);
    const inbound = (await threadOf(sql, conv.id)).filter((m) => m.direction === 'inbound');
    expect(inbound.map((m) => m.content)).toEqual(texts);
    const jobs = turnJobsOf(conv.id);
    expect(jobs.map((j) => JSON.parse(j.body).payload.triggerMessageId)).toEqual([inbound[0]?.id]);
    // It answers the newest message, and the next message may schedule a turn again.
    const replied = runs[0];
    expect(replied?.trigger_message_id).toBe(inbound.at(-1)?.id);
    expect((await conversationOf(sql, t, phone)).agent_turn_due_at).toBeNull();
    const out = await agentMessages(conv.id);
    expect(out.map((m) => [m.sender, m.content, m.correlation_id])).toEqual([
      ['agent', 'Respondo a todo: abrimos a las 9 y sí hay parking.', replied?.correlation_id],
    ]);
    expect(graphSends(h).filter((b) => b.to === phone)).toEqual([
      {
        messaging_product: 'whatsapp',
        recipient_type: 'individual',
        to: phone,
        type: 'text',
        text: { body: 'Respondo a todo: abrimos a las 9 y sí hay parking.' },
        biz_opaque_callback_data: out[0]?.id,
      },
    ]);
  });

  it('discards the replies of a run overtaken by a new message; the next run answers both', async () => {
    const phone = customerPhone();
    script = scriptedModels([
      async () => {
        // While the model "thinks", the customer writes again.
        await customerWrites(h, t, phone, '¿y los sábados?');
        return replyWith('Abrimos de 9 a 20.');
      },
      replyWith('De lunes a viernes de 9 a 20, y los sábados de 10 a 14.'),
    ]);
    await customerWrites(h, t, phone, '¿A qué hora abrís?');
    await h.settle();

    expect(script.chat.doGenerateCalls).toHaveLength(2);
    expect(promptLines(script.chat, 1).slice(1)).toEqual([
      'user: ¿A qué hora abrís?',
      'user: ¿y los sábados?',
    ]);
    const conv = await conversationOf(sql, t, phone);
    const runs = await runsOf(sql, conv.id);
    expect(runs.map((r) => r.outcome)).toEqual(['superseded', 'replied']);
    expect(runs[0]?.error).toMatch(/^superseded by newer message /);
    // The overtaken run did think (its steps are kept) but stored and sent nothing.
    expect(runs[0]?.steps).toMatchObject([{ text: 'Abrimos de 9 a 20.' }]);
    expect((await agentMessages(conv.id)).map((m) => m.content)).toEqual([
      'De lunes a viernes de 9 a 20, y los sábados de 10 a 14.',
    ]);
    expect(
      graphSends(h)
        .filter((b) => b.to === phone)
        .map((b) => b.text),
    ).toEqual([{ body: 'De lunes a viernes de 9 a 20, y los sábados de 10 a 14.' }]);
  });

  it('sends nothing when an operator locks the conversation while the model runs', async () => {
    const phone = customerPhone();
    script = scriptedModels([
      async () => {
        await sql`update conversations set is_locked = true, locked_by = 'operator',
          lock_reason = 'Marta is on it' where id = ${(await conversationOf(sql, t, phone)).id}`;
        return replyWith('Claro, te ayudo.');
      },
    ]);
    await customerWrites(h, t, phone, 'Necesito ayuda');
    await h.settle();
    const conv = await conversationOf(sql, t, phone);
    const runs = await runsOf(sql, conv.id);
    expect(runs.map((r) => [r.outcome, r.error])).toEqual([
      ['locked', 'conversation locked (operator: Marta is on it)'],
    ]);
    expect(await agentMessages(conv.id)).toEqual([]);
    expect(graphSends(h).filter((b) => b.to === phone)).toEqual([]);
  });

  it('reads the history in provider-time order, whatever order Meta delivered it in', async () => {
    const phone = customerPhone();
    script = scriptedModels([replyWith('Primera respuesta.'), replyWith('Segunda respuesta.')]);
    await customerWrites(h, t, phone, 'mensaje 1');
    await h.settle();
    const early = providerSeconds(1);
    const late = providerSeconds(2);
    // "mensaje 3" was written after "mensaje 2" but Meta delivers it first.
    await customerWrites(h, t, phone, 'mensaje 3', { timestamp: late });
    await customerWrites(h, t, phone, 'mensaje 2', { timestamp: early });
    await h.settle();
    expect(script.chat.doGenerateCalls).toHaveLength(2);
    expect(promptLines(script.chat, 1).slice(1)).toEqual([
      'user: mensaje 1',
      'assistant: Primera respuesta.',
      'user: mensaje 2',
      'user: mensaje 3',
    ]);
    const runs = await runsOf(sql, (await conversationOf(sql, t, phone)).id);
    // "mensaje 2" joined the turn "mensaje 3" scheduled: one turn for the two.
    expect(runs.map((r) => r.outcome)).toEqual(['replied', 'replied']);
  });

  it('answers a message Meta delivers late, after a turn that read newer ones', async () => {
    const phone = customerPhone();
    script = scriptedModels([replyWith('Respuesta a 2 y 3.'), replyWith('Respuesta a 1.')]);
    // Two messages in one window: one turn, which answers "mensaje 3" and reads "mensaje 2".
    await customerWrites(h, t, phone, 'mensaje 2', { timestamp: providerSeconds(-20) });
    await customerWrites(h, t, phone, 'mensaje 3', { timestamp: providerSeconds(-10) });
    await h.settle();
    // "mensaje 1" was written first but Meta delivers it now: newer messages, already read by a
    // finished turn, must not silence it.
    await customerWrites(h, t, phone, 'mensaje 1', { timestamp: providerSeconds(-30) });
    await h.settle();
    const conv = await conversationOf(sql, t, phone);
    expect((await runsOf(sql, conv.id)).map((r) => r.outcome)).toEqual(['replied', 'replied']);
    expect(script.chat.doGenerateCalls).toHaveLength(2);
  });

  it('never answers the backlog when a person unlocks; the next message gets the turn', async () => {
    const phone = customerPhone();
    script = scriptedModels([replyWith('Hola de nuevo, ¿en qué te ayudo?')]);
    await customerWrites(h, t, phone, 'hola');
    const conv = await conversationOf(sql, t, phone);
    // Locked before the debounced turn runs (e.g. an operator took over), unlocked again.
    await h.asUser(t.owner, `/admin/conversations/${conv.id}/human-override`, {
      method: 'POST',
      body: JSON.stringify({ locked: true }),
    });
    await customerWrites(h, t, phone, '¿sigue ahí alguien?');
    const unlock = await h.asUser(t.owner, `/admin/conversations/${conv.id}/human-override`, {
      method: 'POST',
      body: JSON.stringify({ locked: false }),
    });
    expect(unlock.status).toBe(200);
    await h.settle();
    expect(script.chat.doGenerateCalls).toHaveLength(0);
    // The turn "hola" scheduled answers the newest message, which arrived while locked.
    const runs = await runsOf(sql, conv.id);
    expect(runs.map((r) => r.outcome)).toEqual(['locked']);
    expect(runs[0]?.error).toContain('unlocking does not answer the backlog');

    await customerWrites(h, t, phone, 'vale, otra pregunta');
    await h.settle();
    expect(script.chat.doGenerateCalls).toHaveLength(1);
    expect((await agentMessages(conv.id)).map((m) => m.content)).toEqual([
      'Hola de nuevo, ¿en qué te ayudo?',
    ]);
  });

  it('schedules no turn when the reply mode is off, the bot is disabled or a person has it', async () => {
    script = scriptedModels([]);
    const phone = customerPhone();
    await sql`update tenant_settings set reply_mode = 'off' where tenant_id = ${t.tenantId}`;
    await customerWrites(h, t, phone, 'hola');
    await h.settle();
    const conv = await conversationOf(sql, t, phone);
    await sql`update tenant_settings set reply_mode = 'auto' where tenant_id = ${t.tenantId}`;
    await sql`update conversations set bot_enabled = false where id = ${conv.id}`;
    await customerWrites(h, t, phone, 'hola otra vez');
    await sql`update conversations set bot_enabled = true, is_locked = true, locked_by = 'operator'
      where id = ${conv.id}`;
    await customerWrites(h, t, phone, '¿hay alguien?');
    await h.settle();
    expect(turnJobsOf(conv.id)).toEqual([]);
    expect(await runsOf(sql, conv.id)).toEqual([]);
    expect((await conversationOf(sql, t, phone)).agent_turn_due_at).toBeNull();
    expect(script.chat.doGenerateCalls).toHaveLength(0);
  });

  it('records why nothing was said when the reply mode or the bot changed before the turn ran', async () => {
    script = scriptedModels([]);
    const phone = customerPhone();
    await customerWrites(h, t, phone, 'hola');
    await sql`update tenant_settings set reply_mode = 'off' where tenant_id = ${t.tenantId}`;
    await h.settle();
    const conv = await conversationOf(sql, t, phone);
    await sql`update tenant_settings set reply_mode = 'auto' where tenant_id = ${t.tenantId}`;
    await customerWrites(h, t, phone, 'hola otra vez');
    await sql`update conversations set bot_enabled = false where id = ${conv.id}`;
    await h.settle();
    expect((await runsOf(sql, conv.id)).map((r) => [r.outcome, r.error])).toEqual([
      ['locked', "tenant's reply mode is off"],
      ['locked', 'bot disabled for this conversation'],
    ]);
    expect(script.chat.doGenerateCalls).toHaveLength(0);
  });

  it("delivers at most AGENT_TURN_PARALLELISM of a tenant's turns at once", async () => {
    let thinking = 0;
    let most = 0;
    const slowReply = async () => {
      thinking++;
      most = Math.max(most, thinking);
      // Long enough for turns delivered together to overlap here.
      await new Promise((resolve) => setTimeout(resolve, 30));
      thinking--;
      return replyWith('Hola.');
    };
    script = scriptedModels([slowReply, slowReply, slowReply, slowReply]);
    const phones = [customerPhone(), customerPhone(), customerPhone(), customerPhone()];
    for (const phone of phones) await customerWrites(h, t, phone, 'hola');
    const convs = await Promise.all(phones.map((phone) => conversationOf(sql, t, phone)));
    const jobs = convs.flatMap((c) => turnJobsOf(c.id));
    expect(jobs.map((j) => [j.flowControlKey, j.flowControl?.parallelism])).toEqual(
      convs.map(() => [`agent-turn-${t.tenantId}`, 2]),
    );
    await h.settle();
    expect(script.chat.doGenerateCalls).toHaveLength(4);
    expect(most).toBeLessThanOrEqual(2);
  });
});

describe('instructions and language', () => {
  it("builds instructions from the settings, today's date in the tenant's zone and the customer's language", async () => {
    await sql`update tenant_settings set persona = 'Lucía, cercana y breve',
      business_description = 'Clínica dental en Madrid', agent_instructions = 'No des consejos médicos.',
      time_zone = 'Europe/Madrid', business_hours = ${sql.json({ mon: [['09:00', '20:00']] })}
      where tenant_id = ${t.tenantId}`;
    script = scriptedModels([replyWith('مرحباً! نفتح الساعة التاسعة.')]);
    const phone = customerPhone();
    await customerWrites(h, t, phone, 'متى تفتحون؟');
    await h.settle();
    const system = systemPrompt(script.chat, 0);
    expect(system).toContain(
      'virtual assistant of Clínica Turnos, answering customers on WhatsApp',
    );
    expect(system).toContain('Persona: Lucía, cercana y breve');
    expect(system).toContain('About the business: Clínica dental en Madrid');
    expect(system).toContain('Monday: 09:00–20:00');
    expect(system).toContain('No des consejos médicos.');
    expect(system).toContain('(time zone Europe/Madrid)');
    const today = new Intl.DateTimeFormat('en-GB', {
      timeZone: 'Europe/Madrid',
      day: 'numeric',
      month: 'long',
      year: 'numeric',
    }).format(new Date());
    expect(system).toContain(today);
    expect(system).toContain('Arabic (ar)');
  });
});

describe('tools', () => {
  it("knowledge_search returns this tenant's cited snippets, never another tenant's", async () => {
    const [mine] = await sql`insert into knowledge_articles (tenant_id, title, body, language, tags)
      values (${t.tenantId}, 'Parking', 'Hay parking gratuito detrás de la clínica. En la calle es de pago.', 'es', '["aparcar"]')
      returning id`;
    const [theirs] = await sql`insert into knowledge_articles (tenant_id, title, body, language)
      values (${other.tenantId}, 'Parking de la otra clínica', 'Parking gratuito en la otra clínica.', 'es')
      returning id`;
    script = scriptedModels([
      callTool('knowledge_search', { query: '¿Tenéis parking gratuito?' }, 'ks-1'),
      replyWith('Sí: hay parking gratuito detrás de la clínica.'),
    ]);
    const phone = customerPhone();
    await customerWrites(h, t, phone, '¿Tenéis parking gratuito?');
    await h.settle();

    const conv = await conversationOf(sql, t, phone);
    const [run] = await runsOf(sql, conv.id);
    expect(run?.outcome).toBe('replied');
    expect(run?.steps).toMatchObject([
      {
        toolCalls: [
          { toolName: 'knowledge_search', input: { query: '¿Tenéis parking gratuito?' } },
        ],
        toolResults: [
          {
            toolName: 'knowledge_search',
            output: {
              results: [
                {
                  article_id: mine?.id,
                  title: 'Parking',
                  language: 'es',
                  snippet: 'Hay parking gratuito detrás de la clínica.',
                },
              ],
            },
          },
        ],
      },
      { text: 'Sí: hay parking gratuito detrás de la clínica.' },
    ]);
    // Each step keeps its model, time and tokens; each tool result its own time.
    for (const step of run?.steps ?? []) {
      expect(step).toMatchObject({
        model: 'mock-model-id',
        latencyMs: expect.any(Number),
        modelMs: expect.any(Number),
        usage: { inputTokens: 10, outputTokens: 5 },
      });
      expect(step.modelMs).toBeLessThanOrEqual(step.latencyMs);
    }
    expect(run?.steps[0]?.toolResults[0]?.latencyMs).toEqual(expect.any(Number));
    expect(JSON.stringify(script.chat.doGenerateCalls[1]?.prompt)).not.toContain(theirs?.id);
    expect((await agentMessages(conv.id)).map((m) => m.content)).toEqual([
      'Sí: hay parking gratuito detrás de la clínica.',
    ]);
  });

  it('send_buttons and send_list queue interactive messages with stable ids, within limits', async () => {
    script = scriptedModels([
      callTool(
        'send_buttons',
        {
          body: '¿Qué día te va mejor?',
          options: [{ title: 'Martes 10:00' }, { title: 'Miércoles 12:00', id: 'wed-12' }],
        },
        'b-1',
      ),
      callTool(
        'send_list',
        {
          body: 'O elige otro servicio:',
          button: 'Servicios',
          options: [
            { title: 'Limpieza', description: '30 minutos' },
            { title: 'Revisión' },
            { title: 'Blanqueamiento' },
            { title: 'Ortodoncia' },
          ],
        },
        'l-1',
      ),
      replyWith(''),
    ]);
    const phone = customerPhone();
    await customerWrites(h, t, phone, 'Quiero una cita');
    await h.settle();
    const conv = await conversationOf(sql, t, phone);
    const out = await agentMessages(conv.id);
    expect(out.map((m) => [m.type, m.payload.message])).toEqual([
      [
        'buttons',
        {
          type: 'buttons',
          body: '¿Qué día te va mejor?',
          buttons: [
            { id: 'opt:martes-10-00:pick', title: 'Martes 10:00' },
            { id: 'opt:wed-12:pick', title: 'Miércoles 12:00' },
          ],
        },
      ],
      [
        'list',
        {
          type: 'list',
          body: 'O elige otro servicio:',
          button: 'Servicios',
          sections: [
            {
              rows: [
                { id: 'opt:limpieza:pick', title: 'Limpieza', description: '30 minutos' },
                { id: 'opt:revision:pick', title: 'Revisión' },
                { id: 'opt:blanqueamiento:pick', title: 'Blanqueamiento' },
                { id: 'opt:ortodoncia:pick', title: 'Ortodoncia' },
              ],
            },
          ],
        },
      ],
    ]);
    const sent = graphSends(h).filter((b) => b.to === phone);
    expect(sent.map((b) => b.interactive)).toEqual([
      {
        type: 'button',
        body: { text: '¿Qué día te va mejor?' },
        action: {
          buttons: [
            { type: 'reply', reply: { id: 'opt:martes-10-00:pick', title: 'Martes 10:00' } },
            { type: 'reply', reply: { id: 'opt:wed-12:pick', title: 'Miércoles 12:00' } },
          ],
        },
      },
      {
        type: 'list',
        body: { text: 'O elige otro servicio:' },
        action: {
          button: 'Servicios',
          sections: [
            {
              rows: [
                { id: 'opt:limpieza:pick', title: 'Limpieza', description: '30 minutos' },
                { id: 'opt:revision:pick', title: 'Revisión' },
                { id: 'opt:blanqueamiento:pick', title: 'Blanqueamiento' },
                { id: 'opt:ortodoncia:pick', title: 'Ortodoncia' },
              ],
            },
          ],
        },
      },
    ]);

    // The customer taps an option: it reaches the agent as a choice, and a turn answers it.
    script = scriptedModels([replyWith('Perfecto, martes a las 10:00.')]);
    // (After the spaced sends went out: their send slots are a few seconds ahead.)
    await customerWrites(
      h,
      t,
      phone,
      { type: 'interactive', buttonReply: { id: 'opt:martes-10-00:pick', title: 'Martes 10:00' } },
      { timestamp: providerSeconds(30) },
    );
    await h.settle();
    expect(promptLines(script.chat, 0).at(-1)).toBe('user: [the customer tapped "Martes 10:00"]');
    expect((await agentMessages(conv.id)).at(-1)?.content).toBe('Perfecto, martes a las 10:00.');
  });

  it("tells the model which of Meta's limits a tool call broke, so it can fix it", async () => {
    script = scriptedModels([
      callTool('send_buttons', {
        body: 'Elige',
        options: [{ title: 'Una opción con un título demasiado largo' }],
      }),
      callTool('send_buttons', { body: 'Elige', options: [{ title: 'Opción corta' }] }),
      replyWith(''),
    ]);
    const phone = customerPhone();
    await customerWrites(h, t, phone, 'opciones?');
    await h.settle();
    const [run] = await runsOf(sql, (await conversationOf(sql, t, phone)).id);
    expect(run?.steps[0]?.toolResults).toMatchObject([
      {
        toolName: 'send_buttons',
        output: {
          ok: false,
          error: 'message.buttons.0.title: Button title is limited to 20 characters (got 40)',
        },
      },
    ]);
    expect(run?.steps[1]?.toolResults).toMatchObject([
      { toolName: 'send_buttons', output: { ok: true, queued: 'buttons' } },
    ]);
    expect(graphSends(h).filter((b) => b.to === phone)).toHaveLength(1);
  });
});

describe('handoff to a person', () => {
  const staffPhone = '34611000111';

  /** An escalation contact on WhatsApp who has written to the number (so the 24 h window is open). */
  async function withStaff() {
    await sql`update tenant_settings set escalation_contacts = ${sql.json([
      { name: 'Marta', whatsapp: `+${staffPhone}` },
    ])} where tenant_id = ${t.tenantId}`;
    await customerWrites(h, t, staffPhone, 'hola, soy Marta');
  }

  async function expectHandedOff(phone: string, lockedBy: string, reason: string, notice: string) {
    const conv = await conversationOf(sql, t, phone);
    expect([conv.is_locked, conv.locked_by, conv.lock_reason]).toEqual([true, lockedBy, reason]);
    const thread = await threadOf(sql, conv.id);
    const note = thread.find((m) => m.type === 'note');
    expect([note?.sender, note?.content, note?.status]).toEqual([
      'system',
      `Handed over to a person: ${reason}`,
      'received',
    ]);
    const noticeRow = thread.find((m) => m.direction === 'outbound' && m.type === 'text');
    expect([noticeRow?.sender, noticeRow?.content]).toEqual(['system', notice]);
    // The customer is told, although the conversation is locked (system messages pass the lock).
    expect(
      graphSends(h)
        .filter((b) => b.to === phone)
        .map((b) => b.text),
    ).toEqual([{ body: notice }]);
    // Operators see it in the inbox API: the lock reason on the chat, the note in the thread.
    const chat = await h.asUser(t.agent, `/admin/conversations/${conv.id}`);
    const state = (await chat.json()) as { is_locked: boolean; lock_reason: string };
    expect([state.is_locked, state.lock_reason]).toEqual([true, reason]);
    return conv;
  }

  function staffButtons() {
    return graphSends(h)
      .filter((b) => b.to === staffPhone && b.type === 'interactive')
      .map((b) => b.interactive as { body: { text: string }; action: { buttons: unknown[] } });
  }

  it('hands off at once on an escalation word, without the model and without the debounce', async () => {
    await withStaff();
    script = scriptedModels([]);
    const phone = customerPhone();
    await customerWrites(h, t, phone, 'Quiero hablar con un humano, por favor', { name: 'Lola' });
    // Before any job ran: the webhook itself locked the conversation.
    const conv = await conversationOf(sql, t, phone);
    expect([conv.is_locked, conv.locked_by]).toEqual([true, 'keyword']);
    // The turn the message scheduled as it was stored is withdrawn: no due marker, no outbox row.
    const [turns] = await sql<{ due: Date | null; jobs: number }[]>`
      select agent_turn_due_at as due,
        (select count(*)::int from job_outbox
          where kind = 'agent-turn' and payload->>'conversationId' = ${conv.id}) as jobs
      from conversations where id = ${conv.id}`;
    expect(turns).toEqual({ due: null, jobs: 0 });
    await h.settle();
    await expectHandedOff(
      phone,
      'keyword',
      'The customer asked for a person ("humano")',
      'Te paso con una persona de nuestro equipo; te responderá en breve.',
    );
    expect(script.chat.doGenerateCalls).toHaveLength(0);
    const runs = await runsOf(sql, conv.id);
    expect(runs.map((r) => [r.outcome, r.model, r.correlation_id])).toEqual([
      ['handed_off', 'none (escalation word)', expect.stringMatching(/^keyword-/)],
    ]);
    const [alert] = staffButtons().slice(-1);
    expect(alert?.body.text).toContain(
      'Lola on WhatsApp needs a person: The customer asked for a person ("humano")',
    );
    expect(alert?.action.buttons).toEqual([
      { type: 'reply', reply: { id: `conv:${conv.id}:take`, title: 'Take it' } },
    ]);
  });

  it('hands off in Arabic on an Arabic escalation word', async () => {
    script = scriptedModels([]);
    const phone = customerPhone();
    await customerWrites(h, t, phone, 'أريد التحدث مع موظف');
    await h.settle();
    await expectHandedOff(
      phone,
      'keyword',
      'The customer asked for a person ("موظف")',
      'سأحوّلك إلى أحد أعضاء فريقنا، وسيرد عليك قريباً.',
    );
  });

  it('hands off when the model calls escalate_to_human, and drops what it wrote after', async () => {
    await withStaff();
    script = scriptedModels([
      callTool('escalate_to_human', { reason: 'Complaint about a billing error' }),
      replyWith('Te paso con alguien.'),
    ]);
    const phone = customerPhone();
    await customerWrites(
      h,
      t,
      phone,
      'Me habéis cobrado dos veces la limpieza, estoy muy enfadada',
    );
    await h.settle();
    const conv = await expectHandedOff(
      phone,
      'escalation',
      'Complaint about a billing error',
      'Te paso con una persona de nuestro equipo; te responderá en breve.',
    );
    const [run] = await runsOf(sql, conv.id);
    expect([run?.outcome, run?.error]).toEqual(['handed_off', null]);
    expect(run?.steps[0]?.toolCalls).toEqual([
      { toolName: 'escalate_to_human', input: { reason: 'Complaint about a billing error' } },
    ]);
    expect(staffButtons().at(-1)?.action.buttons).toEqual([
      { type: 'reply', reply: { id: `conv:${conv.id}:take`, title: 'Take it' } },
    ]);
  });

  it('hands off with the reason when the model fails', async () => {
    script = scriptedModels([
      async () => {
        throw new Error('upstream exploded');
      },
    ]);
    const phone = customerPhone();
    await customerWrites(h, t, phone, 'What are your prices?');
    await h.settle();
    const conv = await expectHandedOff(
      phone,
      'escalation',
      'The AI could not answer (Error); a person should reply.',
      "I'm passing you to a member of our team; they'll reply shortly.",
    );
    const [run] = await runsOf(sql, conv.id);
    expect([run?.outcome, run?.error]).toEqual(['handed_off', 'Error: upstream exploded']);
  });

  it('lets an escalation contact take the conversation from WhatsApp (conv:{id}:take)', async () => {
    await withStaff();
    script = scriptedModels([]);
    const phone = customerPhone();
    await customerWrites(h, t, phone, 'necesito un asesor');
    await h.settle();
    const conv = await conversationOf(sql, t, phone);
    await customerWrites(h, t, staffPhone, {
      type: 'interactive',
      buttonReply: { id: `conv:${conv.id}:take`, title: 'Take it' },
    });
    await h.settle();
    const taken = await conversationOf(sql, t, phone);
    expect([taken.is_locked, taken.locked_by, taken.lock_reason]).toEqual([
      true,
      'operator',
      'Taken over by Marta from WhatsApp',
    ]);
    // The staff member's tap is not a customer message the agent answers.
    expect(script.chat.doGenerateCalls).toHaveLength(0);
  });
});

describe('tapped ids', () => {
  it('ignores unknown and stale ids safely: logged on the message, nothing changes, nothing sent', async () => {
    script = scriptedModels([]);
    const phone = customerPhone();
    const before = graphSends(h).length;
    const ids = ['zzz:123:boom', `msg:${crypto.randomUUID()}:approve`, 'appt:42:explode'];
    const providerIds: string[] = [];
    for (const id of ids) {
      providerIds.push(
        await customerWrites(h, t, phone, {
          type: 'interactive',
          buttonReply: { id, title: 'Sí' },
        }),
      );
    }
    // A customer (not an escalation contact) cannot take a conversation either.
    const victim = customerPhone();
    await customerWrites(h, t, victim, 'hola');
    const victimConv = await conversationOf(sql, t, victim);
    providerIds.push(
      await customerWrites(h, t, phone, {
        type: 'interactive',
        buttonReply: { id: `conv:${victimConv.id}:take`, title: 'Take it' },
      }),
    );
    script = scriptedModels([replyWith('Hola, ¿qué necesitas?')]);
    await h.settle();

    const routings = [];
    for (const id of providerIds)
      routings.push((await messageByProviderId(sql, id)).payload.routing);
    expect(routings).toEqual([
      { turn: false, outcome: 'unknown', kind: 'zzz', detail: 'no action for ids of kind "zzz"' },
      {
        turn: false,
        outcome: 'unknown',
        kind: 'msg',
        detail: 'only an escalation contact may decide drafts',
      },
      { turn: false, outcome: 'unknown', kind: 'appt', detail: 'no appointment action explode' },
      {
        turn: false,
        outcome: 'unknown',
        kind: 'conv',
        detail: 'only an escalation contact may take conversations',
      },
    ]);
    const conv = await conversationOf(sql, t, phone);
    expect(conv.is_locked).toBe(false);
    expect((await conversationOf(sql, t, victim)).is_locked).toBe(false);
    expect(await agentMessages(conv.id)).toEqual([]);
    expect(
      graphSends(h)
        .slice(before)
        .filter((b) => b.to === phone),
    ).toEqual([]);
    // Only the victim's plain "hola" got a turn.
    expect(script.chat.doGenerateCalls).toHaveLength(1);
  });

  it('reads a template quick reply that is not of our grammar as an answer', async () => {
    script = scriptedModels([replyWith('¡Genial, te esperamos!')]);
    const phone = customerPhone();
    await customerWrites(h, t, phone, { type: 'button', payload: 'Confirmar', text: 'Confirmar' });
    await h.settle();
    expect(promptLines(script.chat, 0).at(-1)).toBe('user: [the customer tapped "Confirmar"]');
  });
});

describe('media and reactions', () => {
  const oggBytes = new Uint8Array([0x4f, 0x67, 0x67, 0x53, 1, 2, 3, 4, 5, 6, 7, 8]);
  const pngBytes = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 9, 9, 9]);

  it('transcribes a voice note before the turn and reuses the transcript later', async () => {
    const mediaId = h.graph!.addMedia(oggBytes, 'audio/ogg; codecs=opus');
    script = scriptedModels(
      [replyWith('Sí, el martes a las 10 hay hueco.'), replyWith('De nada.')],
      {
        transcript: '¿Tenéis hueco el martes a las diez?',
      },
    );
    const phone = customerPhone();
    const wamid = await customerWrites(h, t, phone, {
      type: 'audio',
      mediaId,
      mimeType: 'audio/ogg; codecs=opus',
      voice: true,
    });
    await h.settle();
    expect(script.transcriptionCalls).toEqual([oggBytes]);
    expect(promptLines(script.chat, 0).at(-1)).toBe(
      'user: [voice note, transcribed: "¿Tenéis hueco el martes a las diez?"]',
    );
    const message = await messageByProviderId(sql, wamid);
    const [note] =
      await sql`select kind, text, model from agent_media_notes where message_id = ${message.id}`;
    expect(note).toEqual({
      kind: 'transcript',
      text: '[voice note, transcribed: "¿Tenéis hueco el martes a las diez?"]',
      model: 'mock-whisper',
    });
    await customerWrites(h, t, phone, 'gracias', { timestamp: providerSeconds(30) });
    await h.settle();
    expect(script.transcriptionCalls).toHaveLength(1);
    expect(promptLines(script.chat, 1)).toContain(
      'user: [voice note, transcribed: "¿Tenéis hueco el martes a las diez?"]',
    );
  });

  it('degrades to a marker the agent sees when transcription fails', async () => {
    const mediaId = h.graph!.addMedia(oggBytes, 'audio/ogg');
    script = scriptedModels(
      [replyWith('Perdona, no he podido escuchar tu audio. ¿Me lo escribes?')],
      {
        transcript: new Error('whisper is down'),
      },
    );
    const phone = customerPhone();
    await customerWrites(h, t, phone, {
      type: 'audio',
      mediaId,
      mimeType: 'audio/ogg',
      voice: true,
    });
    await h.settle();
    expect(promptLines(script.chat, 0).at(-1)).toBe('user: [voice note could not be transcribed]');
    const conv = await conversationOf(sql, t, phone);
    expect((await runsOf(sql, conv.id)).map((r) => r.outcome)).toEqual(['replied']);
  });

  it('describes an image with the vision model before the turn', async () => {
    const mediaId = h.graph!.addMedia(pngBytes, 'image/png');
    script = scriptedModels([
      replyWith('A close-up photo of a chipped front tooth.'),
      replyWith('Vaya, lo sentimos. ¿Quieres una cita de urgencia?'),
    ]);
    const phone = customerPhone();
    await customerWrites(h, t, phone, {
      type: 'image',
      mediaId,
      mimeType: 'image/png',
      caption: 'se me ha roto',
    });
    await h.settle();
    const visionCall = script.chat.doGenerateCalls[0];
    const parts = visionCall?.prompt.at(-1)?.content as Array<{
      type: string;
      mediaType?: string;
      data?: unknown;
    }>;
    expect(parts.map((p) => [p.type, p.mediaType])).toEqual([
      ['text', undefined],
      ['file', 'image/png'],
    ]);
    const file = parts[1]?.data as { type: string; data: Uint8Array };
    expect(new Uint8Array(file.data)).toEqual(pngBytes);
    expect(promptLines(script.chat, 1).at(-1)).toBe(
      'user: [image: A close-up photo of a chipped front tooth.]\nse me ha roto',
    );
  });

  it('passes reactions to the agent as signals', async () => {
    script = scriptedModels([
      replyWith('¿Te reservo el martes a las 10?'),
      replyWith('¡Reservado!'),
    ]);
    const phone = customerPhone();
    await customerWrites(h, t, phone, 'quiero cita');
    await h.settle();
    const conv = await conversationOf(sql, t, phone);
    const [proposal] = await agentMessages(conv.id);
    await customerWrites(
      h,
      t,
      phone,
      { type: 'reaction', messageId: proposal?.provider_message_id, emoji: '👍' },
      { timestamp: providerSeconds(30) },
    );
    await customerWrites(h, t, phone, 'perfecto', { timestamp: providerSeconds(31) });
    await h.settle();
    expect(promptLines(script.chat, 1).slice(-2)).toEqual([
      'user: [the customer reacted 👍 to: "¿Te reservo el martes a las 10?"]',
      'user: perfecto',
    ]);
  });
});

describe('a reaction on its own', () => {
  it('gets an answer when the customer reacts to something we said, and nothing when a reaction is removed', async () => {
    script = scriptedModels([
      replyWith('¿Te reservo el martes a las 10?'),
      replyWith('¡Reservado para el martes a las 10!'),
    ]);
    const phone = customerPhone();
    await customerWrites(h, t, phone, 'quiero cita');
    await h.settle();
    const conv = await conversationOf(sql, t, phone);
    const [proposal] = await agentMessages(conv.id);
    await customerWrites(
      h,
      t,
      phone,
      { type: 'reaction', messageId: proposal?.provider_message_id, emoji: '👍' },
      { timestamp: providerSeconds(30) },
    );
    await h.settle();
    expect(promptLines(script.chat, 1).at(-1)).toBe(
      'user: [the customer reacted 👍 to: "¿Te reservo el martes a las 10?"]',
    );
    expect((await agentMessages(conv.id)).map((m) => m.content)).toEqual([
      '¿Te reservo el martes a las 10?',
      '¡Reservado para el martes a las 10!',
    ]);
    const runs = (await runsOf(sql, conv.id)).length;
    // Taking the reaction back asks nothing: no new turn.
    await customerWrites(
      h,
      t,
      phone,
      { type: 'reaction', messageId: proposal?.provider_message_id },
      { timestamp: providerSeconds(40) },
    );
    await h.settle();
    expect(await runsOf(sql, conv.id)).toHaveLength(runs);
    expect(script.chat.doGenerateCalls).toHaveLength(2);
  });
});

describe('models', () => {
  it('hands off when the model times out on every delivery (a timeout is retried first)', async () => {
    const hang = (options: { abortSignal?: AbortSignal }) =>
      new Promise<never>((_, reject) => {
        options.abortSignal?.addEventListener('abort', () => reject(options.abortSignal?.reason));
      });
    const slowScript = scriptedModels(Array.from({ length: JOB_RETRIES + 1 }, () => hang));
    const slow = await createHarness({
      jobs: [agentTurnJob({ timeoutMs: 50, models: slowScript.resolver })],
    });
    try {
      const phone = customerPhone();
      await customerWrites(slow, t, phone, 'hello?');
      await slow.settle();
      expect(slowScript.chat.doGenerateCalls).toHaveLength(JOB_RETRIES + 1);
      const conv = await conversationOf(sql, t, phone);
      const [run] = await runsOf(sql, conv.id);
      expect(run?.outcome).toBe('handed_off');
      expect(run?.error).toMatch(/^TimeoutError: /);
      expect([conv.is_locked, conv.locked_by]).toEqual([true, 'escalation']);
      expect(conv.lock_reason).toBe(
        `The AI could not answer after ${JOB_RETRIES + 1} tries (it timed out); a person should reply.`,
      );
    } finally {
      await slow.close();
    }
  });

  it("uses the tenant's own model and API key (stored encrypted) when set", async () => {
    const choices: Array<{ model: string | null; key: string | null }> = [];
    script = scriptedModels([replyWith('ok')]);
    const capture = await createHarness({
      jobs: [
        agentTurnJob({
          models: (choice) => {
            choices.push({ model: choice.tenantModel, key: choice.tenantApiKey });
            return script.resolver(choice);
          },
        }),
      ],
    });
    try {
      const tenant = await createTenant(sql, 'Own Key');
      capture.registerTenant(tenant);
      const res = await capture.asUser(tenant.owner, '/admin/settings', {
        method: 'PATCH',
        body: JSON.stringify({ model: 'gpt-4.1', api_key: 'sk-test-0123456789abcdefWXYZ' }),
      });
      expect(res.status).toBe(200);
      const [stored] =
        await sql`select api_key from private.agent_model_keys where tenant_id = ${tenant.tenantId}`;
      expect(stored?.api_key).toMatch(/^v1:/);
      expect(stored?.api_key).not.toContain('sk-test');
      await customerWrites(capture, tenant, customerPhone(), 'hola');
      await capture.settle();
      expect(choices).toEqual([{ model: 'gpt-4.1', key: 'sk-test-0123456789abcdefWXYZ' }]);
    } finally {
      await capture.close();
    }
  });

  it('answers end to end with the offline demo model when no key is configured, labelled as such', async () => {
    const offline = await createHarness();
    try {
      const tenant = await createTenant(sql, 'Offline Demo');
      offline.registerTenant(tenant);
      await sql`insert into knowledge_articles (tenant_id, title, body, language, tags)
        values (${tenant.tenantId}, 'Horario', 'Abrimos de lunes a viernes de 9:00 a 20:00.', 'es', '["hora", "abrís"]')`;
      const phone = customerPhone();
      await customerWrites(offline, tenant, phone, 'Hola, ¿a qué hora abrís?');
      await offline.settle();
      const conv = await conversationOf(sql, tenant, phone);
      const [run] = await runsOf(sql, conv.id);
      expect([run?.outcome, run?.model]).toEqual(['replied', 'offline-demo']);
      expect(
        run?.steps.map(
          (s: { toolCalls?: Array<{ toolName: string }> }) => s.toolCalls?.[0]?.toolName,
        ),
      ).toEqual(['knowledge_search', undefined]);
      const out = (await threadOf(sql, conv.id)).filter((m) => m.direction === 'outbound');
      expect(out.map((m) => [m.content, m.payload.agent?.model, m.payload.agent?.offline])).toEqual(
        [
          [
            '¡Hola! Según nuestra información: Abrimos de lunes a viernes de 9:00 a 20:00.',
            'offline-demo',
            true,
          ],
        ],
      );
      const trace = await offline.asUser(tenant.agent, `/admin/logs/ai/${run?.correlation_id}`);
      expect(((await trace.json()) as { offline_demo: boolean }).offline_demo).toBe(true);
    } finally {
      await offline.close();
    }
  });
});

describe('opt-out', () => {
  it('does not answer an opt-out keyword (the send path confirms it once)', async () => {
    script = scriptedModels([]);
    const phone = customerPhone();
    const wamid = await customerWrites(h, t, phone, 'BAJA');
    await h.settle();
    expect(script.chat.doGenerateCalls).toHaveLength(0);
    expect((await messageByProviderId(sql, wamid)).payload.routing).toEqual({
      turn: false,
      outcome: 'opt_out',
    });
  });
});

describe('at-least-once delivery', () => {
  it('answers once when QStash delivers the same turn again', async () => {
    script = scriptedModels([replyWith('Una sola respuesta.')]);
    const phone = customerPhone();
    await customerWrites(h, t, phone, 'hola');
    await h.settle();
    const delivered = h
      .qstash!.messages()
      .filter((m) => m.url.endsWith('/jobs/agent-turn') && m.state === 'delivered')
      .at(-1);
    expect(delivered).toBeDefined();
    const body = delivered?.body as string;
    const signature = await qstashSignature(body, 'agent-turn');
    const again = await h.request(`${TEST_PUBLIC_BASE_URL}/jobs/agent-turn`, {
      method: 'POST',
      body,
      headers: { 'upstash-signature': signature, 'upstash-retried': '1' },
    });
    expect(again.status).toBe(200);
    expect(await again.json()).toEqual({
      status: 'done',
      detail: 'no message waits for an answer',
    });
    await h.settle();
    const conv = await conversationOf(sql, t, phone);
    expect((await agentMessages(conv.id)).map((m) => m.content)).toEqual(['Una sola respuesta.']);
    expect(script.chat.doGenerateCalls).toHaveLength(1);
  });
});

describe('Messenger and Instagram', () => {
  it('answers on Messenger, offering choices as quick replies', async () => {
    script = scriptedModels([
      callTool('send_list', {
        body: '¿Qué servicio?',
        button: 'Servicios',
        options: [{ title: 'Limpieza' }, { title: 'Revisión' }],
      }),
      replyWith(''),
    ]);
    const psid = scopedUserId();
    const res = await postWebhook(
      h,
      messengerMessageBody({ pageId: t.accounts.messenger.externalId, psid, text: 'Quiero cita' }),
    );
    expect(res.status).toBe(200);
    await h.settle();
    const sent = (h.graph?.requests ?? []).filter(
      (r) => r.method === 'POST' && r.path.endsWith(`/${t.accounts.messenger.externalId}/messages`),
    );
    expect(sent.map((r) => r.body)).toEqual([
      {
        recipient: { id: psid },
        messaging_type: 'RESPONSE',
        message: {
          text: '¿Qué servicio?',
          quick_replies: [
            { content_type: 'text', title: 'Limpieza', payload: 'opt:limpieza:pick' },
            { content_type: 'text', title: 'Revisión', payload: 'opt:revision:pick' },
          ],
          // Our message id, for the echo (docs/sending.md).
          metadata: expect.any(String),
        },
      },
    ]);
  });
});

describe('an empty message', () => {
  it('with no text and no files is kept as unsupported and asks the agent nothing: no failure, no handoff', async () => {
    script = scriptedModels([replyWith('¡Hola! ¿En qué te ayudo?')]);
    const igsid = scopedUserId();
    const mid = `m_empty_${crypto.randomUUID()}`;
    const igId = t.accounts.instagram.externalId;
    const empty = await postWebhook(h, instagramMessageBody({ igId, igsid, mid }));
    expect(empty.status).toBe(200);
    await h.settle();
    const stored = await messageByProviderId(sql, mid);
    expect(stored).toMatchObject({ type: 'unsupported', content: null, attachments: [] });
    const runs = await runsOf(sql, stored.conversation_id);
    expect(runs.filter((r) => r.outcome === 'failed' || r.outcome === 'handed_off')).toEqual([]);
    expect(script.chat.doGenerateCalls).toHaveLength(0);
    const [conversation] = await sql`select is_locked from conversations
      where id = ${stored.conversation_id}`;
    expect(conversation?.is_locked).toBe(false);
    // The customer's next real message is answered as usual.
    await postWebhook(
      h,
      instagramMessageBody({ igId, igsid, text: 'hola', timestamp: Date.now() + 1000 }),
    );
    await h.settle();
    expect(script.chat.doGenerateCalls).toHaveLength(1);
    expect(promptLines(script.chat, 0).slice(1)).toEqual(['user: hola']);
  });
});

describe('read receipts', () => {
  const readBodies = (harness: Harness, wamids: string[]) =>
    (harness.graph?.requests ?? [])
      .filter((r) => {
        const body = r.body as { status?: unknown; message_id?: unknown } | null;
        return body?.status === 'read' && wamids.includes(String(body.message_id));
      })
      .map((r) => [r.path, r.body]);

  it('marks the newest customer message read, with the typing indicator, when the model runs', async () => {
    script = scriptedModels([replyWith('Sí, abrimos hoy de 9 a 20.')]);
    const phone = customerPhone();
    const first = await customerWrites(h, t, phone, 'hola');
    const second = await customerWrites(h, t, phone, '¿abrís hoy?');
    await h.settle();
    expect(script.chat.doGenerateCalls).toHaveLength(1);
    // The superseded turn never reached the model: one receipt, for the message being answered.
    expect(readBodies(h, [first, second])).toEqual([
      [
        `/v23.0/${t.accounts.whatsapp.externalId}/messages`,
        {
          messaging_product: 'whatsapp',
          status: 'read',
          message_id: second,
          typing_indicator: { type: 'text' },
        },
      ],
    ]);
  });

  it('sends no receipt for a turn that does not run the model, nor on Messenger', async () => {
    script = scriptedModels([replyWith('Hola desde Messenger.')]);
    await sql`update tenant_settings set reply_mode = 'off' where tenant_id = ${t.tenantId}`;
    const wamid = await customerWrites(h, t, customerPhone(), 'hola');
    await h.settle();
    await sql`update tenant_settings set reply_mode = 'auto' where tenant_id = ${t.tenantId}`;
    expect(readBodies(h, [wamid])).toEqual([]);

    const psid = scopedUserId();
    await postWebhook(
      h,
      messengerMessageBody({ pageId: t.accounts.messenger.externalId, psid, text: 'hola' }),
    );
    await h.settle();
    expect(script.chat.doGenerateCalls).toHaveLength(1);
    const toPsid = (h.graph?.requests ?? [])
      .map((r) => r.body as { recipient?: { id?: string }; sender_action?: string } | null)
      .filter((b) => b?.recipient?.id === psid);
    expect(toPsid.map((b) => b?.sender_action)).toEqual([undefined]);
  });

  it('sends no receipt while WHATSAPP_ALLOW_LIVE_SEND is off', async () => {
    const off = await createHarness({
      jobs: [agentTurnJob({ models })],
      bindings: { WHATSAPP_ALLOW_LIVE_SEND: 'false' },
    });
    try {
      off.registerTenant(t);
      script = scriptedModels([replyWith('Hola.')]);
      const wamid = await customerWrites(off, t, customerPhone(), 'hola');
      await off.settle();
      expect(script.chat.doGenerateCalls).toHaveLength(1);
      expect(readBodies(off, [wamid])).toEqual([]);
      expect(off.graph?.requests).toEqual([]);
    } finally {
      await off.close();
    }
  });
});
