import { afterAll, bench, describe } from 'vitest';
import {
  randomWamid,
  whatsappContact,
  whatsappInboundMessage,
  whatsappMessagesChange,
  whatsappWebhook,
} from '../dev/meta-payloads';
import { adminSql, createTenant } from '../test/fixtures';
import { createHarness } from '../test/harness';
import { customerPhone, postWebhook, waNumber } from '../test/meta-webhooks';

/**
 * Webhook intake: a batch of 10 customer messages, signed as Meta signs it, through the real app
 * and a real database. Meta retries and duplicates deliveries, so the duplicate path matters as
 * much as the first delivery; the database's unique keys decide it, in the same round trips.
 */
// Vitest runs no hooks before benchmarks, so everything is arranged at module load.
const sql = adminSql();
const tenant = await createTenant(sql, 'Bench webhooks');
const h = await createHarness();

function batch() {
  const number = waNumber(tenant);
  const customers = Array.from({ length: 10 }, () => customerPhone());
  return whatsappWebhook(
    number.wabaId,
    whatsappMessagesChange({
      ...number,
      contacts: customers.map((phone) => whatsappContact({ from: phone, name: 'Bench' })),
      messages: customers.map((phone) =>
        whatsappInboundMessage({
          from: phone,
          id: randomWamid(),
          message: { type: 'text', text: 'hola' },
        }),
      ),
    }),
  );
}

async function post(harness: typeof h, body: unknown) {
  const res = await postWebhook(harness, body);
  if (res.status !== 200) throw new Error(`webhook answered ${res.status}`);
}

const seen = batch();
await post(h, seen);

describe('POST /webhooks/meta, a batch of 10 messages', () => {
  afterAll(async () => {
    await h.close();
    await sql.end();
  });

  bench('first delivery (10 new messages stored)', async () => {
    await post(h, batch());
  });
  bench('duplicate delivery (the database decides)', async () => {
    await post(h, seen);
  });
});
