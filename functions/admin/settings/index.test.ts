import { describe, expect } from 'vitest';
import { createConversation } from '../../../test/conversations';
import { createHarness, type Harness } from '../../../test/harness';
import { it } from '../../../test/it';
import { describeOperatorSecurity } from '../../../test/operator-security';

describeOperatorSecurity({ method: 'GET', path: '/admin/settings' });
describeOperatorSecurity({ method: 'PATCH', path: '/admin/settings', body: { persona: 'x' } });

type Settings = Record<string, unknown> & { api_key: { set: boolean; hint: string | null } };

describe('/admin/settings', () => {
  const patch = (h: Harness, user: { id: string; email: string }, body: unknown) =>
    h.asUser(user, '/admin/settings', { method: 'PATCH', body: JSON.stringify(body) });

  it('reads the defaults, and changes what owners patch', async ({
    harness: h,
    sql,
    tenant: a,
  }) => {
    const initial = (await (await h.asUser(a.agent, '/admin/settings')).json()) as Settings;
    expect(initial).toMatchObject({
      reply_mode: 'auto',
      debounce_seconds: 10,
      send_spacing_seconds: 4,
      time_zone: 'UTC',
      model: null,
      api_key: { set: false, hint: null },
    });
    const res = await patch(h, a.owner, {
      persona: 'Lucía',
      instructions: 'No des precios por WhatsApp.',
      business_description: 'Clínica dental',
      business_hours: {
        mon: [
          ['09:00', '14:00'],
          ['16:00', '20:00'],
        ],
        sun: [],
      },
      time_zone: 'Europe/Madrid',
      debounce_seconds: 5,
      reply_mode: 'approval',
      send_spacing_seconds: 2,
      escalation_contacts: [{ name: 'Marta', whatsapp: '+34600111222' }],
      model: 'gpt-4.1',
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({
      persona: 'Lucía',
      instructions: 'No des precios por WhatsApp.',
      business_hours: {
        mon: [
          ['09:00', '14:00'],
          ['16:00', '20:00'],
        ],
        sun: [],
      },
      time_zone: 'Europe/Madrid',
      reply_mode: 'approval',
      escalation_contacts: [{ name: 'Marta', whatsapp: '+34600111222' }],
      model: 'gpt-4.1',
    });
    const [row] =
      await sql`select agent_instructions, debounce_seconds, reply_mode, send_spacing_seconds
      from tenant_settings where tenant_id = ${a.tenantId}`;
    expect(row).toEqual({
      agent_instructions: 'No des precios por WhatsApp.',
      debounce_seconds: 5,
      reply_mode: 'approval',
      send_spacing_seconds: 2,
    });
  });

  it('keeps the API key encrypted where operators cannot read it, showing only a hint', async ({
    harness: h,
    sql,
    tenant: a,
  }) => {
    const res = await patch(h, a.owner, { api_key: 'sk-live-abcdefghijklmnopqrstuvwxyz1234' });
    expect(((await res.json()) as Settings).api_key).toEqual({ set: true, hint: '1234' });
    const [stored] =
      await sql`select api_key from private.agent_model_keys where tenant_id = ${a.tenantId}`;
    expect(stored?.api_key).toMatch(/^v1:[^:]+:[^:]+$/);
    expect(stored?.api_key).not.toContain('abcdefghij');
    // Even with a direct connection as the signed-in operator (as Supabase's data API would run it).
    const attempt = sql.begin(async (tx) => {
      await tx`select set_config('role', 'authenticated', true),
        set_config('request.jwt.claims', ${JSON.stringify({ sub: a.owner.id, role: 'authenticated' })}, true)`;
      return tx`select api_key from private.agent_model_keys`;
    });
    await expect(attempt).rejects.toThrow(/permission denied for schema private/);
    const removed = await patch(h, a.owner, { api_key: null });
    expect(((await removed.json()) as Settings).api_key).toEqual({ set: false, hint: null });
    expect(
      await sql`select 1 from private.agent_model_keys where tenant_id = ${a.tenantId}`,
    ).toHaveLength(0);
  });

  it("keeps the trace export's headers sealed and write-only, showing only their names", async ({
    harness: h,
    sql,
    newTenant,
  }) => {
    const a = await newTenant('Traces');
    const initial = (await (await h.asUser(a.agent, '/admin/settings')).json()) as Settings;
    expect(initial).toMatchObject({ trace_message_text: false, trace_export: null });
    const res = await patch(h, a.owner, {
      trace_message_text: true,
      trace_export: {
        endpoint: 'https://cloud.langfuse.com/api/public/otel/v1/traces',
        headers: { 'x-extra': 'extra-secret-value' },
        langfuse: { public_key: 'pk-lf-public', secret_key: 'sk-lf-very-secret' },
      },
    });
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(JSON.parse(text)).toMatchObject({
      trace_message_text: true,
      trace_export: {
        endpoint: 'https://cloud.langfuse.com/api/public/otel/v1/traces',
        header_names: ['x-extra', 'Authorization'],
      },
    });
    const read = await (await h.asUser(a.agent, '/admin/settings')).text();
    for (const body of [text, read]) {
      expect(body).not.toContain('sk-lf-very-secret');
      expect(body).not.toContain('extra-secret-value');
      expect(body).not.toContain('Basic ');
    }
    const [stored] =
      await sql`select headers from private.trace_export_headers where tenant_id = ${a.tenantId}`;
    expect(stored?.headers).toMatch(/^v1:[^:]+:[^:]+$/);
    expect(stored?.headers).not.toContain('secret');
    const attempt = sql.begin(async (tx) => {
      await tx`select set_config('role', 'authenticated', true),
        set_config('request.jwt.claims', ${JSON.stringify({ sub: a.owner.id, role: 'authenticated' })}, true)`;
      return tx`select headers from private.trace_export_headers`;
    });
    await expect(attempt).rejects.toThrow(/permission denied for schema private/);
    // Replaced as a whole: an endpoint without headers keeps none.
    const plain = await patch(h, a.owner, {
      trace_export: { endpoint: 'https://otel.example/v1/traces' },
    });
    expect(((await plain.json()) as Settings).trace_export).toEqual({
      endpoint: 'https://otel.example/v1/traces',
      header_names: [],
    });
    expect(
      await sql`select 1 from private.trace_export_headers where tenant_id = ${a.tenantId}`,
    ).toHaveLength(0);
    const removed = await patch(h, a.owner, { trace_export: null, trace_message_text: false });
    expect(await removed.json()).toMatchObject({ trace_export: null, trace_message_text: false });
    // Operators (agents) may not change them.
    const refused = await patch(h, a.agent, { trace_message_text: true });
    expect(refused.status).toBe(403);
    const [row] =
      await sql`select trace_message_text from tenant_settings where tenant_id = ${a.tenantId}`;
    expect(row?.trace_message_text).toBe(false);
  });

  it('reads and changes the booking settings', async ({ harness: h, sql, newTenant }) => {
    const t = await newTenant('Booking settings');
    const initial = (await (await h.asUser(t.agent, '/admin/settings')).json()) as Settings;
    expect(initial).toMatchObject({
      slot_step_minutes: 15,
      min_notice_minutes: 120,
      max_horizon_days: 60,
    });
    const res = await patch(h, t.owner, {
      slot_step_minutes: 30,
      min_notice_minutes: 0,
      max_horizon_days: 90,
    });
    expect(await res.json()).toMatchObject({
      slot_step_minutes: 30,
      min_notice_minutes: 0,
      max_horizon_days: 90,
    });
    const [row] = await sql`select slot_step_minutes, min_notice_minutes, max_horizon_days
      from tenant_settings where tenant_id = ${t.tenantId}`;
    expect(row).toEqual({ slot_step_minutes: 30, min_notice_minutes: 0, max_horizon_days: 90 });
  });

  it('reads and changes the follow-ups’ frequency cap (7 days unless set)', async ({
    harness: h,
    sql,
    newTenant,
  }) => {
    const t = await newTenant('Follow-up cap settings');
    const initial = (await (await h.asUser(t.agent, '/admin/settings')).json()) as Settings;
    expect(initial).toMatchObject({ follow_up_min_days_apart: 7 });
    const res = await patch(h, t.owner, { follow_up_min_days_apart: 14 });
    expect(await res.json()).toMatchObject({ follow_up_min_days_apart: 14 });
    const [row] = await sql`select follow_up_min_days_apart from tenant_settings
      where tenant_id = ${t.tenantId}`;
    expect(row).toEqual({ follow_up_min_days_apart: 14 });
  });

  it("reads and changes the AI's monthly budget and hard stop, with this month's spend", async ({
    harness: h,
    sql,
    newTenant,
  }) => {
    const t = await newTenant('Budget settings');
    const initial = (await (await h.asUser(t.agent, '/admin/settings')).json()) as Settings;
    expect(initial).toMatchObject({
      ai_monthly_budget_usd: null,
      ai_budget_hard_stop: false,
      ai_spent_this_month_usd: 0,
    });
    // Runs of this month count (their cost at list price); last month's and unpriced ones do not.
    const conv = await createConversation(sql, t);
    for (const [cost, startedAt] of [
      [1.25, sql`now()`],
      [0.5, sql`now()`],
      [null, sql`now()`],
      [
        99,
        sql`date_trunc('month', now() at time zone 'UTC') at time zone 'UTC' - interval '1 second'`,
      ],
    ] as const) {
      await sql`insert into agent_runs (tenant_id, conversation_id, correlation_id, model, outcome,
          cost_usd, started_at)
        values (${t.tenantId}, ${conv.conversationId}, ${`turn-${crypto.randomUUID()}`}, 'gpt-4.1-mini',
          'replied', ${cost}, ${startedAt})`;
    }
    const res = await patch(h, t.owner, { ai_monthly_budget_usd: 1.5, ai_budget_hard_stop: true });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({
      ai_monthly_budget_usd: 1.5,
      ai_budget_hard_stop: true,
      ai_spent_this_month_usd: 1.75,
    });
    const [row] = await sql`select ai_monthly_budget_usd, ai_budget_hard_stop from tenant_settings
      where tenant_id = ${t.tenantId}`;
    expect(row).toEqual({ ai_monthly_budget_usd: 1.5, ai_budget_hard_stop: true });
    const cleared = await patch(h, t.owner, { ai_monthly_budget_usd: null });
    expect(await cleared.json()).toMatchObject({ ai_monthly_budget_usd: null });
  });

  it('lets only owners and admins change settings', async ({ harness: h, sql, tenant: a }) => {
    const res = await patch(h, a.agent, { reply_mode: 'off' });
    expect(res.status).toBe(403);
    const [row] = await sql`select reply_mode from tenant_settings where tenant_id = ${a.tenantId}`;
    expect(row?.reply_mode).not.toBe('off');
  });

  it.for([
    [{ time_zone: 'Mars/Olympus' }, 'time_zone: must be an IANA time zone'],
    [{ business_hours: { mon: [['18:00', '09:00']] } }, 'a range must end after it starts'],
    [{ business_hours: { funday: [] } }, 'business_hours'],
    [{ debounce_seconds: 9999 }, 'debounce_seconds'],
    [{ reply_mode: 'sometimes' }, 'reply_mode'],
    [{ slot_step_minutes: 0 }, 'slot_step_minutes'],
    [{ slot_step_minutes: 7.5 }, 'slot_step_minutes'],
    [{ min_notice_minutes: -1 }, 'min_notice_minutes'],
    [{ max_horizon_days: 0 }, 'max_horizon_days'],
    [{ max_horizon_days: 367 }, 'max_horizon_days'],
    [{ follow_up_min_days_apart: 0 }, 'follow_up_min_days_apart'],
    [{ follow_up_min_days_apart: 91 }, 'follow_up_min_days_apart'],
    [{ follow_up_min_days_apart: 1.5 }, 'follow_up_min_days_apart'],
    [{ ai_monthly_budget_usd: 0 }, 'ai_monthly_budget_usd'],
    [{ ai_monthly_budget_usd: -5 }, 'ai_monthly_budget_usd'],
    [{ ai_monthly_budget_usd: 2_000_000 }, 'ai_monthly_budget_usd'],
    [{ ai_monthly_budget_usd: '50' }, 'ai_monthly_budget_usd'],
    [{ ai_budget_hard_stop: 'yes' }, 'ai_budget_hard_stop'],
    [{ escalation_contacts: [{ name: 'X', whatsapp: 'call me' }] }, 'international format'],
    [{ trace_message_text: 'yes' }, 'trace_message_text'],
    [{ trace_export: { endpoint: 'not a url' } }, 'trace_export.endpoint'],
    [{ trace_export: { endpoint: 'http://collector.example/v1/traces' } }, 'https'],
    [{ trace_export: { endpoint: 'ftp://collector.example/v1/traces' } }, 'trace_export.endpoint'],
    [{ trace_export: {} }, 'trace_export.endpoint'],
    [
      { trace_export: { endpoint: 'https://c.example', headers: { 'bad name': 'x' } } },
      'must be an HTTP header name',
    ],
    [
      { trace_export: { endpoint: 'https://c.example', headers: { 'content-type': 'x' } } },
      'is set by the exporter',
    ],
    [
      { trace_export: { endpoint: 'https://c.example', headers: { 'x-a': 'one\ntwo' } } },
      'must be one line',
    ],
    [
      {
        trace_export: {
          endpoint: 'https://c.example',
          headers: { authorization: 'Bearer x' },
          langfuse: { public_key: 'pk', secret_key: 'sk' },
        },
      },
      'not both',
    ],
    [
      { trace_export: { endpoint: 'https://c.example', langfuse: { public_key: 'pk' } } },
      'secret_key',
    ],
    [{ unknown: true }, 'unknown'],
    [{}, 'give at least one setting to change'],
  ] as Array<[unknown, string]>)(
    'refuses %j naming the problem',
    async ([body, message], { harness: h, tenant: a }) => {
      const res = await patch(h, a.owner, body);
      expect(res.status).toBe(400);
      expect(((await res.json()) as { error: { message: string } }).error.message).toContain(
        message,
      );
    },
  );
});

describe('OpenAPI document', () => {
  it("describes the agent's operator routes", async () => {
    const h = await createHarness({ standIns: false });
    try {
      const res = await h.request('/openapi.json');
      const doc = (await res.json()) as { paths: Record<string, Record<string, unknown>> };
      for (const [path, methods] of Object.entries({
        '/admin/settings': ['get', 'patch'],
        '/admin/knowledge': ['get', 'post'],
        '/admin/knowledge/search': ['get'],
        '/admin/knowledge/{id}': ['get', 'patch', 'delete'],
        '/admin/logs/ai': ['get'],
        '/admin/logs/ai/{correlation_id}': ['get'],
        '/admin/drafts': ['get'],
        '/admin/drafts/{id}': ['get'],
        '/admin/drafts/{id}/approve': ['post'],
        '/admin/drafts/{id}/edit': ['post'],
        '/admin/drafts/{id}/cancel': ['post'],
      })) {
        expect(Object.keys(doc.paths[path] ?? {}).sort(), path).toEqual([...methods].sort());
      }
    } finally {
      await h.close();
    }
  });
});
