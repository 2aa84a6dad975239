import { generateText, isStepCount, type StepResult, type ToolSet } from 'ai';
import {
  type AgentLanguage,
  conversationLanguage,
  tenantLanguage,
} from '../../core/agent/language';
import { DEFAULT_MODEL_PRICES, type PriceTable } from '../../core/agent/prices';
import { DomainError, NotFoundError } from '../../core/errors';
import {
  type MessageChannel,
  type OutboundMessage,
  parseOutboundMessage,
} from '../../core/messaging/kinds';
import {
  type AgentRunRow,
  aiSpendThisMonth,
  findRun,
  finishRun,
  type HistoryRow,
  lastUnlockedAt,
  loadTurnConversation,
  lockRunningRun,
  type MediaNote,
  mediaNotesFor,
  messagesByProviderId,
  openTurn,
  type RunOutcome,
  recentMessages,
  recordFinishedRun,
  releaseRun,
  startRun,
  supersededBy,
  type TurnConversation,
  type TurnTrigger,
} from '../../db/agent';
import {
  asTenant,
  type CommitWith,
  commitWith,
  type Database,
  type TenantContext,
} from '../../db/client';
import { type ConversationForSend, loadConversationForSend } from '../../db/conversations';
import { tenantPriceTable } from '../../db/model-prices';
import { queueOutboundMessage } from '../../db/outbound';
import { enqueueJob, type OutboxJob } from '../../db/outbox';
import type { AgentStep } from '../../db/schema';
import { getTenantSettings, modelApiKeyCiphertext, type TenantSettings } from '../../db/settings';
import type { Services } from '../context';
import type { JobContext, JobOutcome } from '../jobs/define';
import { decryptSecret } from '../lib/crypto';
import { embedderFromEnv } from '../lib/embeddings';
import { JOB_RETRIES, publishJobs } from '../lib/jobs';
import { type Logger, safeErrorFields } from '../lib/logger';
import { FAILURE_IN_WORDS, type FailureKind, failureKind } from '../lib/transient-errors';
import { markReadInBackground } from '../messaging/read-receipts';
import { draftReplies } from './approval';
import { handOff } from './handoff';
import { buildHistory } from './history';
import { buildInstructions } from './instructions';
import { awaitingDownload, type MediaLoader, prepareMedia, r2MediaLoader } from './media';
import { type AgentModelResolver, type AgentModels, defaultModelResolver } from './models';
import {
  type AgentToolFactory,
  agentToolRegistry,
  buildTools,
  emptyEffects,
  type TurnEffects,
} from './tools';
import { TRACE_EXPORT_JOB, traceExportConfigured } from './trace-export';

/**
 * The agent's turn (`/jobs/agent-turn`, delayed by the tenant's debounce; one per conversation per
 * debounce window, see db/inbound.ts scheduleAgentTurn). Three steps, only the first and last in a
 * transaction, so the model call never holds a database transaction open:
 *
 * 1. Decide: open the turn (clear the conversation's due marker) and find the message it answers,
 *    the newest one waiting (db/agent.ts openTurn). Skip (and record why) when the turn is
 *    superseded by a newer customer message, the
 *    conversation is locked, the bot is disabled for it, the reply mode is off, or the trigger
 *    arrived while a person had the conversation. Otherwise start the run (agent_runs, idempotent
 *    per trigger message: QStash delivers at least once) and read the history.
 * 2. Think: transcribe / describe media, then `generateText` with the tools, a step limit and a
 *    timeout. Tools that change what the customer sees only record effects.
 * 3. Store, under the conversation's row lock, after checking steps 1's conditions again: a run
 *    superseded or locked meanwhile stores nothing. Otherwise the effects: a handoff, or the
 *    replies queued as the agent's messages (approval mode: drafts). A model failure that will
 *    not pass (a refused key, a bad request) hands the conversation to a person with the reason;
 *    a transient one (timeout, connection, 429/5xx: functions/lib/transient-errors.ts) gives the
 *    run back and the job is retried, and only its last delivery hands off. The run record gets its steps, usage,
 *    latency and outcome. Jobs are published after commit.
 */

