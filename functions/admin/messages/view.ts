import { z } from '@hono/zod-openapi';
import type { MessageRow } from '../../../db/outbound';

/** An outbound message as the operator API returns it (the chat message shape + send state). */
export const outboundMessageView = z
  .object({
    id: z.uuid(),
    conversation_id: z.uuid(),
    direction: z.enum(['inbound', 'outbound']),
    sender: z.enum(['user', 'agent', 'operator', 'system']),
    type: z.string(),
    content: z.string().nullable(),
    timestamp: z.string().openapi({ description: 'Send slot (ordering key), ISO 8601' }),
    attachments: z.array(z.record(z.string(), z.unknown())),
    correlation_id: z.string().nullable(),
    status: z.string(),
    error: z.object({ code: z.string().nullable(), reason: z.string().nullable() }).nullable(),
    simulated: z.boolean(),
  })
  .openapi('OutboundMessage');

export function toOutboundMessageView(row: MessageRow): z.infer<typeof outboundMessageView> {
  return {
    id: row.id,
    conversation_id: row.conversationId,
    direction: row.direction,
    sender: row.sender,
    type: row.type,
    content: row.content,
    timestamp: row.providerTimestamp.toISOString(),
    attachments: row.attachments as Array<Record<string, unknown>>,
    correlation_id: row.correlationId,
    status: row.status,
    error:
      row.errorCode || row.errorReason ? { code: row.errorCode, reason: row.errorReason } : null,
    simulated: row.payload.simulated === true,
  };
}

export const windowViewSchema = z
  .object({
    open: z.boolean(),
    closes_at: z.string().nullable(),
    human_agent_until: z.string().nullable(),
  })
  .openapi('MessagingWindow', {
    description:
      "The customer-service window: free-form messages only while open (24 h after the customer's last message); Messenger / Instagram operators may reply with the Human Agent tag until human_agent_until.",
  });

export const queuedResponse = z
  .object({
    message: outboundMessageView,
    not_before: z.string().openapi({ description: 'Earliest send time (spacing)' }),
    window: windowViewSchema,
  })
  .openapi('QueuedMessage');
