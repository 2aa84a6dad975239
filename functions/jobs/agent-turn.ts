import { z } from 'zod';
import { DEFAULT_TURN_DEPS, failTurn, runAgentTurn, type TurnDeps } from '../agent/turn';
import { JOB_RETRIES } from '../lib/jobs';
import { defineJob } from './define';

export const AGENT_TURN_JOB = 'agent-turn';

/** What inbound ingestion enqueues once per conversation per debounce window (db/inbound.ts). */
export const agentTurnPayload = z.object({
  conversationId: z.uuid(),
  triggerMessageId: z.uuid(),
});

/**
 * `agent-turn`: one debounced agent turn (functions/agent/turn.ts). The registry lists it with the
 * production models; tests pass `agentTurnJob({ models })` to createHarness's `jobs` (extra job
 * kinds replace registered ones of the same kind), so only the model differs from production.
 */
export function agentTurnJob(overrides: Partial<TurnDeps> = {}) {
  const deps: TurnDeps = { ...DEFAULT_TURN_DEPS, ...overrides };
  return defineJob({
    kind: AGENT_TURN_JOB,
    payload: agentTurnPayload,
    async handle(ctx, payload) {
      try {
        return await runAgentTurn(ctx, payload, deps);
      } catch (err) {
        // Earlier deliveries: let QStash retry. The last one must not end in silence.
        if (ctx.retried < JOB_RETRIES) throw err;
        return failTurn(ctx, payload, err);
      }
    },
  });
}
