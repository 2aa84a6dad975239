import { tool } from 'ai';
import { z } from 'zod';
import type { AgentToolFactory } from './index';

/**
 * `escalate_to_human`: hands the conversation to a person. The effect is applied when the turn
 * stores its results (lock with reason `escalation`, a short notice to the customer in their
 * language, a note for operators, and the escalation contacts notified on WhatsApp with a
 * `conv:{id}:take` button), only if the run was not superseded or locked meanwhile.
 */
export const escalateToHumanTool: AgentToolFactory = (ctx) =>
  tool({
    description:
      'Hand this conversation to a human team member. Use it when the customer asks for a person, ' +
      'is upset, has a complaint, needs something you cannot do or answer from the knowledge ' +
      'base. The customer is told a person will follow up; do not write anything else after it.',
    inputSchema: z.object({
      reason: z
        .string()
        .min(3)
        .max(300)
        .describe('Why a person is needed, for the team (one sentence, in English)'),
    }),
    execute: async ({ reason }) => {
      ctx.effects.escalation = { reason };
      return {
        status: 'handed_off',
        note: 'A team member will take over; the customer is told. Do not add a reply.',
      };
    },
  });
