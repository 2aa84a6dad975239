import type { ModelMessage } from 'ai';
import type { HistoryRow } from '../../db/agent';

/**
 * The conversation as the model reads it: customer messages as `user`, ours as `assistant`, in
 * provider-time order (the ordering key; rows come sorted from db/agent.ts recentMessages).
 *
 * Bounded in tokens with a deliberately simple estimate, characters / 4 (about right for
 * English and Spanish with OpenAI's tokenizers, generous for Arabic): the newest messages are
 * kept until HISTORY_TOKEN_BUDGET is used up, but the customer's messages since our last reply
 * are always kept whole (they are what the turn must answer), each cut at MESSAGE_CHAR_MAX.
 */
export const HISTORY_TOKEN_BUDGET = 3000;
export const MESSAGE_CHAR_MAX = 2000;

export const estimateTokens = (text: string) => Math.ceil(text.length / 4);

export type HistoryContext = {
  /** What the agent knows about attachment `index` of a message (transcript, description, marker). */
  mediaText(messageId: string, index: number): string | null;
  /** The text of a message by provider id (what a reaction points at). */
  textOf(providerMessageId: string): string | null;
};

function quote(text: string, max = 160): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

/** How one attachment reads to the model. */
function attachmentText(row: HistoryRow, index: number, ctx: HistoryContext): string {
  const attachment = row.attachments[index];
  if (!attachment) return '';
  const known = ctx.mediaText(row.id, index);
  if (known) return known;
  switch (attachment.kind) {
    case 'location':
      return `[location: ${row.content ?? 'shared a location'}]`;
    case 'contacts':
      return `[${row.content ?? 'contact card'}]`;
    case 'document':
    case 'file':
      return `[document${attachment.filename ? `: ${attachment.filename}` : ''}]`;
    case 'video':
      return '[video]';
    case 'sticker':
      return '[sticker]';
    case 'audio':
      return '[voice note]';
    case 'image':
      return '[image]';
    default:
      return '[attachment]';
  }
}

/** One message as the model reads it, or null when the customer never saw it / it is internal. */
export function renderMessage(row: HistoryRow, ctx: HistoryContext): string | null {
  if (row.payload.deleted !== undefined) {
    return row.direction === 'inbound' ? '[the customer deleted a message]' : null;
  }
  if (row.direction === 'outbound') {
    // Never reached the customer (or never meant to): not part of what they saw.
    if (row.status === 'cancelled' || row.status === 'failed') return null;
    if (row.type === 'note' || row.type === 'reaction') return null;
    const text = row.content?.trim();
    if (!text) return null;
    return row.sender === 'operator' ? `[team member] ${text}` : text;
  }
  if (row.type === 'reaction') {
    const reaction = row.payload.reaction as { target?: string; emoji?: string | null } | undefined;
    const target = reaction?.target ? ctx.textOf(reaction.target) : null;
    if (!row.content) return '[the customer removed their reaction]';
    return target
      ? `[the customer reacted ${row.content} to: "${quote(target)}"]`
      : `[the customer reacted ${row.content} to an earlier message]`;
  }
  if (['interactive', 'button', 'quick_reply', 'postback'].includes(row.type)) {
    return `[the customer tapped "${row.content ?? ''}"]`;
  }
  const parts = row.attachments.map((_, index) => attachmentText(row, index, ctx)).filter(Boolean);
  const text = row.content?.trim();
  // A caption is the attachment's own text; location and contact cards already say theirs.
  const describesItself = row.attachments.some(
    (a) => a.kind === 'location' || a.kind === 'contacts',
  );
  if (text && !describesItself) parts.push(text);
  if (parts.length === 0) {
    // An empty message (nothing in it at all, see the Messenger/Instagram parser) is not read.
    const empty = (row.payload.routing as { outcome?: string } | undefined)?.outcome === 'empty';
    return row.type === 'unsupported' && !empty ? '[a message type we cannot show]' : null;
  }
  return parts.join('\n');
}

export type BuiltHistory = {
  messages: ModelMessage[];
  /** The customer's texts, newest first (language detection). */
  customerTexts: string[];
  estimatedTokens: number;
};

export function buildHistory(rows: HistoryRow[], ctx: HistoryContext): BuiltHistory {
  const rendered = rows
    .map((row) => ({ row, text: renderMessage(row, ctx) }))
    .filter((r): r is { row: HistoryRow; text: string } => r.text !== null)
    .map((r) => ({
      role: r.row.direction === 'inbound' ? ('user' as const) : ('assistant' as const),
      text: r.text.length > MESSAGE_CHAR_MAX ? `${r.text.slice(0, MESSAGE_CHAR_MAX - 1)}…` : r.text,
    }));
  const lastAssistant = rendered.findLastIndex((r) => r.role === 'assistant');
  const kept: typeof rendered = [];
  let tokens = 0;
  for (let i = rendered.length - 1; i >= 0; i--) {
    const item = rendered[i];
    if (!item) continue;
    const cost = estimateTokens(item.text);
    const unanswered = i > lastAssistant;
    if (!unanswered && tokens + cost > HISTORY_TOKEN_BUDGET) break;
    kept.unshift(item);
    tokens += cost;
  }
  return {
    messages: kept.map((k) => ({ role: k.role, content: k.text })),
    // The customer's own words only: our bracketed descriptions are in English.
    customerTexts: rows
      .filter((r) => r.direction === 'inbound' && r.type !== 'reaction' && r.content?.trim())
      .map((r) => r.content as string)
      .reverse(),
    estimatedTokens: tokens,
  };
}
