import { generateText, isStepCount, type StepResult, type ToolSet } from 'ai';
import { conversationLanguage } from '../../core/agent/language';
import { DomainError } from '../../core/errors';
import {
  type MessageChannel,
  type OutboundMessage,
  parseOutboundMessage,
} from '../../core/messaging/kinds';
import {
  type AgentRunRow,
  findRun,
  finishRun,
  type HistoryRow,
  loadTriggerMessage,
  loadTurnConversation,
  lockRunningRun,
  type MediaNote,
  mediaNotesFor,
  messagesByProviderId,
  type RunOutcome,
  recentMessages,
  recordFinishedRun,
  startRun,
  supersededBy,
  type TurnConversation,
  tagAgentMessage,
  unlockedSince,
} from '../../db/agent';
import { asTenant, type TenantContext } from '../../db/client';
import { queueOutboundMessage } from '../../db/outbound';
import type { OutboxJob } from '../../db/outbox';
import type { AgentStep } from '../../db/schema';
import { getTenantSettings, modelApiKeyCiphertext, type TenantSettings } from '../../db/settings';
import type { JobContext, JobOutcome } from '../jobs/define';
import { decryptSecret } from '../lib/crypto';
import { publishJobs } from '../lib/jobs';
import { safeErrorFields } from '../lib/logger';
import { markReadInBackground } from '../messaging/read-receipts';
import { draftReplies } from './approval';
import { handOff } from './handoff';
import { buildHistory } from './history';
import { buildInstructions } from './instructions';
import { awaitingDownload, type MediaLoader, prepareMedia, r2MediaLoader } from './media';
import { type AgentModelResolver, type AgentModels, defaultModelResolver } from './models';
import { type AgentToolFactory, agentToolRegistry, buildTools, emptyEffects } from './tools';

/**
 * The agent's turn (`/jobs/agent-turn`, delayed by the tenant's debounce). Three steps, only the
 * first and last in a transaction, so the model call never holds a database transaction open:
 *
 * 1. Decide: skip (and record why) when the turn is superseded by a newer customer message, the
 *    conversation is locked, the bot is disabled for it, the reply mode is off, or the trigger
 *    arrived while a person had the conversation. Otherwise start the run (agent_runs, idempotent
 *    per trigger message: QStash delivers at least once) and read the history.
 * 2. Think: transcribe / describe media, then `generateText` with the tools, a step limit and a
 *    timeout. Tools that change what the customer sees only record effects.
 * 3. Store, under the conversation's row lock, after checking steps 1's conditions again: a run
 *    superseded or locked meanwhile stores nothing. Otherwise the effects: a handoff, or the
 *    replies queued as the agent's messages (approval mode: drafts). A model failure or timeout
 *    hands the conversation to a person with the reason. The run record gets its steps, usage,
 *    latency and outcome. Jobs are published after commit.
 */

export type TurnPayload = { conversationId: string; triggerMessageId: string };

export type TurnDeps = {
  models: AgentModelResolver;
  loadMedia: MediaLoader;
  tools: Record<string, AgentToolFactory>;
  /** The model call's budget (all steps); then it is aborted and a person takes over. */
  timeoutMs: number;
  /** Each media file's transcription / description budget. */
  mediaTimeoutMs: number;
  maxSteps: number;
  /** Messages read before the token budget trims them (history.ts). */
  historyRows: number;
  /** A run still `running` this long after it started was abandoned by a crash: take it over. */
  staleRunMs: number;
  /** How many QStash retries a turn waits for a voice note / image still downloading. */
  mediaWaitRetries: number;
};

export const DEFAULT_TURN_DEPS: TurnDeps = {
  models: defaultModelResolver,
  loadMedia: r2MediaLoader,
  tools: agentToolRegistry,
  timeoutMs: 25_000,
  mediaTimeoutMs: 20_000,
  maxSteps: 5,
  historyRows: 40,
  staleRunMs: 120_000,
  mediaWaitRetries: 3,
};

