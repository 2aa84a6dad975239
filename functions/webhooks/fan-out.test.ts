import { describe, expect } from 'vitest';
import {
  randomWamid,
  whatsappContact,
  whatsappInboundMessage,
  whatsappMessagesChange,
  whatsappWebhook,
} from '../../dev/meta-payloads';
import {
  conversationOf,
  graphSends,
  providerSeconds,
  replyWith,
  runsOf,
  scriptedModels,
} from '../../test/agent';
import { it } from '../../test/it';
import { customerPhone, postWebhook, waNumber } from '../../test/meta-webhooks';
import { agentTurnJob } from '../jobs/agent-turn';

/**
 * Issue 15, "one large webhook takes the database down" and "same-second batches get a reply per
 * message": however many messages of one customer arrive in one signed body (or in one second),
 * the conversation gets exactly one agent turn and one reply. The debounce due-marker
 * (app.ingest_customer_message, migration 0020) is what ensures it; these tests hold it through
 * the signed webhook, QStash stand-in and send job.
 */
const script = scriptedModels(
  Array.from({ length: 50 }, () => replyWith('Le respondemos enseguida.')),
);
it.override('harnessOptions', { jobs: [agentTurnJob({ models: script.resolver })] });

/** One signed body with `count` text messages from `from`, all in the same provider second. */
function burstBody(waNumberOf: ReturnType<typeof waNumber>, from: string, count: number) {
  const timestamp = providerSeconds();
  return whatsappWebhook(
    waNumberOf.wabaId,
    whatsappMessagesChange({
      phoneNumberId: waNumberOf.phoneNumberId,
      displayPhoneNumber: waNumberOf.displayPhoneNumber,
      contacts: [whatsappContact({ from, name: 'Ana' })],
      messages: Array.from({ length: count }, (_, i) =>
        whatsappInboundMessage({
          from,
          id: randomWamid(),
          timestamp,
          message: { type: 'text', text: `mensaje ${i + 1}` },
        }),
      ),
    }),
  );
}

describe('fan-out: many messages of one customer make one agent turn', () => {
  for (const [count, how] of [
    [200, 'in one signed body'],
    [3, 'in one second'],
    [10, 'in one second'],
  ] as const) {
    it(`${count} messages ${how} → one turn, one reply`, async ({ harness: h, sql, tenant: t }) => {
      const phone = customerPhone();
      const callsBefore = script.chat.doGenerateCalls.length;
      if (how === 'in one signed body') {
        const res = await postWebhook(h, burstBody(waNumber(t), phone, count));
        expect(res.status).toBe(200);
      } else {
        // Separate webhooks, each signed, all stamped with the same provider second.
        const responses = await Promise.all(
          Array.from({ length: count }, () => postWebhook(h, burstBody(waNumber(t), phone, 1))),
        );
        expect(responses.map((r) => r.status)).toEqual(responses.map(() => 200));
      }
      // A body over the inline limit is processed by its job: settle first.
      await h.settle();
      const conversation = await conversationOf(sql, t, phone);
      const [turnJobs] = await sql`select count(*)::int as turns from job_outbox
        where tenant_id = ${t.tenantId} and kind = 'agent-turn'
          and payload->>'conversationId' = ${conversation.id}`;
      expect(turnJobs?.turns).toBe(1);
      const [stored] = await sql`select count(*)::int as inbound from messages
        where conversation_id = ${conversation.id} and direction = 'inbound'`;
      expect(stored?.inbound).toBe(count);
      expect(script.chat.doGenerateCalls.length - callsBefore).toBe(1);
      const runs = await runsOf(sql, conversation.id);
      expect(runs.map((r) => r.outcome)).toEqual(['replied']);
      const replies = await sql`select status from messages
        where conversation_id = ${conversation.id} and direction = 'outbound' and sender = 'agent'`;
      expect(replies).toHaveLength(1);
      expect(graphSends(h).filter((s) => s.to === phone)).toHaveLength(1);
    });
  }
});
