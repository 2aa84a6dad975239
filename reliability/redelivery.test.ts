import { describe, expect } from 'vitest';
import {
  whatsappContact,
  whatsappInboundMessage,
  whatsappMessagesChange,
  whatsappWebhook,
} from '../dev/meta-payloads';
import { agentTurnJob } from '../functions/jobs/agent-turn';
import { graphSends, providerSeconds, replyWith, scriptedModels } from '../test/agent';
import { it } from '../test/it';
import { customerPhone, postWebhook, waNumber } from '../test/meta-webhooks';
import { inBatches, jobStats, secondsSince, summary, Tally } from './report';
import { CONCURRENCY, size } from './sizes';

/**
 * Issue 15, redelivery: Meta delivers at least once, and retries overlap. `redeliveryBodies`
 * distinct signed bodies (one message each, from `redeliveryCustomers` customers), every body
 * posted `redeliveryCopies` times at once. Holds: every answer a 200; exactly one stored message
 * per body (none lost, none doubled); one agent turn and one reply per conversation, after the
 * jobs, their sends and the Graph stand-in's status webhooks have all run.
 */
const script = scriptedModels(
  Array.from({ length: size.redeliveryCustomers * 3 }, () => replyWith('Gracias, le respondemos.')),
);
it.override('harnessOptions', { jobs: [agentTurnJob({ models: script.resolver })] });

describe('reliability: redelivery', () => {
  it(`${size.redeliveryBodies} bodies × ${size.redeliveryCopies} at once: each stored once, one reply per conversation`, async ({
    harness: h,
    sql,
    tenant: t,
  }) => {
    const started = performance.now();
    const customers = Array.from({ length: size.redeliveryCustomers }, () => customerPhone());
    const number = waNumber(t);
    const bodies = Array.from({ length: size.redeliveryBodies }, (_, i) => {
      const from = customers[i % customers.length] as string;
      const id = `wamid.REDELIVERY${i}-${crypto.randomUUID()}`;
      const body = whatsappWebhook(
        number.wabaId,
        whatsappMessagesChange({
          phoneNumberId: number.phoneNumberId,
          displayPhoneNumber: number.displayPhoneNumber,
          contacts: [whatsappContact({ from, name: 'Cliente' })],
          messages: [
            whatsappInboundMessage({
              from,
              id,
              timestamp: providerSeconds(-(i % 60)),
              message: { type: 'text', text: `mensaje ${i}` },
            }),
          ],
        }),
      );
      return { id, body };
    });
    const answers = new Tally();
    const replies = new Tally();
    const copies = Math.max(1, Math.floor(CONCURRENCY / size.redeliveryCopies));
    await inBatches(bodies, copies, async ({ body }) => {
      const responses = await Promise.all(
        Array.from({ length: size.redeliveryCopies }, () => postWebhook(h, body)),
      );
      for (const res of responses) {
        answers.add(res.status);
        if (res.status === 200) replies.add(((await res.json()) as { status: string }).status);
      }
    });
    const postSeconds = secondsSince(started);
    const callsBefore = script.chat.doGenerateCalls.length;
    await h.settle();

    const ids = bodies.map((b) => b.id);
    const stored = await sql`select provider_message_id as id, count(*)::int as n from messages
      where tenant_id = ${t.tenantId} and direction = 'inbound' group by provider_message_id`;
    const count = new Map(stored.map((r) => [r.id as string, r.n as number]));
    const lost = ids.filter((id) => !count.has(id)).length;
    const doubled = [...count.values()].filter((n) => n > 1).length;
    const conversations = await sql`select cv.id,
        (select count(*)::int from job_outbox j where j.kind = 'agent-turn'
           and j.payload->>'conversationId' = cv.id::text) as turns,
        (select count(*)::int from agent_runs r where r.conversation_id = cv.id) as runs,
        (select count(*)::int from messages m where m.conversation_id = cv.id
           and m.direction = 'outbound' and m.sender = 'agent') as replies
      from conversations cv where cv.tenant_id = ${t.tenantId}`;
    const notOne = conversations.filter((c) => c.turns !== 1 || c.runs !== 1 || c.replies !== 1);
    const sends = graphSends(h).filter((s) => customers.includes(String(s.to)));
    const sendsPerCustomer = new Tally();
    for (const s of sends) sendsPerCustomer.add(String(s.to));
    const customersNotOneSend = customers.filter((c) => sendsPerCustomer.get(c) !== 1).length;
    const jobs = jobStats(h.qstash?.messages() ?? []);
    const fiveXx = [...answers.toString().matchAll(/5\d\d:(\d+)/g)].reduce(
      (s, m) => s + Number(m[1]),
      0,
    );

    summary('redelivery', {
      sent: bodies.length * size.redeliveryCopies,
      bodies: bodies.length,
      copies: size.redeliveryCopies,
      customers: customers.length,
      answers: answers.toString(),
      outcomes: replies.toString(),
      '5xx': fiveXx,
      messages: count.size,
      lost,
      doubled,
      conversations: conversations.length,
      conversationsNotOneReply: notOne.length,
      modelCalls: script.chat.doGenerateCalls.length - callsBefore,
      graphSends: sends.length,
      customersNotOneSend,
      jobs: jobs.published.toString(),
      jobRetries: jobs.retries,
      dlq: jobs.dlq,
      postSeconds,
      seconds: secondsSince(started),
    });

    expect(answers.get(200)).toBe(bodies.length * size.redeliveryCopies);
    expect(replies.get('processed')).toBe(bodies.length);
    expect(count.size).toBe(bodies.length);
    expect(lost).toBe(0);
    expect(doubled).toBe(0);
    expect(conversations).toHaveLength(customers.length);
    expect(notOne).toEqual([]);
    expect(script.chat.doGenerateCalls.length - callsBefore).toBe(customers.length);
    expect(customersNotOneSend).toBe(0);
    expect(jobs.dlq).toBe(0);
  });
});