type TurnStart =
  | { kind: 'done'; detail: string }
  | { kind: 'busy' }
  | { kind: 'wait' }
  | {
      kind: 'run';
      run: AgentRunRow;
      trigger: { id: string; conversationId: string; receivedAt: Date };
      conversation: TurnConversation;
      settings: TenantSettings;
      models: AgentModels;
      rows: HistoryRow[];
      notes: Map<string, MediaNote>;
      targets: Map<string, { content: string | null; direction: string }>;
    };

export const turnCorrelationId = (triggerMessageId: string) => `turn-${triggerMessageId}`;

type Skip = { outcome: Extract<RunOutcome, 'superseded' | 'locked'>; reason: string };

/** Why this turn must not speak now, or null. Checked at the start and again before storing. */
async function skipReason(
  ctx: TenantContext,
  conversation: TurnConversation,
  settings: TenantSettings,
  trigger: { id: string; conversationId: string; receivedAt: Date },
): Promise<Skip | null> {
  const newer = await supersededBy(ctx, trigger);
  if (newer) return { outcome: 'superseded', reason: `superseded by newer message ${newer}` };
  if (conversation.isLocked) {
    return {
      outcome: 'locked',
      reason: `conversation locked (${conversation.lockedBy ?? 'lock'}: ${conversation.lockReason ?? 'no reason given'})`,
    };
  }
  if (!conversation.botEnabled)
    return { outcome: 'locked', reason: 'bot disabled for this conversation' };
  if (settings.replyMode === 'off')
    return { outcome: 'locked', reason: "tenant's reply mode is off" };
  if (await unlockedSince(ctx, conversation.id, trigger.receivedAt)) {
    return {
      outcome: 'locked',
      reason:
        'the message arrived while a person had the conversation; unlocking does not answer the backlog',
    };
  }
  return null;
}

/** Channel text limits: a long answer goes out as several messages instead of failing. */
const TEXT_LIMITS: Record<MessageChannel, number> = {
  whatsapp: 4096,
  messenger: 2000,
  instagram: 1000,
};

export function splitText(text: string, channel: MessageChannel): string[] {
  const max = TEXT_LIMITS[channel];
  // Instagram counts UTF-8 bytes: measure in bytes there, characters elsewhere.
  const size = (s: string) =>
    channel === 'instagram' ? new TextEncoder().encode(s).length : [...s].length;
  const parts: string[] = [];
  let rest = text.trim();
  while (size(rest) > max) {
    let cut = [...rest].slice(0, max).join('');
    while (size(cut) > max) cut = cut.slice(0, -1);
    const boundary = Math.max(
      cut.lastIndexOf('\n\n'),
      cut.lastIndexOf('. '),
      cut.lastIndexOf('\n'),
    );
    const at = boundary > cut.length / 2 ? boundary + 1 : cut.length;
    parts.push(rest.slice(0, at).trim());
    rest = rest.slice(at).trim();
  }
  if (rest) parts.push(rest);
  return parts;
}

/** The trace of a run: per step its text, tool calls with input, tool results (or errors) with output. */
export function traceSteps(steps: ReadonlyArray<StepResult<ToolSet>>): AgentStep[] {
  return steps.map((step) => {
    const toolResults: Array<{ toolName: string; output: unknown }> = [];
    for (const part of step.content) {
      if (part.type === 'tool-result')
        toolResults.push({ toolName: part.toolName, output: part.output });
      if (part.type === 'tool-error') {
        toolResults.push({
          toolName: part.toolName,
          output: { error: part.error instanceof Error ? part.error.message : String(part.error) },
        });
      }
    }
    return {
      ...(step.text ? { text: step.text } : {}),
      ...(step.toolCalls.length > 0
        ? { toolCalls: step.toolCalls.map((c) => ({ toolName: c.toolName, input: c.input })) }
        : {}),
      ...(toolResults.length > 0 ? { toolResults } : {}),
    };
  });
}

function errorText(err: unknown): string {
  if (err instanceof Error) {
    const cause = err.cause instanceof Error ? `: ${err.cause.message}` : '';
    return `${err.name}: ${err.message}${cause}`.slice(0, 500);
  }
  return String(err).slice(0, 500);
}

