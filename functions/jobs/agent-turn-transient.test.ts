import { afterAll, describe, expect } from 'vitest';
import {
  conversationOf,
  customerWrites,
  graphSends,
  replyWith,
  runsOf,
  type ScriptStep,
  scriptedModels,
  threadOf,
} from '../../test/agent';
import { downDatabase } from '../../test/down-database';
import { it } from '../../test/it';
import { customerPhone } from '../../test/meta-webhooks';
import type { AgentModelResolver } from '../agent/models';
import type { Services } from '../context';
import { JOB_RETRIES } from '../lib/jobs';
import { agentTurnJob } from './agent-turn';

/**
 * Issue 15, "a transient timeout hands the customer to a person for good": a model call that times
 * out (or meets any transient failure, functions/lib/transient-errors.ts) is retried by the job;
 * only when every delivery failed is the conversation handed off, with the reason in words.
 */
let script = scriptedModels([]);
const models: AgentModelResolver = (choice) => script.resolver(choice);
/** How many of the next turns store their outcome on a database that is down. */
let failingStores = 0;
const down = await downDatabase();
afterAll(() => down.close());
const storeDb = (services: Services) => {
  if (failingStores <= 0) return services.db;
  failingStores -= 1;
  return down.db;
};
it.override('harnessOptions', { jobs: [agentTurnJob({ models, storeDb })] });

const timeout: ScriptStep = async () => {
  throw new DOMException('The operation was aborted due to timeout', 'TimeoutError');
};

describe('agent turn: transient model failures', () => {
  it('a timeout is retried and the next delivery answers: no handoff, one reply', async ({
    harness: h,
    sql,
    tenant: t,
  }) => {
    script = scriptedModels([timeout, replyWith('Sí, mañana a las 10 tenemos hueco.')]);
    const phone = customerPhone();
    await customerWrites(h, t, phone, 'Hola, ¿tenéis cita mañana?');
    await h.settle();

    expect(script.chat.doGenerateCalls).toHaveLength(2);
    const conversation = await conversationOf(sql, t, phone);
    expect(conversation).toMatchObject({ is_locked: false });
    const runs = await runsOf(sql, conversation.id);
    expect(runs.map((r) => r.outcome)).toEqual(['replied']);
    const agent = (await threadOf(sql, conversation.id)).filter((m) => m.sender === 'agent');
    expect(agent.map((m) => m.content)).toEqual(['Sí, mañana a las 10 tenemos hueco.']);
    expect(graphSends(h).filter((s) => s.to === phone)).toHaveLength(1);
  });

  it('the database failing after the run started gives the run back: the next delivery answers at once, no handoff', async ({
    harness: h,
    sql,
    tenant: t,
  }) => {
    script = scriptedModels([replyWith('Primera respuesta.'), replyWith('Sí, tenemos hueco.')]);
    failingStores = 1;
    const phone = customerPhone();
    await customerWrites(h, t, phone, 'Hola, ¿tenéis cita mañana?');
    await h.settle();

    expect(failingStores).toBe(0);
    expect(script.chat.doGenerateCalls).toHaveLength(2);
    const conversation = await conversationOf(sql, t, phone);
    expect(conversation).toMatchObject({ is_locked: false });
    const runs = await runsOf(sql, conversation.id);
    expect(runs.map((r) => r.outcome)).toEqual(['replied']);
    const agent = (await threadOf(sql, conversation.id)).filter((m) => m.sender === 'agent');
    expect(agent.map((m) => m.content)).toEqual(['Sí, tenemos hueco.']);
    expect(graphSends(h).filter((s) => s.to === phone)).toHaveLength(1);
  });

  it('a timeout on every delivery hands off only after the retries, saying so plainly', async ({
    harness: h,
    sql,
    tenant: t,
  }) => {
    script = scriptedModels(Array.from({ length: JOB_RETRIES + 1 }, () => timeout));
    const phone = customerPhone();
    await customerWrites(h, t, phone, 'Hola, ¿tenéis cita mañana?');
    await h.settle();

    expect(script.chat.doGenerateCalls).toHaveLength(JOB_RETRIES + 1);
    const conversation = await conversationOf(sql, t, phone);
    expect(conversation).toMatchObject({ is_locked: true, locked_by: 'escalation' });
    expect(conversation.lock_reason).toBe(
      `The AI could not answer after ${JOB_RETRIES + 1} tries (it timed out); a person should reply.`,
    );
    const runs = await runsOf(sql, conversation.id);
    expect(runs.map((r) => r.outcome)).toEqual(['handed_off']);
    expect(runs[0]?.error).toContain('TimeoutError');
  });

  it('a permanent model error (a refused request) still hands off at once', async ({
    harness: h,
    sql,
    tenant: t,
  }) => {
    script = scriptedModels([
      async () => {
        throw new Error('the model refused the request');
      },
    ]);
    const phone = customerPhone();
    await customerWrites(h, t, phone, 'Hola');
    await h.settle();

    expect(script.chat.doGenerateCalls).toHaveLength(1);
    const conversation = await conversationOf(sql, t, phone);
    expect(conversation).toMatchObject({ is_locked: true, locked_by: 'escalation' });
    expect(conversation.lock_reason).toBe(
      'The AI could not answer (Error); a person should reply.',
    );
  });
});
