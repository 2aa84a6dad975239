import { createHash } from 'node:crypto';
import type postgres from 'postgres';
import { addDays, localDateOf, zonedInstant } from '../core/appointments/availability';
import type { demoTenants } from './local-config';

/**
 * Four weeks of history for the demo businesses' dashboard (docs/observability.md, "Dashboard"):
 * 24 regular customers on the three channels, about nine of them writing on a given day, answered
 * by the AI in a minute or two (each answer an agent run with tokens and a list-price cost) or by
 * the agent operator in minutes; now and then a handoff (the AI's decision, or the customer asking
 * for a person), given back an hour later, and a reply that failed to be delivered.
 *
 * Every row's id comes from its tenant, day and place, so seeding again adds only the days since
 * the last time (the last 28 before today, in the business time zone): on every `npm start` the
 * charts have four full weeks. Texts are plain greetings and thanks, so the follow-up scan finds
 * nothing in them (dev/seed-follow-ups.ts seeds what it should find). When days are added, the
 * business's rolled-up dashboard days are dropped, for the cron to roll them up again with them.
 */
type DemoTenant = (typeof demoTenants)[number];

const DAYS = 28;
const CUSTOMERS = 24;
const CHANNELS = ['whatsapp', 'whatsapp', 'messenger', 'instagram'] as const;