export async function runAgentTurn(
  job: JobContext,
  payload: TurnPayload,
  deps: TurnDeps = DEFAULT_TURN_DEPS,
): Promise<JobOutcome> {
  const { services, env, tenantId, logger } = job;
  const { db } = services;
  const correlationId = turnCorrelationId(payload.triggerMessageId);
  const log = logger.child({ correlationId, conversationId: payload.conversationId });

  // 1. Decide, start the run, read what the model needs.
  const start = await asTenant<TurnStart>(db, tenantId, async (ctx) => {
    const now = services.clock.now();
    const existing = await findRun(ctx, correlationId);
    if (existing && existing.outcome !== 'running') {
      return { kind: 'done', detail: `already ran: ${existing.outcome}` };
    }
    const trigger = await loadTriggerMessage(ctx, payload.triggerMessageId);
    if (!trigger || trigger.conversationId !== payload.conversationId) {
      return { kind: 'done', detail: 'trigger message not found' };
    }
    if (trigger.routing?.turn === false) {
      return { kind: 'done', detail: `handled at intake: ${trigger.routing.outcome}` };
    }
    const conversation = await loadTurnConversation(ctx, payload.conversationId);
    if (!conversation) return { kind: 'done', detail: 'conversation not found' };
    const settings = await getTenantSettings(ctx);
    const skip = await skipReason(ctx, conversation, settings, trigger);
    if (skip) {
      // Through startRun, so a run a crash left `running` is closed too (and a live one is left
      // to its delivery).
      const skipped = await startRun(ctx, {
        conversationId: conversation.id,
        correlationId,
        triggerMessageId: trigger.id,
        model: 'none (not run)',
        staleAfterMs: deps.staleRunMs,
      });
      if (!skipped) return { kind: 'busy' };
      await finishRun(ctx, skipped.id, {
        outcome: skip.outcome,
        steps: [],
        usage: {},
        latencyMs: 0,
        error: skip.reason,
        now,
      });
      return { kind: 'done', detail: `${skip.outcome}: ${skip.reason}` };
    }
    const rows = await recentMessages(ctx, conversation.id, deps.historyRows);
    // A voice note or image still downloading: come back shortly rather than answer without it
    // (a few times; then the agent answers with a marker in its place).
    if (job.retried < deps.mediaWaitRetries && awaitingDownload(rows)) {
      return { kind: 'wait' };
    }
    const sealedKey = await modelApiKeyCiphertext(ctx);
    const tenantApiKey = sealedKey
      ? await decryptSecret(sealedKey, env.CREDENTIALS_ENCRYPTION_KEY)
      : null;
    const models = deps.models({ env, tenantModel: settings.model, tenantApiKey });
    const run = await startRun(ctx, {
      conversationId: conversation.id,
      correlationId,
      triggerMessageId: trigger.id,
      model: models.label,
      staleAfterMs: deps.staleRunMs,
    });
    if (!run) return { kind: 'busy' };
    const notes = await mediaNotesFor(
      ctx,
      rows.filter((r) => r.attachments.length > 0).map((r) => r.id),
    );
    const reactionTargets = rows.flatMap((r) => {
      const target = (r.payload.reaction as { target?: unknown } | undefined)?.target;
      return r.type === 'reaction' && typeof target === 'string' ? [target] : [];
    });
    const targets = await messagesByProviderId(ctx, conversation.id, reactionTargets);
    return {
      kind: 'run',
      run,
      trigger,
      conversation,
      settings,
      models,
      rows,
      notes,
      targets,
    };
  });
  if (start.kind === 'done') return { status: 'done', detail: start.detail };
  if (start.kind === 'busy')
    return { status: 'retry', detail: 'another delivery is running this turn' };
  if (start.kind === 'wait') return { status: 'retry', detail: 'waiting for a media download' };

  // 2. Think. The customer sees their message read and the agent typing meanwhile.
  const { run, trigger, conversation, settings, models, rows } = start;
  markReadInBackground(
    { env, clock: services.clock, logger: log, waitUntil: job.waitUntil },
    { tenantId, channel: conversation.channel, messageId: trigger.id, typing: true },
  );
  const started = Date.now();
  const mediaTexts = await prepareMedia({
    rows,
    existing: start.notes,
    models,
    loadMedia: deps.loadMedia,
    env,
    db,
    tenantId,
    logger: log,
    timeoutMs: deps.mediaTimeoutMs,
  });
  const history = buildHistory(rows, {
    mediaText: (messageId, index) => mediaTexts.get(`${messageId}:${index}`) ?? null,
    textOf: (providerMessageId) => start.targets.get(providerMessageId)?.content ?? null,
  });
  const language = conversationLanguage(history.customerTexts);
  const now = services.clock.now();
  const effects = emptyEffects();
  const tools = buildTools(
    {
      db,
      tenantId,
      conversationId: conversation.id,
      channel: conversation.channel,
      language,
      now,
      logger: log,
      effects,
    },
    deps.tools,
  );
  let result: Awaited<ReturnType<typeof generateText>> | null = null;
  let failure: string | null = null;
  try {
    result = await generateText({
      model: models.chat,
      instructions: buildInstructions({
        tenantName: conversation.tenantName,
        settings,
        channel: conversation.channel,
        language,
        now,
        customerName: conversation.contact.name,
      }),
      messages: history.messages,
      tools,
      stopWhen: isStepCount(deps.maxSteps),
      abortSignal: AbortSignal.timeout(deps.timeoutMs),
      maxRetries: 1,
    });
  } catch (err) {
    failure = errorText(err);
    log.warn('agent turn: model failed', safeErrorFields(err));
  }
  const latencyMs = Date.now() - started;
  const steps = result ? traceSteps(result.steps) : [];
  const usage = result
    ? {
        inputTokens: result.usage.inputTokens,
        outputTokens: result.usage.outputTokens,
        totalTokens: result.usage.totalTokens,
        estimatedHistoryTokens: history.estimatedTokens,
      }
    : { estimatedHistoryTokens: history.estimatedTokens };

  // The replies in the order the model produced them: each step's text, then the messages its
  // tool calls asked for.
  const replies: OutboundMessage[] = [];
  if (result) {
    for (const step of result.steps) {
      for (const text of splitText(step.text, conversation.channel))
        replies.push({ type: 'text', text });
      for (const call of step.toolCalls) {
        for (const effect of effects.messages)
          if (effect.toolCallId === call.toolCallId) replies.push(effect.message);
      }
    }
  }

  // 3. Store.
  const jobs: OutboxJob[] = [];
  const finished = await asTenant(db, tenantId, async (ctx) => {
    const storeNow = services.clock.now();
    // Another delivery of this job finished the run meanwhile: it answered, this one must not.
    if (!(await lockRunningRun(ctx, run.id))) return 'duplicate delivery';
    const current = await loadTurnConversation(ctx, conversation.id, { forUpdate: true });
    const currentSettings = await getTenantSettings(ctx);
    const finish = (outcome: RunOutcome, error: string | null) =>
      finishRun(ctx, run.id, { outcome, steps, usage, latencyMs, error, now: storeNow });
    const skip: Skip | null = current
      ? await skipReason(ctx, current, currentSettings, trigger)
      : { outcome: 'superseded', reason: 'conversation deleted' };
    if (skip || !current) {
      const outcome = skip?.outcome ?? 'superseded';
      const reason = skip?.reason ?? 'conversation deleted';
      await finish(outcome, failure ? `${reason}; model error: ${failure}` : reason);
      return outcome;
    }
    const customerText = history.customerTexts[0] ?? null;
    const handoff = async (reason: string) =>
      jobs.push(
        ...(await handOff(ctx, {
          conversation: current,
          reason,
          source: 'escalation',
          language,
          escalationContacts: currentSettings.escalationContacts,
          customerText,
          correlationId,
          now: storeNow,
          logger: log,
        })),
      );
    if (failure) {
      await handoff(`The AI could not answer (${failure.split(':')[0]}); a person should reply.`);
      await finish('handed_off', failure);
      return 'handed_off';
    }
    if (effects.escalation) {
      await handoff(effects.escalation.reason);
      await finish('handed_off', null);
      return 'handed_off';
    }
    // Only what the channel accepts is stored; a reply that breaks a limit is left out, not fatal.
    const valid = replies.filter((r) => parseOutboundMessage(current.channel, r).ok);
    if (valid.length === 0) {
      await handoff('The AI produced no reply it could send; a person should answer.');
      await finish('handed_off', 'no sendable reply');
      return 'handed_off';
    }
    if (currentSettings.replyMode === 'approval') {
      const drafted = await draftReplies(ctx, {
        conversation: current,
        runId: run.id,
        correlationId,
        replies: valid,
        escalationContacts: currentSettings.escalationContacts,
        now: storeNow,
        logger: log,
      });
      jobs.push(...drafted.jobs);
      await finish('replied', null);
      return 'replied';
    }
    const refused: string[] = [];
    for (const reply of valid) {
      try {
        const queued = await queueOutboundMessage(ctx, {
          conversationId: current.id,
          sender: 'agent',
          message: reply,
          now: storeNow,
          correlationId,
        });
        await tagAgentMessage(ctx, queued.message.id, {
          model: models.label,
          offline: models.offline,
          correlationId,
        });
        jobs.push(queued.job);
      } catch (err) {
        // Refusals (the window, a limit) are thrown before anything is written.
        if (!(err instanceof DomainError)) throw err;
        refused.push(err.message);
      }
    }
    if (refused.length === valid.length) {
      await handoff(`The AI's reply could not be sent (${refused[0]}); a person should answer.`);
      await finish('handed_off', refused.join('; '));
      return 'handed_off';
    }
    await finish('replied', refused.length > 0 ? `not sent: ${refused.join('; ')}` : null);
    return 'replied';
  });
  await publishJobs(services, env, jobs);
  return { status: 'done', detail: finished };
}

