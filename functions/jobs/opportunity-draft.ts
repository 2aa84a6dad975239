import { z } from 'zod';
import { type FollowUpDeps, OPPORTUNITY_DRAFT_JOB, writeFollowUpDraft } from '../agent/follow-ups';
import { DEFAULT_TURN_DEPS } from '../agent/turn';
import { defineJob } from './define';

export const DEFAULT_FOLLOW_UP_DEPS: FollowUpDeps = {
  models: DEFAULT_TURN_DEPS.models,
  timeoutMs: DEFAULT_TURN_DEPS.timeoutMs,
  historyRows: DEFAULT_TURN_DEPS.historyRows,
};

/**
 * `opportunity-draft`: the agent writes an accepted opportunity's follow-up as a pending draft
 * (functions/agent/follow-ups.ts). Queued by a card's Accept / Draft or the operator API; tests
 * pass `opportunityDraftJob({ models })` to createHarness's `jobs`, like agentTurnJob.
 */
export function opportunityDraftJob(overrides: Partial<FollowUpDeps> = {}) {
  const deps: FollowUpDeps = { ...DEFAULT_FOLLOW_UP_DEPS, ...overrides };
  return defineJob({
    kind: OPPORTUNITY_DRAFT_JOB,
    payload: z.object({ opportunityId: z.uuid() }),
    handle: (ctx, payload) => writeFollowUpDraft(ctx, payload, deps),
  });
}