/** `triggerMessageId`: the message that scheduled the turn; the turn answers the newest waiting. */
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
  /**
   * The database the turn's outcome is stored on (its last transaction); default the services'
   * own. Tests point it at one that is down, to see a turn fail after its run started.
   */
  storeDb?: (services: Services) => Database;
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
      scope: TurnScope;
      run: AgentRunRow;
      trigger: TurnTrigger;
      conversation: TurnConversation;
      settings: TenantSettings;
      /** What this month's runs cost so far (US dollars), for the budget's hard stop. */
      spentThisMonth: number;
      /** The tenant's model prices, read with the rest: the run's cost is fixed with them. */
      prices: PriceTable;
      models: AgentModels;
      rows: HistoryRow[];
      notes: Map<string, MediaNote>;
      targets: Map<string, { content: string | null; direction: string }>;
    };

export const turnCorrelationId = (triggerMessageId: string) => `turn-${triggerMessageId}`;

type Skip = { outcome: Extract<RunOutcome, 'superseded' | 'locked'>; reason: string };

/** What skipReason weighs besides the conversation and settings, read with them. */
type SkipFacts = {
  /** A newer customer message that supersedes the trigger (checked only before storing). */
  newer: string | null;
  /** When a person last gave the conversation back to the bot. */
  lastUnlockedAt: Date | null;
};

/**
 * Why this turn must not speak now, or null. Checked at the start and again before storing, with
 * `newer` only before storing: at the start the trigger is the newest waiting message by
 * construction (openTurn), and a newer one cannot commit meanwhile (openTurn holds the
 * conversation's row, which ingestion updates, when a turn was due).
 */
