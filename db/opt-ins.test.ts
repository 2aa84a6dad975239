import { describe, expect } from 'vitest';
import { OPT_OUT_CONFIRMATION } from '../core/messaging/opt-out';
import { parseEnv } from '../functions/env';
import { publishJobs } from '../functions/lib/jobs';
import { createServices } from '../functions/services';
import { createConversation } from '../test/conversations';
import type { Harness } from '../test/harness';
import { it as base, must } from '../test/it';
import { asTenant } from './client';
import { handleOptOutKeywords } from './opt-ins';

const it = base
  /** As inbound ingestion will call it: in the tenant transaction, jobs published after commit. */
  .extend('inbound', { scope: 'file' }, ({ harness: h, db, tenant: t }) => {
    return async (conv: { contactId: string; conversationId: string }, text: string) => {
      const handled = await asTenant(db, t.tenantId, (ctx) =>
        handleOptOutKeywords(ctx, { ...conv, text }),
      );
      const env = parseEnv(h.bindings);
      const { services, close } = createServices(env);
      await publishJobs(services, env, handled.jobs);
      await close();
      await h.settle();
      return handled;
    };
  });
it.override('harnessOptions', { statusProgression: false });

const graph = (h: Harness) => must(h.graph, 'the Graph stand-in');
const sentTexts = (h: Harness) =>
  graph(h).requests.map((r) => (r.body as { text?: { body: string } }).text?.body);

describe('handleOptOutKeywords', () => {
  it.beforeEach(({ harness }) => graph(harness).reset());

  it('records the first STOP, stops outreach and confirms once, however often STOP is repeated', async ({
    harness: h,
    sql,
    tenant: t,
    inbound,
  }) => {
    const conv = await createConversation(sql, t);
    const first = await inbound(conv, 'STOP');
    expect(first.matched).toBe(true);
    expect(first.jobs).toHaveLength(1);
    expect(sentTexts(h)).toEqual([OPT_OUT_CONFIRMATION.en]);
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
    expect(sentTexts(h)).toEqual([OPT_OUT_CONFIRMATION.en]);
    const [n] =
      await sql`select count(*)::int as n from opt_ins where contact_id = ${conv.contactId}`;
    expect(n?.n).toBe(1);
  });

  it('runs on a real inbound webhook: the customer writes STOP, one confirmation goes back', async ({
    harness: h,
    sql,
    tenant: t,
  }) => {
    const phone = `34${String(Date.now()).slice(-9)}`;
    for (const text of ['Hola', 'STOP', 'STOP']) {
      const res = await graph(h).sendCustomerMessage({
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
    const confirmations = graph(h).requests.filter(
      (r) => (r.body as { text?: { body: string } } | null)?.text?.body === OPT_OUT_CONFIRMATION.en,
    );
    expect(confirmations).toHaveLength(1);
    expect((must(confirmations[0], 'the confirmation').body as { to: string }).to).toBe(phone);
  });

  it.for([
    ['  Baja. ', 'es'],
    ['CANCELAR SUSCRIPCIÓN', 'es'],
    ['Parar', 'es'],
    ['إيقاف', 'ar'],
    ['Unsubscribe!', 'en'],
  ] as const)(
    'understands %j and confirms in its language',
    async ([text, language], { harness: h, sql, tenant: t, inbound }) => {
      const conv = await createConversation(sql, t);
      expect((await inbound(conv, text)).matched).toBe(true);
      expect(sentTexts(h)).toEqual([OPT_OUT_CONFIRMATION[language]]);
    },
  );

  it.for(['stop sending me the old address', 'cancel', '¿puedo parar la cita?', 'Hola'])(
    'leaves %j alone',
    async (text, { harness: h, sql, tenant: t, inbound }) => {
      const conv = await createConversation(sql, t);
      expect(await inbound(conv, text)).toEqual({ matched: false, jobs: [] });
      const [contact] = await sql`select opted_out_at from contacts where id = ${conv.contactId}`;
      expect(contact?.opted_out_at).toBeNull();
      expect(graph(h).requests).toEqual([]);
    },
  );
});
