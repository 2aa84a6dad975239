import { describe, expect } from 'vitest';
import { conversationOf, customerWrites, runsOf, threadOf } from '../../test/agent';
import { it } from '../../test/it';
import { customerPhone } from '../../test/meta-webhooks';
import { JOB_RETRIES } from '../lib/jobs';
import { agentTurnJob } from './agent-turn';

/**
 * A turn that fails on every delivery for a reason that is not the model's (here: the model cannot
 * even be chosen). QStash retries it; its last delivery must close the run as `failed` and hand
 * the conversation to a person, so the customer is never left waiting in silence.
 */
let deliveries = 0;
it.override('harnessOptions', {
  jobs: [
    agentTurnJob({
      models: () => {
        deliveries++;
        throw new Error('model configuration unreadable');
      },
    }),
  ],
});

describe('agent turn failing on every delivery', () => {
  it('is retried, then recorded as failed and handed off with the reason on its last delivery', async ({
    harness: h,
    sql,
    tenant: t,
  }) => {
    const phone = customerPhone();
    await customerWrites(h, t, phone, 'Hola, ¿tenéis cita mañana?');
    await h.settle();

    expect(deliveries).toBe(JOB_RETRIES + 1);
    const conversation = await conversationOf(sql, t, phone);
    const [run] = await runsOf(sql, conversation.id);
    expect(run).toMatchObject({ outcome: 'failed', model: 'none (failed before the model)' });
    expect(run?.error).toContain('model configuration unreadable');
    expect(conversation).toMatchObject({ is_locked: true, locked_by: 'escalation' });
    expect(conversation.lock_reason).toContain('could not answer');
    // The customer is told a person will follow up (in Spanish, their language), and it is sent.
    const system = (await threadOf(sql, conversation.id)).filter((m) => m.sender === 'system');
    // A note for operators in the thread, and the notice to the customer.
    expect(system.filter((m) => m.type === 'note').map((m) => m.content)).toEqual([
      expect.stringContaining('could not answer'),
    ]);
    const notices = system.filter((m) => m.type !== 'note');
    expect(notices).toHaveLength(1);
    expect(notices[0]?.status).toMatch(/sent|delivered|read/);
  });
});
