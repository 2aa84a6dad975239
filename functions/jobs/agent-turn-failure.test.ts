import type postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { conversationOf, customerWrites, runsOf, threadOf } from '../../test/agent';
import { adminSql, createTenant, type TenantFixture } from '../../test/fixtures';
import { createHarness, type Harness } from '../../test/harness';
import { customerPhone } from '../../test/meta-webhooks';
import { JOB_RETRIES } from '../lib/jobs';
import { agentTurnJob } from './agent-turn';

/**
 * A turn that fails on every delivery for a reason that is not the model's (here: the model cannot
 * even be chosen). QStash retries it; its last delivery must close the run as `failed` and hand
 * the conversation to a person, so the customer is never left waiting in silence.
 */
describe('agent turn failing on every delivery', () => {
  let h: Harness;
  let sql: postgres.Sql;
  let t: TenantFixture;
  let deliveries = 0;

  beforeAll(async () => {
    h = await createHarness({
      jobs: [
        agentTurnJob({
          models: () => {
            deliveries++;
            throw new Error('model configuration unreadable');
          },
        }),
      ],
    });
    sql = adminSql();
    t = await createTenant(sql, 'Failing Turns');
    h.registerTenant(t);
  });
  afterAll(async () => {
    await sql.end();
    await h.close();
  });

  it('is retried, then recorded as failed and handed off with the reason on its last delivery', async () => {
    const phone = customerPhone();
    await customerWrites(h, t, phone, 'Hola, ¿tenéis cita mañana?');
    await h.settle();

    expect(deliveries).toBe(JOB_RETRIES + 1);
    const conversation = await conversationOf(sql, t, phone);
    const [run] = await runsOf(sql, conversation.id);
    expect(run).toMatchObject({ outcome: 'failed', model: 'none (failed before the model)' });
    expect(run!.error).toContain('model configuration unreadable');
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
    expect(notices[0]!.status).toMatch(/sent|delivered|read/);
  });
});