/**
 * The last delivery of a turn that kept failing (a database or configuration error, not the
 * model's: those hand off inside the turn). Without this the run would stay `running` and the
 * customer would wait for an answer nobody sends: close the run as `failed` and hand the
 * conversation to a person, with the reason.
 */
export async function failTurn(
  job: JobContext,
  payload: TurnPayload,
  err: unknown,
): Promise<JobOutcome> {
  const { services, env, tenantId, logger } = job;
  const correlationId = turnCorrelationId(payload.triggerMessageId);
  const failure = safeErrorFields(err);
  const error = `${failure.error}${failure.code ? ` ${failure.code}` : ''}: ${failure.detail}`;
  logger.error('agent: turn failed on its last delivery; handing off', {
    correlationId,
    ...failure,
  });
  const jobs = await asTenant(services.db, tenantId, async (ctx) => {
    const now = services.clock.now();
    const conversation = await loadTurnConversation(ctx, payload.conversationId);
    if (!conversation) return [];
    const run = await findRun(ctx, correlationId);
    if (run && run.outcome !== 'running') return [];
    if (run) {
      await finishRun(ctx, run.id, {
        outcome: 'failed',
        steps: run.steps,
        usage: run.usage,
        latencyMs: now.getTime() - run.startedAt.getTime(),
        error,
        now,
      });
    } else {
      await recordFinishedRun(ctx, {
        conversationId: conversation.id,
        correlationId,
        triggerMessageId: payload.triggerMessageId,
        model: 'none (failed before the model)',
        outcome: 'failed',
        error,
        now,
      });
    }
    if (conversation.isLocked) return [];
    const settings = await getTenantSettings(ctx);
    const rows = await recentMessages(ctx, conversation.id, 20);
    return handOff(ctx, {
      conversation,
      reason: 'The AI agent could not answer (repeated errors); a person should reply.',
      source: 'escalation',
      language: conversationLanguage(
        rows
          .filter((r) => r.direction === 'inbound')
          .map((r) => r.content)
          .reverse(),
      ),
      escalationContacts: settings.escalationContacts,
      customerText: null,
      correlationId,
      now,
      logger,
    });
  });
  await publishJobs(services, env, jobs);
  return { status: 'done', detail: 'failed; handed to a person' };
}
