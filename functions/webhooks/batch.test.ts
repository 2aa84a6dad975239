import { describe, expect } from 'vitest';
import {
  randomWamid,
  whatsappContact,
  whatsappInboundMessage,
  whatsappMessagesChange,
  whatsappWebhook,
} from '../../dev/meta-payloads';
import { graphSends, providerSeconds, replyWith, scriptedModels } from '../../test/agent';
import { it } from '../../test/it';
import { customerPhone, postWebhook, waNumber } from '../../test/meta-webhooks';
import { agentTurnJob } from '../jobs/agent-turn';
import { WEBHOOK_EVENT_JOB_KIND } from '../jobs/webhook-event';
import { INLINE_UPDATES_LIMIT, updatesIn } from './batch';

const script = scriptedModels(Array.from({ length: 20 }, () => replyWith('Enseguida.')));
it.override('harnessOptions', { jobs: [agentTurnJob({ models: script.resolver })] });

/** One signed WhatsApp body: `count` messages, spread over `customers`. */
function batch(t: Parameters<typeof waNumber>[0], customers: string[], count: number) {
  const number = waNumber(t);
  const messages = Array.from({ length: count }, (_, i) =>
    whatsappInboundMessage({
      from: customers[i % customers.length] as string,
      id: randomWamid(),
      timestamp: providerSeconds(-count + i),
      message: { type: 'text', text: `mensaje ${i}` },
    }),
  );
  return {
    ids: messages.map((m) => m.id),
    body: whatsappWebhook(
      number.wabaId,
      whatsappMessagesChange({
        ...number,
        contacts: customers.map((from) => whatsappContact({ from, name: 'Cliente' })),
        messages,
      }),
    ),
  };
}

describe('updatesIn: how many updates a body holds', () => {
  it('counts WhatsApp messages and statuses, Messenger/Instagram items, and other changes as one', () => {
    const whatsapp = {
      entry: [
        { changes: [{ value: { messages: [1, 2, 3], statuses: [1] } }, { value: {} }] },
        { changes: [{ value: { statuses: [1, 2] } }] },
      ],
    };
    expect(updatesIn(whatsapp)).toBe(4 + 1 + 2);
    expect(updatesIn({ entry: [{ messaging: [1, 2] }, { messaging: [3] }] })).toBe(3);
  });

  it('counts 0 for what is not Meta-shaped, whatever it is', () => {
    for (const body of [
      null,
      1,
      'x',
      [],
      {},
      { entry: 'x' },
      { entry: [null, 1, { changes: 1 }] },
    ]) {
      expect(updatesIn(body)).toBe(0);
    }
  });
});

describe(`a body of more than ${INLINE_UPDATES_LIMIT} updates`, () => {
  it('is stored and answered at once; its job stores every message once, one reply per customer', async ({
    harness: h,
    sql,
    tenant: t,
  }) => {
    const customers = [customerPhone(), customerPhone(), customerPhone()];
    const { ids, body } = batch(t, customers, INLINE_UPDATES_LIMIT + 50);
    const res = await postWebhook(h, body);
    expect(res.status).toBe(200);
    const { status, event_id } = (await res.json()) as { status: string; event_id: string };
    expect(status).toBe('received');
    // Stored as it came, nothing processed yet: that is the job's.
    const [before] = await sql`select outcome from webhook_events where id = ${event_id}`;
    expect(before?.outcome).toBe('received');
    const [none] = await sql`select count(*)::int as n from messages
      where provider_message_id in ${sql(ids)}`;
    expect(none?.n).toBe(0);
    const published = h
      .qstash!.messages()
      .filter((m) => m.url.endsWith(`/jobs/${WEBHOOK_EVENT_JOB_KIND}`));
    expect(published).toHaveLength(1);

    // Meta resends it before the job ran: stored once, the same job (deduplicated).
    expect((await postWebhook(h, body)).status).toBe(200);
    await h.settle();

    const stored = await sql`select provider_message_id, count(*)::int as n from messages
      where provider_message_id in ${sql(ids)} group by provider_message_id`;
    expect(stored).toHaveLength(ids.length);
    expect(stored.every((r) => r.n === 1)).toBe(true);
    const [after] = await sql`select outcome from webhook_events where id = ${event_id}`;
    expect(after?.outcome).toBe('processed');
    for (const phone of customers) {
      expect(graphSends(h).filter((s) => s.to === phone)).toHaveLength(1);
    }
    const jobs = h
      .qstash!.messages()
      .filter((m) => m.url.endsWith(`/jobs/${WEBHOOK_EVENT_JOB_KIND}`));
    expect(jobs.map((j) => j.state)).toEqual(['delivered']);
    expect(JSON.parse(jobs[0]!.lastResponse!.body).detail).toBe(
      `processed: ${ids.length} stored, 0 duplicates`,
    );
  });

  it('a body at the limit is processed in its request', async ({ harness: h, sql, tenant: t }) => {
    const { ids, body } = batch(t, [customerPhone()], INLINE_UPDATES_LIMIT);
    const res = await postWebhook(h, body);
    expect(((await res.json()) as { status: string }).status).toBe('processed');
    const [stored] = await sql`select count(*)::int as n from messages
      where provider_message_id in ${sql(ids)}`;
    expect(stored?.n).toBe(ids.length);
    await h.settle();
  });
});
