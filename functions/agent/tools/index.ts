import type { Tool, ToolSet } from 'ai';
import type { AgentLanguage } from '../../../core/agent/language';
import type { MessageChannel, OutboundMessage } from '../../../core/messaging/kinds';
import type { Database } from '../../../db/client';
import type { Embedder } from '../../lib/embeddings';
import type { Logger } from '../../lib/logger';
import { appointmentTools } from './appointments';
import { escalateToHumanTool } from './escalate';
import { sendButtonsTool, sendListTool } from './interactive';
import { knowledgeSearchTool } from './knowledge-search';

/**
 * What a tool gets for one turn. Database access goes through `asTenant(db, tenantId, …)`, so a
 * tool can only ever see its own tenant's rows, whatever its query says.
 *
 * Tools that *change* something the customer could see (a message, a handoff) do not act while the
 * model runs: they record an effect here, and the turn applies the effects in its final
 * transaction, after re-checking that the run was not superseded or locked meanwhile. A superseded
 * run therefore leaves no trace but its record. Tools that must act at once (an appointment
 * booking must hold its slot) use the tenant handle themselves.
 */
export type ToolContext = {
  db: Database;
  tenantId: string;
  conversationId: string;
  /** The conversation's customer: the only one whose appointments the tools see or change. */
  contactId: string;
  channel: MessageChannel;
  language: AgentLanguage;
  now: Date;
  logger: Logger;
  effects: TurnEffects;
  /**
   * Knowledge search by meaning: the deployment's embeddings endpoint and the least similarity
   * of a match. Absent or null embedder: knowledge_search is full-text only.
   */
  embeddings?: { embedder: Embedder | null; minSimilarity: number };
};

export type TurnEffects = {
  /** Interactive messages to send, in call order, keyed by the tool call that asked for them. */
  messages: Array<{ toolCallId: string; message: OutboundMessage }>;
  /** Set by escalate_to_human: hand the conversation to a person. */
  escalation: { reason: string } | null;
};

export function emptyEffects(): TurnEffects {
  return { messages: [], escalation: null };
}

/** Builds a tool for this turn, or null when it does not apply (e.g. lists on Messenger). */
export type AgentToolFactory = (ctx: ToolContext) => Tool | null;

/**
 * The agent's tools by name. The turn offers every tool here whose factory returns one, so a new
 * capability is one entry in this map and never a change to the turn.
 */
export const agentToolRegistry: Record<string, AgentToolFactory> = {
  knowledge_search: knowledgeSearchTool,
  escalate_to_human: escalateToHumanTool,
  send_buttons: sendButtonsTool,
  send_list: sendListTool,
  ...appointmentTools,
};

export function buildTools(
  ctx: ToolContext,
  registry: Record<string, AgentToolFactory> = agentToolRegistry,
): ToolSet {
  const tools: ToolSet = {};
  for (const [name, factory] of Object.entries(registry)) {
    const built = factory(ctx);
    if (built) tools[name] = built;
  }
  return tools;
}
