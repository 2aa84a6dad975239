import { tool } from 'ai';
import { z } from 'zod';
import { formatInteractiveId, optionSlug } from '../../../core/agent/ids';
import {
  LIST_ROWS_MAX,
  type OutboundMessage,
  parseOutboundMessage,
  REPLY_BUTTONS_MAX,
} from '../../../core/messaging/kinds';
import type { AgentToolFactory, ToolContext } from './index';

/**
 * `send_buttons` / `send_list`: offer the customer choices. Each option gets a stable id of the id
 * grammar, `opt:{slug}:pick` (the same option always has the same id), so a tap comes back to the
 * agent as a choice. The message is validated against Meta's limits for the conversation's channel
 * (core/messaging/kinds.ts) before it is accepted; a violation goes back to the model as the
 * tool's result, naming the limit, so it can shorten and try again.
 */

const option = z.object({
  title: z.string().min(1).describe('What the customer sees (max 20 characters for buttons)'),
  id: z
    .string()
    .max(60)
    .optional()
    .describe('A short stable key for this option, e.g. "tuesday-10am"; defaults to the title'),
  description: z.string().max(72).optional().describe('List rows only: a second line'),
});

function optionId(value: { title: string; id?: string }): string {
  return formatInteractiveId('opt', optionSlug(value.id || value.title), 'pick');
}

function accept(
  ctx: ToolContext,
  toolCallId: string,
  candidate: OutboundMessage | Record<string, unknown>,
) {
  const parsed = parseOutboundMessage(ctx.channel, candidate);
  if (!parsed.ok) return { ok: false as const, error: parsed.error };
  ctx.effects.messages.push({ toolCallId, message: parsed.message });
  return { ok: true as const, queued: parsed.message.type };
}

export const sendButtonsTool: AgentToolFactory = (ctx) =>
  tool({
    description:
      `Send a message with up to ${REPLY_BUTTONS_MAX} reply buttons (titles of at most 20 ` +
      'characters) for the customer to tap. The body is the message text. Use send_list for more ' +
      'options. The tap comes back to you as the option title.',
    inputSchema: z.object({
      body: z.string().min(1).max(1024),
      options: z.array(option).min(1).max(REPLY_BUTTONS_MAX),
    }),
    execute: async ({ body, options }, { toolCallId }) =>
      accept(ctx, toolCallId, {
        type: 'buttons',
        body,
        buttons: options.map((o) => ({ id: optionId(o), title: o.title })),
      }),
  });

export const sendListTool: AgentToolFactory = (ctx) =>
  tool({
    description:
      `Send a list of up to ${LIST_ROWS_MAX} options (row titles of at most 24 characters, ` +
      'optional 72-character descriptions) behind a button (label of at most 20 characters). ' +
      'On Messenger and Instagram the options become quick replies (titles of at most 20).',
    inputSchema: z.object({
      body: z.string().min(1).max(4096),
      button: z.string().min(1).describe('Label of the button that opens the list'),
      options: z.array(option).min(1).max(LIST_ROWS_MAX),
    }),
    execute: async ({ body, button, options }, { toolCallId }) =>
      accept(
        ctx,
        toolCallId,
        ctx.channel === 'whatsapp'
          ? {
              type: 'list',
              body,
              button,
              sections: [
                {
                  rows: options.map((o) => ({
                    id: optionId(o),
                    title: o.title,
                    ...(o.description ? { description: o.description } : {}),
                  })),
                },
              ],
            }
          : {
              type: 'quick_replies',
              text: body,
              quick_replies: options.map((o) => ({ title: o.title, payload: optionId(o) })),
            },
      ),
  });