/** A stable UUID (shaped as version 4) for a key. */
function stableId(key: string): string {
  const h = createHash('md5').update(`demo-dashboard:${key}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** A number in [0, n) from a key: the same every time. */
function pick(key: string, n: number): number {
  return Number.parseInt(createHash('md5').update(key).digest('hex').slice(0, 8), 16) % n;
}

const WORDS = {
  es: {
    names: ['Lucía', 'Hugo', 'Martina', 'Pablo', 'Sofía', 'Daniel', 'Paula', 'Álvaro'],
    hello: [
      'Hola, buenos días',
      'Hola, una pregunta',
      'Buenas tardes',
      'Hola, ¿estáis abiertos hoy?',
    ],
    reply: ['¡Hola! Claro, dime en qué te ayudo.', 'Buenos días, ¿en qué podemos ayudarte?'],
    thanks: ['Perfecto, gracias', 'Vale, muchas gracias', 'Genial, gracias'],
    bye: ['¡A ti! Que tengas un buen día.', 'De nada, aquí estamos.'],
    person: 'Quiero hablar con una persona',
  },
  en: {
    names: ['Emma', 'Liam', 'Olivia', 'Noah', 'Ava', 'Mason', 'Mia', 'Lucas'],
    hello: ['Hi there', 'Hello, quick question', 'Good afternoon', 'Hi, are you open today?'],
    reply: ['Hi! Sure, how can I help?', 'Hello, what can we do for you?'],
    thanks: ['Perfect, thanks', 'Great, thank you', 'Ok, thanks a lot'],
    bye: ['You are welcome, have a nice day!', 'Any time, we are here.'],
    person: 'I want to talk to a person',
  },
} as const;

type MessageRow = {
  id: string;
  tenant_id: string;
  conversation_id: string;
  channel_account_id: string;
  direction: 'inbound' | 'outbound';
  sender: 'user' | 'agent' | 'operator';
  type: string;
  content: string;
  provider_message_id: string | null;
  provider_timestamp: Date;
  received_at: Date;
  status: string;
  error_code: string | null;
  error_reason: string | null;
  correlation_id: string | null;
  payload: Record<string, unknown>;
};

export async function seedDemoDashboard(
  sql: postgres.TransactionSql,
  t: DemoTenant,
  now: Date,
): Promise<void> {
  const words = t.timeZone === 'Europe/Madrid' ? WORDS.es : WORDS.en;
  const operator = t.users.find((u) => u.role === 'agent')?.id ?? t.users[0].id;
  const accounts = new Map(
    (
      await sql<{ id: string; channel: string }[]>`
        select id, channel::text from channel_accounts where tenant_id = ${t.id}`
    ).map((a) => [a.channel, a.id]),
  );
  const customers = [];
  for (let c = 0; c < CUSTOMERS; c++) {
    const channel = CHANNELS[c % CHANNELS.length] ?? 'whatsapp';
    const accountId = accounts.get(channel);
    if (!accountId) continue;
    const externalId =
      channel === 'whatsapp'
        ? `${t.timeZone === 'Europe/Madrid' ? '3469' : '1917'}${String(5550000 + c)}`
        : `demo-${t.slug}-${c}`;
    const name = `${words.names[c % words.names.length]} ${String.fromCharCode(65 + c)}.`;
    const contactId = stableId(`${t.id}:contact:${c}`);
    await sql`insert into contacts (id, tenant_id, channel, external_user_id, phone, name)
      values (${contactId}, ${t.id}, ${channel}, ${externalId},
        ${channel === 'whatsapp' ? externalId : null}, ${name})
      on conflict do nothing`;
    const conversationId = stableId(`${t.id}:conversation:${c}`);
    await sql`insert into conversations (id, tenant_id, contact_id, channel_account_id)
      values (${conversationId}, ${t.id}, ${contactId}, ${accountId})
      on conflict do nothing`;
    customers.push({ c, channel, accountId, conversationId });
  }

  const today = localDateOf(now, t.timeZone);
  const messages: MessageRow[] = [];
  const runs: Record<string, unknown>[] = [];
  const locks: Record<string, unknown>[] = [];
  for (let back = 1; back <= DAYS; back++) {
    const day = addDays(today, -back);
    for (const { c, accountId, conversationId } of customers) {
      const key = `${t.id}:${day}:${c}`;
      if (pick(`${key}:writes`, 100) >= 38) continue;
      // Between 09:00 and 19:00 local time.
      let at = zonedInstant(day, 9 * 60 + pick(`${key}:at`, 600), t.timeZone);
      let n = 0;
      const add = (
        direction: 'inbound' | 'outbound',
        sender: 'user' | 'agent' | 'operator',
        content: string,
        extra: Partial<MessageRow> = {},
      ) => {
        const id = stableId(`${key}:message:${n++}`);
        messages.push({
          id,
          tenant_id: t.id,
          conversation_id: conversationId,
          channel_account_id: accountId,
          direction,
          sender,
          type: 'text',
          content,
          provider_message_id: `demo.${id}`,
          provider_timestamp: new Date(at),
          received_at: new Date(at),
          status: direction === 'inbound' ? 'received' : 'read',
          error_code: null,
          error_reason: null,
          correlation_id: null,
          payload: {},
          ...extra,
        });
        return id;
      };
      const agentReply = (content: string, seconds: number) => {
        at += seconds * 1000;
        const correlationId = `demo-${stableId(`${key}:run:${n}`)}`;
        const input = 1400 + pick(`${key}:in:${n}`, 900);
        const output = 40 + pick(`${key}:out:${n}`, 80);
        runs.push({
          id: stableId(`${key}:run:${n}`),
          tenant_id: t.id,
          conversation_id: conversationId,
          correlation_id: correlationId,
          model: 'gpt-4.1-mini',
          usage: { inputTokens: input, outputTokens: output, totalTokens: input + output },
          // gpt-4.1-mini's list price: US$0.40 per million input tokens, US$1.60 per million output.
          cost_usd: (input * 0.4 + output * 1.6) / 1e6,
          latency_ms: 1200 + pick(`${key}:lat:${n}`, 2500),
          outcome: 'replied',
          started_at: new Date(at - 3000),
          finished_at: new Date(at),
        });
        return add('outbound', 'agent', content, { correlation_id: correlationId });
      };
      const hello = words.hello[pick(`${key}:hello`, words.hello.length)] ?? words.hello[0];
      add('inbound', 'user', hello);
      const roll = pick(`${key}:kind`, 20);
      if (roll === 0) {
        // The customer asks for a person: handed over, a person answers, given back an hour later.
        at += 30_000;
        add('inbound', 'user', words.person);
        locks.push(
          lock(
            t.id,
            conversationId,
            key,
            at + 1000,
            'keyword',
            `The customer asked for a person ("${words.person}")`,
          ),
        );
        at += (4 + pick(`${key}:wait`, 16)) * 60_000;
        add('outbound', 'operator', words.reply[0], {
          payload: { requested_by_user_id: operator },
        });
        locks.push(unlock(t.id, conversationId, key, at + 3_600_000, operator));
        continue;
      }
      if (roll <= 3) {
        // A person answers first (the team was quicker, or the AI was off for this customer).
        at += (2 + pick(`${key}:wait`, 18)) * 60_000;
        add('outbound', 'operator', words.reply[1], {
          payload: { requested_by_user_id: operator },
        });
      } else {
        agentReply(words.reply[0], 15 + pick(`${key}:wait`, 100));
      }
      at += (2 + pick(`${key}:think`, 10)) * 60_000;
      add(
        'inbound',
        'user',
        words.thanks[pick(`${key}:thanks`, words.thanks.length)] ?? words.thanks[0],
      );
      if (roll === 4 || roll === 5) {
        // The AI decides a person should answer this one.
        const reason =
          t.timeZone === 'Europe/Madrid'
            ? 'The customer wants to talk about a treatment plan with the dentist'
            : 'The customer wants to change a booking with a specific stylist';
        locks.push(lock(t.id, conversationId, key, at + 20_000, 'escalation', reason));
        at += (5 + pick(`${key}:wait2`, 25)) * 60_000;
        add('outbound', 'operator', words.bye[1], { payload: { requested_by_user_id: operator } });
        locks.push(unlock(t.id, conversationId, key, at + 3_600_000, operator));
        continue;
      }
      const id = agentReply(words.bye[0], 10 + pick(`${key}:wait2`, 50));
      if (roll === 6 || (roll === 7 && back % 3 === 0)) {
        // Delivery failed: the customer's window had closed, or the number is not on WhatsApp.
        const failure =
          roll === 6 ? ['131047', 'Re-engagement message'] : ['131026', 'Message undeliverable'];
        const failed = messages.find((m) => m.id === id);
        if (failed)
          Object.assign(failed, {
            status: 'failed',
            error_code: failure[0],
            error_reason: failure[1],
          });
        // A person sees the failure in the inbox and answers another way.
        at += (10 + pick(`${key}:resend`, 30)) * 60_000;
        add('outbound', 'operator', words.bye[1], {
          payload: { requested_by_user_id: operator },
        });
      }
    }
  }

  const inserted =
    await sql`insert into messages ${sql(messages as never[])} on conflict do nothing returning id`;
  if (runs.length) {
    await sql`insert into agent_runs ${sql(runs as never[])} on conflict do nothing`;
  }
  if (locks.length) {
    await sql`insert into conversation_lock_events ${sql(locks as never[])} on conflict do nothing`;
  }
  if (inserted.length === 0) return;
  // The inbox's order and preview follow the newest message of each conversation.
  await sql`update conversations v set last_message_at = m.provider_timestamp,
      last_message_preview = left(m.content, 200),
      last_inbound_at = greatest(v.last_inbound_at, m.last_inbound)
    from (select distinct on (conversation_id) conversation_id, provider_timestamp, content,
            max(provider_timestamp) filter (where direction = 'inbound')
              over (partition by conversation_id) as last_inbound
          from messages where tenant_id = ${t.id}
          order by conversation_id, provider_timestamp desc) m
    where v.id = m.conversation_id and v.tenant_id = ${t.id}
      and v.id = any(${customers.map((c) => c.conversationId)}::uuid[])`;
  await sql`delete from dashboard_days where tenant_id = ${t.id}`;
}

function lock(
  tenantId: string,
  conversationId: string,
  key: string,
  at: number,
  source: 'escalation' | 'keyword',
  reason: string,
) {
  return {
    id: stableId(`${key}:lock`),
    tenant_id: tenantId,
    conversation_id: conversationId,
    locked: true,
    source,
    user_id: null,
    reason,
    at: new Date(at),
  };
}

function unlock(tenantId: string, conversationId: string, key: string, at: number, userId: string) {
  return {
    id: stableId(`${key}:unlock`),
    tenant_id: tenantId,
    conversation_id: conversationId,
    locked: false,
    source: 'operator',
    user_id: userId,
    reason: null,
    at: new Date(at),
  };
}