function skipReason(
  conversation: TurnConversation,
  settings: TenantSettings,
  trigger: TurnTrigger,
  facts: SkipFacts,
): Skip | null {
  if (facts.newer)
    return { outcome: 'superseded', reason: `superseded by newer message ${facts.newer}` };
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
  if (facts.lastUnlockedAt && facts.lastUnlockedAt > trigger.receivedAt) {
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
  web: 4096,
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

/**
 * The trace of a run: per step the model, its time and tokens, its text, tool calls with input,
 * tool results (or errors) with output and each tool's own time (the AI SDK's step performance).
 */
export function traceSteps(steps: ReadonlyArray<StepResult<ToolSet>>): AgentStep[] {
  const ms = (value: number | undefined) =>
    value === undefined || !Number.isFinite(value) ? {} : { latencyMs: Math.round(value) };
  return steps.map((step) => {
    const toolMs = step.performance?.toolExecutionMs ?? {};
    const toolResults: Array<{ toolName: string; output: unknown; latencyMs?: number }> = [];
    for (const part of step.content) {
      if (part.type === 'tool-result')
        toolResults.push({
          toolName: part.toolName,
          output: part.output,
          ...ms(toolMs[part.toolCallId]),
        });
      if (part.type === 'tool-error') {
        toolResults.push({
          toolName: part.toolName,
          output: { error: part.error instanceof Error ? part.error.message : String(part.error) },
          ...ms(toolMs[part.toolCallId]),
        });
      }
    }
    const { usage } = step;
    const cached = usage.inputTokenDetails?.cacheReadTokens;
    return {
      model: step.model.modelId,
      ...ms(step.performance?.stepTimeMs),
      ...(step.performance?.responseTimeMs !== undefined
        ? { modelMs: Math.round(step.performance.responseTimeMs) }
        : {}),
      usage: {
        ...(usage.inputTokens !== undefined ? { inputTokens: usage.inputTokens } : {}),
        ...(usage.outputTokens !== undefined ? { outputTokens: usage.outputTokens } : {}),
        ...(cached !== undefined ? { cachedInputTokens: cached } : {}),
      },
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

type TurnRun = Extract<TurnStart, { kind: 'run' }>;

/** What one delivery of the turn job knows before it has found the message it answers. */
type TurnJob = { job: JobContext; payload: TurnPayload; deps: TurnDeps; log: Logger };

/** What one turn knows about itself, handed from step to step. */
type TurnScope = TurnJob & { correlationId: string };

/** What the model produced: the run's trace and the replies, or why there is none. */
type Thought = {
  replies: OutboundMessage[];
  effects: TurnEffects;
  language: AgentLanguage;
  customerText: string | null;
  failure: string | null;
  /** What kind of failure `failure` is: transient ones are retried before anyone is handed it. */
  failureKind: FailureKind | null;
  record: { steps: AgentStep[]; usage: Record<string, number | undefined>; latencyMs: number };
};

export async function runAgentTurn(
  job: JobContext,
  payload: TurnPayload,
  deps: TurnDeps = DEFAULT_TURN_DEPS,
): Promise<JobOutcome> {
  const { services, env, tenantId, logger } = job;
  const log = logger.child({ conversationId: payload.conversationId });
  const turnJob: TurnJob = { job, payload, deps, log };

  const start = await asTenant(services.db, tenantId, (ctx) => decide(ctx, turnJob));
  if (start.kind === 'done') return { status: 'done', detail: start.detail };
  if (start.kind === 'busy')
    return { status: 'retry', detail: 'another delivery is running this turn' };
  if (start.kind === 'wait') return { status: 'retry', detail: 'waiting for a media download' };

  const { scope } = start;
  const giveBack = (error: string) =>
    asTenant(services.db, tenantId, (ctx) =>
      releaseRun(ctx, start.run.id, { error, staleAfterMs: deps.staleRunMs }),
    );
  let stored: Awaited<ReturnType<typeof store>>;
  try {
    const thought = budgetStop(start) ?? (await think(scope, start));
    if (thought.failureKind && thought.failureKind !== 'permanent' && job.retried < JOB_RETRIES) {
      // A timeout or an outage passes: give the run back and let QStash retry (bounded backoff),
      // rather than hand the customer to a person for good over a blip (issue 15).
      await giveBack(`retrying after: ${thought.failure}`);
      return { status: 'retry', detail: `the model failed (${thought.failureKind}); retrying` };
    }
    const storeDb = deps.storeDb?.(services) ?? services.db;
    stored = await asTenant(storeDb, tenantId, (ctx) => store(ctx, scope, start, thought));
  } catch (err) {
    // The database failed mid-turn (nothing of it was stored): give the run back too, so the next
    // delivery takes it over at once rather than finding it busy until it is stale. Best effort:
    // the database may still be failing, and then the stale run is taken over later.
    const { error } = safeErrorFields(err);
    await giveBack(`retrying after: ${error}`).catch(() => {});
    throw err;
  }
  await publishJobs(services, env, stored.jobs);
  return { status: 'done', detail: stored.outcome };
}

/**
 * The monthly budget's hard stop (tenant settings): with this month's spend at or over the budget,
 * the turn hands the conversation to a person, saying why, without calling the model.
 */
function budgetStop({ settings, spentThisMonth }: TurnRun): Thought | null {
  const budget = settings.aiMonthlyBudgetUsd;
  if (!settings.aiBudgetHardStop || budget === null || spentThisMonth < budget) return null;
  return {
    replies: [],
    effects: {
      ...emptyEffects(),
      escalation: {
        reason: `This month's AI budget (US$${budget.toFixed(2)}) is spent, so the AI did not answer; a person should reply.`,
      },
    },
    // No customer text is read for a run that does not think: the business's own language.
    language: tenantLanguage(
      [settings.businessDescription, settings.persona, settings.agentInstructions],
      conversationLanguage([]),
    ),
    customerText: null,
    failure: null,
    failureKind: null,
    record: { steps: [], usage: {}, latencyMs: 0 },
  };
}

/**
 * Step 1 (transaction): the message this turn answers and whether it may speak; if so, start its
 * run and read what the model needs. A skip is recorded as a finished run, so every turn leaves a
 * trace. Nothing waiting (a later delivery of a turn that finished, messages handled at intake)
 * records nothing.
 *
 * Two round trips: opening the turn and everything it reads go out together (openTurn holds the
 * conversation's row first; when nothing waits, the rest was read for nothing), and the run's
 * insert goes out with the COMMIT.
 */
async function decide(
  ctx: TenantContext,
  turnJob: TurnJob,
): Promise<TurnStart | CommitWith<TurnStart>> {
  const { job, payload, deps } = turnJob;
  const [trigger, conversation, settings, rows, sealedKey, lastUnlock, spentThisMonth, prices] =
    await Promise.all([
      openTurn(ctx, payload.conversationId),
      loadTurnConversation(ctx, payload.conversationId),
      getTenantSettings(ctx),
      recentMessages(ctx, payload.conversationId, deps.historyRows),
      modelApiKeyCiphertext(ctx),
      lastUnlockedAt(ctx, payload.conversationId),
      aiSpendThisMonth(ctx),
      tenantPriceTable(ctx),
    ]);
  if (!trigger) return { kind: 'done', detail: 'no message waits for an answer' };
  const correlationId = turnCorrelationId(trigger.id);
  const log = turnJob.log.child({ correlationId });
  const scope: TurnScope = { ...turnJob, correlationId, log };
  if (!conversation) return { kind: 'done', detail: 'conversation not found' };
  const skip = skipReason(conversation, settings, trigger, {
    newer: null,
    lastUnlockedAt: lastUnlock,
  });
  if (skip) return recordSkip(ctx, scope, { conversationId: conversation.id, trigger, skip });
  // A voice note or image still downloading: come back shortly rather than answer without it
  // (a few times; then the agent answers with a marker in its place).
  if (job.retried < deps.mediaWaitRetries && awaitingDownload(rows)) return { kind: 'wait' };
  const models = await modelsFor(scope, settings, sealedKey);
  const { notes, targets } = await historyContext(ctx, conversation.id, rows);
  const started = startRun(ctx, {
    conversationId: conversation.id,
    correlationId,
    triggerMessageId: trigger.id,
    model: models.label,
    staleAfterMs: deps.staleRunMs,
  });
  return commitWith(
    started.then(
      (run): TurnStart =>
        run
          ? {
              kind: 'run',
              scope,
              run,
              trigger,
              conversation,
              settings,
              spentThisMonth,
              prices,
              models,
              rows,
              notes,
              targets,
            }
          : { kind: 'busy' },
    ),
  );
}

/**
 * A skipped turn's run, through startRun so a run a crash left `running` is closed too (and a
 * live one is left to its delivery).
 */
async function recordSkip(
  ctx: TenantContext,
  { correlationId, deps, job }: TurnScope,
  input: { conversationId: string; trigger: { id: string }; skip: Skip },
): Promise<TurnStart | CommitWith<TurnStart>> {
  const { skip } = input;
  const skipped = await startRun(ctx, {
    conversationId: input.conversationId,
    correlationId,
    triggerMessageId: input.trigger.id,
    model: 'none (not run)',
    staleAfterMs: deps.staleRunMs,
  });
  if (!skipped) return { kind: 'busy' };
  const finished = finishRun(ctx, skipped.id, {
    outcome: skip.outcome,
    steps: [],
    usage: {},
    latencyMs: 0,
    error: skip.reason,
    now: job.services.clock.now(),
    // No steps, so no cost whatever the prices.
    prices: DEFAULT_MODEL_PRICES,
  });
  return commitWith(
    finished.then((): TurnStart => ({ kind: 'done', detail: `${skip.outcome}: ${skip.reason}` })),
  );
}

/** The models for this tenant: its own API key (decrypted here, never stored in clear) or ours. */
function modelsFor(
  { job, deps }: TurnScope,
  settings: TenantSettings,
  sealedKey: string | null,
): Promise<AgentModels> {
  return resolveAgentModels(job.env, deps.models, settings, sealedKey);
}

/** The tenant's models (its own key decrypted here, or ours): the turn's, and the follow-ups'. */
export async function resolveAgentModels(
  env: JobContext['env'],
  resolver: AgentModelResolver,
  settings: Pick<TenantSettings, 'model'>,
  sealedKey: string | null,
): Promise<AgentModels> {
  const tenantApiKey = sealedKey
    ? await decryptSecret(sealedKey, env.CREDENTIALS_ENCRYPTION_KEY)
    : null;
  return resolver({ env, tenantModel: settings.model, tenantApiKey });
}

/** What the history refers to: earlier media transcriptions, and the messages reacted to. */
async function historyContext(ctx: TenantContext, conversationId: string, rows: HistoryRow[]) {
  const reactionTargets = rows.flatMap((r) => {
    const target = (r.payload.reaction as { target?: unknown } | undefined)?.target;
    return r.type === 'reaction' && typeof target === 'string' ? [target] : [];
  });
  // Sent together (each reads nothing when there is nothing to look up).
  const [notes, targets] = await Promise.all([
    mediaNotesFor(
      ctx,
      rows.filter((r) => r.attachments.length > 0).map((r) => r.id),
    ),
    messagesByProviderId(ctx, conversationId, reactionTargets),
  ]);
  return { notes, targets };
}

/**
 * Step 2 (no transaction open): media to text, the history, then the model with the tools. The
 * customer sees their message read and the agent typing meanwhile. A model error or timeout is
 * not thrown: it becomes `failure`, which a retry (transient, not the last delivery) or step 3
 * (a handoff) deals with.
 */
async function think(scope: TurnScope, start: TurnRun): Promise<Thought> {
  const { job, deps, log } = scope;
  const { services, env, tenantId } = job;
  const { conversation, settings, models, rows } = start;
  markReadInBackground(
    { env, clock: services.clock, logger: log, waitUntil: job.waitUntil },
    { tenantId, channel: conversation.channel, messageId: start.trigger.id, typing: true },
  );
  const started = Date.now();
  const mediaTexts = await prepareMedia({
    rows,
    existing: start.notes,
    models,
    loadMedia: deps.loadMedia,
    env,
    db: services.db,
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
      db: services.db,
      tenantId,
      conversationId: conversation.id,
      contactId: conversation.contact.id,
      channel: conversation.channel,
      language,
      now,
      logger: log,
      effects,
      embeddings: {
        embedder: embedderFromEnv(env),
        minSimilarity: env.EMBEDDINGS_MIN_SIMILARITY,
      },
    },
    deps.tools,
  );
  const instructions = buildInstructions({
    tenantName: conversation.tenantName,
    settings,
    channel: conversation.channel,
    language,
    now,
    customerName: conversation.contact.name,
  });
  const answer = await callModel(scope, { models, instructions, history, tools });
  const result = answer.ok ? answer.result : null;
  return {
    replies: result ? repliesOf(result, effects, conversation.channel) : [],
    effects,
    language,
    customerText: history.customerTexts[0] ?? null,
    failure: answer.ok ? null : answer.failure,
    failureKind: answer.ok ? null : answer.kind,
    record: {
      steps: result ? traceSteps(result.steps) : [],
      usage: {
        ...(result
          ? {
              inputTokens: result.usage.inputTokens,
              outputTokens: result.usage.outputTokens,
              totalTokens: result.usage.totalTokens,
            }
          : {}),
        estimatedHistoryTokens: history.estimatedTokens,
      },
      latencyMs: Date.now() - started,
    },
  };
}

type ModelAnswer =
  | { ok: true; result: Awaited<ReturnType<typeof generateText>> }
  | { ok: false; failure: string; kind: FailureKind };

async function callModel(
  { deps, log }: TurnScope,
  input: {
    models: AgentModels;
    instructions: string;
    history: ReturnType<typeof buildHistory>;
    tools: ToolSet;
  },
): Promise<ModelAnswer> {
  try {
    const result = await generateText({
      model: input.models.chat,
      instructions: input.instructions,
      messages: input.history.messages,
      tools: input.tools,
      stopWhen: isStepCount(deps.maxSteps),
      abortSignal: AbortSignal.timeout(deps.timeoutMs),
      maxRetries: 1,
    });
    return { ok: true, result };
  } catch (err) {
    log.warn('agent turn: model failed', safeErrorFields(err));
    return { ok: false, failure: errorText(err), kind: failureKind(err) };
  }
}

/** The replies in the order the model produced them: each step's text, then its tools' messages. */
function repliesOf(
  result: Awaited<ReturnType<typeof generateText>>,
  effects: TurnEffects,
  channel: MessageChannel,
): OutboundMessage[] {
  const replies: OutboundMessage[] = [];
  for (const step of result.steps) {
    for (const text of splitText(step.text, channel)) replies.push({ type: 'text', text });
    for (const call of step.toolCalls) {
      for (const effect of effects.messages)
        if (effect.toolCallId === call.toolCallId) replies.push(effect.message);
    }
  }
  return replies;
}

/** What step 3 decided: the run's outcome and error, and the jobs to publish after commit. */
type Stored = { outcome: RunOutcome; error: string | null; jobs: OutboxJob[] };

/**
 * Step 3 (transaction, holding the conversation's row lock so no new inbound message commits
 * meanwhile): check step 1 again, then apply the effects — a handoff, drafts, or queued replies —
 * and close the run. Returns the outcome and the jobs to publish after commit.
 *
 * The run's lock and what the check reads go out together; closing the run goes out with the
 * COMMIT. A reply costs two round trips more (db/outbound/queue.ts).
 */
async function store(
  ctx: TenantContext,
  scope: TurnScope,
  start: TurnRun,
  thought: Thought,
): Promise<
  { outcome: string; jobs: OutboxJob[] } | CommitWith<{ outcome: string; jobs: OutboxJob[] }>
> {
  const { run } = start;
  const [running, checked] = await Promise.all([lockRunningRun(ctx, run.id), recheck(ctx, start)]);
  // Another delivery of this job finished the run meanwhile: it answered, this one must not.
  if (!running) return { outcome: 'duplicate delivery', jobs: [] };
  const now = scope.job.services.clock.now();
  const stored: Stored =
    'skip' in checked
      ? skipped(checked.skip, thought.failure)
      : await applyThought(ctx, scope, { ...checked, start, thought, now });
  const finished = finishRun(ctx, run.id, {
    ...thought.record,
    outcome: stored.outcome,
    error: stored.error,
    now,
    prices: start.prices,
  });
  // The run's export (docs/observability.md, "Traces out"), only where an endpoint is configured:
  // its outbox row goes out with the run's outcome and the COMMIT, no round trip of its own.
  const exported = traceExportConfigured(scope.job.env, start.settings.traceEndpoint)
    ? enqueueJob(ctx, {
        kind: TRACE_EXPORT_JOB,
        payload: { runId: run.id },
        dedupeKey: `${TRACE_EXPORT_JOB}-${run.id}`,
      })
    : Promise.resolve(null);
  return commitWith(
    Promise.all([finished, exported]).then(([, exportJob]) => ({
      outcome: stored.outcome,
      jobs: exportJob ? [...stored.jobs, exportJob] : stored.jobs,
    })),
  );
}

/** Step 1's conditions again, under the conversation's row lock and with the settings of now. */
async function recheck(
  ctx: TenantContext,
  start: TurnRun,
): Promise<
  | { skip: Skip }
  | { current: TurnConversation; settings: TenantSettings; forSend: ConversationForSend }
> {
  // Sent together: none needs another's answer. What sending a reply reads is read here too, so
  // queueing the replies needs no read of its own (wasted when the turn does not reply).
  const [current, settings, newer, lastUnlock, forSend] = await Promise.all([
    loadTurnConversation(ctx, start.conversation.id, { forUpdate: true }),
    getTenantSettings(ctx),
    supersededBy(ctx, start.trigger),
    lastUnlockedAt(ctx, start.conversation.id),
    loadConversationForSend(ctx, start.conversation.id, { lock: true }).catch((err) => {
      if (err instanceof NotFoundError) return null;
      throw err;
    }),
  ]);
  if (!current || !forSend) {
    return { skip: { outcome: 'superseded', reason: 'conversation deleted' } };
  }
  const skip = skipReason(current, settings, start.trigger, { newer, lastUnlockedAt: lastUnlock });
  return skip ? { skip } : { current, settings, forSend };
}

/** A run superseded or locked meanwhile stores nothing; its reason keeps any model error. */
function skipped(skip: Skip, failure: string | null): Stored {
  const error = failure ? `${skip.reason}; model error: ${failure}` : skip.reason;
  return { outcome: skip.outcome, error, jobs: [] };
}

/** What step 3 applies the thought to. */
type Storing = {
  start: TurnRun;
  thought: Thought;
  current: TurnConversation;
  /** The conversation as the send path reads it, under the same row lock. */
  forSend: ConversationForSend;
  settings: TenantSettings;
  now: Date;
};

/**
 * The thought's effects: a handoff (model failure, the escalate tool, nothing sendable), drafts
 * (approval mode) or the replies queued (auto mode).
 */
async function applyThought(ctx: TenantContext, scope: TurnScope, s: Storing): Promise<Stored> {
  const { thought, current } = s;
  if (thought.failure) {
    const kind = thought.failure.split(':')[0];
    const reason =
      thought.failureKind && thought.failureKind !== 'permanent'
        ? `The AI could not answer after ${JOB_RETRIES + 1} tries (${FAILURE_IN_WORDS[thought.failureKind]}); a person should reply.`
        : `The AI could not answer (${kind}); a person should reply.`;
    return handOffTurn(ctx, scope, s, reason, thought.failure);
  }
  if (thought.effects.escalation) {
    return handOffTurn(ctx, scope, s, thought.effects.escalation.reason, null);
  }
  // Only what the channel accepts is stored; a reply that breaks a limit is left out, not fatal.
  const valid = thought.replies.filter((r) => parseOutboundMessage(current.channel, r).ok);
  if (valid.length === 0) {
    const reason = 'The AI produced no reply it could send; a person should answer.';
    return handOffTurn(ctx, scope, s, reason, 'no sendable reply');
  }
  if (s.settings.replyMode === 'approval') {
    const drafted = await draftReplies(ctx, {
      conversation: current,
      runId: s.start.run.id,
      correlationId: scope.correlationId,
      replies: valid,
      escalationContacts: s.settings.escalationContacts,
      staffLanguage: tenantLanguage(
        [s.settings.businessDescription, s.settings.persona, s.settings.agentInstructions],
        thought.language,
      ),
      now: s.now,
      logger: scope.log,
    });
    return { outcome: 'replied', error: null, jobs: drafted.jobs };
  }
  const queued = await queueReplies(ctx, scope, {
    conversation: s.forSend,
    replies: valid,
    models: s.start.models,
    now: s.now,
  });
  if (queued.refused.length === valid.length) {
    const reason = `The AI's reply could not be sent (${queued.refused[0]}); a person should answer.`;
    const handed = await handOffTurn(ctx, scope, s, reason, queued.refused.join('; '));
    return { ...handed, jobs: [...queued.jobs, ...handed.jobs] };
  }
  const notSent = queued.refused.length > 0 ? `not sent: ${queued.refused.join('; ')}` : null;
  return { outcome: 'replied', error: notSent, jobs: queued.jobs };
}

/** The conversation goes to a person with the reason; the run is closed as handed off. */
async function handOffTurn(
  ctx: TenantContext,
  { correlationId, log }: TurnScope,
  { current, thought, settings, now }: Storing,
  reason: string,
  error: string | null,
): Promise<Stored> {
  const jobs = await handOff(ctx, {
    conversation: current,
    reason,
    source: 'escalation',
    language: thought.language,
    escalationContacts: settings.escalationContacts,
    customerText: thought.customerText,
    correlationId,
    now,
    logger: log,
  });
  return { outcome: 'handed_off', error, jobs };
}

/** Auto mode: each reply queued as the agent's message, labelled with the run that wrote it. */
async function queueReplies(
  ctx: TenantContext,
  { correlationId }: TurnScope,
  input: {
    conversation: ConversationForSend;
    replies: OutboundMessage[];
    models: AgentModels;
    now: Date;
  },
): Promise<{ jobs: OutboxJob[]; refused: string[] }> {
  const jobs: OutboxJob[] = [];
  const refused: string[] = [];
  const label = { model: input.models.label, offline: input.models.offline, correlationId };
  for (const reply of input.replies) {
    try {
      const queued = await queueOutboundMessage(ctx, {
        conversationId: input.conversation.conversation.id,
        loaded: input.conversation,
        sender: 'agent',
        message: reply,
        now: input.now,
        correlationId,
        agentLabel: label,
      });
      jobs.push(queued.job);
    } catch (err) {
      // Refusals (the window, a limit) are thrown before anything is written.
      if (!(err instanceof DomainError)) throw err;
      refused.push(err.message);
    }
  }
  return { jobs, refused };
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
  const failure = safeErrorFields(err);
  const error = `${failure.error}${failure.code ? ` ${failure.code}` : ''}: ${failure.detail}`;
  const jobs = await asTenant(services.db, tenantId, async (ctx) => {
    const now = services.clock.now();
    // The message the failing turn answers, as decide found it; opening it also clears the due
    // marker, so the customer's next message schedules a turn again.
    const triggerMessageId = (await openTurn(ctx, payload.conversationId))?.id;
    const correlationId = turnCorrelationId(triggerMessageId ?? payload.triggerMessageId);
    logger.error('agent: turn failed on its last delivery; handing off', {
      correlationId,
      ...failure,
    });
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
        prices: await tenantPriceTable(ctx),
      });
    } else {
      await recordFinishedRun(ctx, {
        conversationId: conversation.id,
        correlationId,
        triggerMessageId: triggerMessageId ?? payload.triggerMessageId,
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
      reason: `The AI agent could not answer after ${JOB_RETRIES + 1} tries (${FAILURE_IN_WORDS[failureKind(err)]}); a person should reply.`,
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
