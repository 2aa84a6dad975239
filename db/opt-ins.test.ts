import type postgres from 'postgres';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { OPT_OUT_CONFIRMATION } from '../core/messaging/opt-out';
import { parseEnv } from '../functions/env';
import { publishJobs } from '../functions/lib/jobs';
import { createServices } from '../functions/services';
import { createConversation } from '../test/conversations';
import { adminSql, createTenant, type TenantFixture } from '../test/fixtures';
import { createHarness, type Harness } from '../test/harness';
import { asTenant, connect, type Database } from './client';
import { handleOptOutKeywords } from './opt-ins';

describe('handleOptOutKeywords', () => {
  let h: Harness;
  let sql: postgres.Sql;
  let db: Database;
  let closeDb: () => Promise<void>;
  let t: TenantFixture;

  beforeAll(async () => {
    h = await createHarness({ statusProgression: false });
    sql = adminSql();
    ({ db, close: closeDb } = connect(h.bindings.DATABASE_URL!));
    t = await createTenant(sql, 'Opt out');
    h.registerTenant(t);
  });
  afterAll(async () => {
    await closeDb();
    await sql.end();
    await h.close();
  });
  beforeEach(() => h.graph!.reset());

  /** As inbound ingestion will call it: in the tenant transaction, jobs published after commit. */
  async function inbound(conv: { contactId: string; conversationId: string }, text: string) {
    const handled = await asTenant(db, t.tenantId, (ctx) =>
      handleOptOutKeywords(ctx, { ...conv, text }),
    );
    const env = parseEnv(h.bindings);
    const { services, close } = createServices(env);
    await publishJobs(services, env, handled.jobs);
    await close();
    await h.settle();
    return handled;
  }
  const sentTexts = () =>
    h.graph!.requests.map((r) => (r.body as { text?: { body: string } }).text?.body);

  it('records the first STOP, stops outreach and confirms once, however often STOP is repeated', async () => {
    const conv = await createConversation(sql, t);
    const first = await inbound(conv, 'STOP');
    expect(first.matched).toBe(true);
    expect(first.jobs).toHaveLength(1);
    expect(sentTexts()).toEqual([OPT_OUT_CONFIRMATION.en]);
    const [contact] = await sql`select opted_out_at from contacts where id = ${conv.contactId}`;
    expect(contact?.opted_out_at).toBeInstanceOf(Date);
    const ledger =
      await sql`select action, scope, source, note, channel from opt_ins where contact_id = ${conv.contactId}`;
    expect(ledger).toEqual([
      { action: 'opt_out', scope: 'all', source: 'keyword', note: 'STOP', channel: 'whatsapp' },
    ]);
    const [confirmation] =
      await sql`select sender, status, content from messages where conversation_id = ${conv.conversationId} and direction = 'outbound'`;
    expect(confirmation).toEqual({
      sender: 'system',
      status: 'sent',
      content: OPT_OUT_CONFIRMATION.en,
    });

    const again = await inbound(conv, 'stop');
    expect(again).toEqual({ matched: true, jobs: [] });
    expect(sentTexts()).toEqual([OPT_OUT_CONFIRMATION.en]);
    const [n] =
      await sql`select count(*)::int as n from opt_ins where contact_id = ${conv.contactId}`;
    expect(n?.n).toBe(1);
  });

  it('runs on a real inbound webhook: the customer writes STOP, one confirmation goes back', async () => {
    const phone = `34${String(Date.now()).slice(-9)}`;
    for (const text of ['Hola', 'STOP', 'STOP']) {
      const res = await h.graph!.sendCustomerMessage({
        channel: 'whatsapp',
        to: t.accounts.whatsapp.externalId,
        from: phone,
        name: 'Lucia',
        text,
      });
      expect(res.status).toBe(200);
      await h.settle();
    }
    const [contact] =
      await sql`select id, opted_out_at from contacts where tenant_id = ${t.tenantId} and phone = ${phone}`;
    expect(contact?.opted_out_at).toBeInstanceOf(Date);
    const confirmations = h.graph!.requests.filter(
      (r) => (r.body as { text?: { body: string } } | null)?.text?.body === OPT_OUT_CONFIRMATION.en,
    );
    expect(confirmations).toHaveLength(1);
    expect((confirmations[0]!.body as { to: string }).to).toBe(phone);
  });

  it.each([
    ['  Baja. ', 'es'],
    ['CANCELAR SUSCRIPCIÓN', 'es'],
    ['Parar', 'es'],
    ['إيقاف', 'ar'],
    ['Unsubscribe!', 'en'],
  ] as const)('understands %j and confirms in its language', async (text, language) => {
    const conv = await createConversation(sql, t);
    expect((await inbound(conv, text)).matched).toBe(true);
    expect(sentTexts()).toEqual([OPT_OUT_CONFIRMATION[language]]);
  });

  it.each(['stop sending me the old address', 'cancel', '¿puedo parar la cita?', 'Hola'])(
    'leaves %j alone',
    async (text) => {
      const conv = await createConversation(sql, t);
      expect(await inbound(conv, text)).toEqual({ matched: false, jobs: [] });
      const [contact] = await sql`select opted_out_at from contacts where id = ${conv.contactId}`;
      expect(contact?.opted_out_at).toBeNull();
      expect(h.graph!.requests).toEqual([]);
    },
  );
});
