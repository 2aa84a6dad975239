import { asIntake, asWorker, type TenantContext, type WorkerScope } from '../../db/client';
import {
  applyTemplateStatus,
  type InboundItem,
  type IngestResult,
  ingestAccountItems,
  ingestOrder,
} from '../../db/inbound';
import type { OutboxJob } from '../../db/outbox';
import {
  type ProviderCallbackAccount,
  providerCallbackAccount,
  type ResolvedAccount,
  resolveChannelAccount,
  resolveWhatsAppBusinessAccount,
  settleWebhookEvent,
  storeWebhookEvent,
} from '../../db/webhook-events';
import { agentIntake } from '../agent/intake';
import type { Services } from '../context';
import type { Env } from '../env';
import { safeErrorFields } from '../lib/logger';
import { callbackAdapter } from '../providers';
import { providerAccountOf } from '../providers/accounts';
import type { WhatsAppAdapter } from '../providers/adapter';
import {
  type AccountGroup,
  MAX_BODY_DEPTH,
  parseProviderCallback,
  parseWebhook,
  storable,
} from './parse';

/** Bodies that are not UTF-8 text are stored as base64 behind this prefix (see storedBody). */
export const BASE64_PREFIX = 'base64:';

export type ProcessResult = {
  outcome: 'processed' | 'dead';
  reason: string | null;
  tenantId: string | null;
  /** Committed outbox rows: publish after the response. */
  jobs: OutboxJob[];
  counts: { stored: number; duplicates: number };
};

/**
 * Which accounts a body may write to.
 * - `channelAccountIds`: the body was signed with an account's own app secret, so it speaks only
 *   for the accounts holding that secret; anything else in it is refused (a tenant knows its own
 *   app secret and must not be able to write into another tenant's chats with it).
 * - `tenantId`: an operator's replay touches only their own business's accounts.
 */
export type ProcessScope = { channelAccountIds?: ReadonlySet<string>; tenantId?: string };

const REASON_LIMIT = 2000;

/**
 * Processes one webhook body in one transaction: resolves each channel account (hence tenant),
 * ingests what it says under each account's tenant, updates templates, and settles the event
 * `processed`, or `dead` with every reason when any part was not understood or belongs to no known
 * account; a new delivery (`store`) is stored with that outcome in the same statement (a
 * replay's body is already stored). One transaction, so a delivery costs one BEGIN and one COMMIT, and a stored body is
 * always a settled one. Safe to run again on the same body (Meta's retries, operator replays):
 * every write is idempotent.
 *
 * An item the database refuses aborts the transaction; it is then run again with each item in a
 * savepoint of its own, so only that item is reported dead and the rest are stored.
 *
 * Throws when the body could not be processed (the database unreachable, a bug); nothing of it
 * was written then, and the caller answers 5xx.
 */
export async function processStoredBody(
  deps: { services: Services; env: Env },
  event: ProcessedEvent,
  options: {
    scope?: ProcessScope;
    store?: { object: string | null };
    /** A provider's callback: the account its URL named (else read from `event.signedFor`). */
    providerAccount?: ProviderCallbackAccount;
  },
): Promise<ProcessResult> {
  const { services } = deps;
  const problems: string[] = [];
  const notes: string[] = [];
  const body = readBody(event.rawBody, problems);
  const source = await sourceOf(deps, event, options.providerAccount, problems);
  let parsed: Parsed | null = null;
  if (body !== undefined && source) {
    parsed = parseStored(deps, source, body);
    if (parsed) {
      problems.push(...parsed.problems);
      notes.push(...parsed.notes);
    }
  }
  const attempt = (isolateItems: boolean) =>
    retryConflicts(() =>
      asWorker(services.db, async (scope) => {
        const run: Processing = {
          services,
          scope,
          options,
          isolateItems,
          problems: [...problems],
          notes: [...notes],
          // A provider's body is all for the one account it authenticated for: its business's,
          // even when nothing in it could be read (operators then see it, dead, with why).
          tenantsSeen: new Set(source && 'account' in source ? [source.account.tenantId] : []),
          result: {
            outcome: 'processed',
            reason: null,
            tenantId: null,
            jobs: [],
            counts: { stored: 0, duplicates: 0 },
          },
        };
        // The body itself is stored at the end, with what became of it (settle).
        const resolved = parsed && (await resolveAccounts(run, parsed));
        if (parsed && resolved) {
          const { accounts, wabas } = resolved;
          for (const { group, account } of accounts) {
            if (mayWrite(run, group, account)) await ingestAccount(run, group, account);
          }
          for (const [wabaId, updates] of parsed.templates) {
            await applyTemplateUpdates(run, wabaId, wabas.get(wabaId), updates);
          }
        }
        settle(run, event, options.store);
        return run;
      }),
    );

  let run: Processing;
  try {
    run = await attempt(false);
  } catch (err) {
    if (!(err instanceof ItemsRefused)) throw err;
    services.logger.warn(
      'a webhook item was refused; isolating the items',
      safeErrorFields(err.cause),
    );
    run = await attempt(true);
  }
  if (run.result.outcome === 'dead') {
    services.logger.warn('webhook event dead', { eventId: event.id, reason: run.result.reason });
  }
  return run.result;
}

/**
 * A body to process: `provider` says whose format it is (Meta's unless a provider adapter's) and
 * `signedFor` the accounts that authenticated it (kept with the body when it is stored).
 */
export type ProcessedEvent = {
  id: string;
  rawBody: string;
  provider?: string;
  signedFor?: string[] | null;
};

/** Whose format a body is in: Meta's, or a provider adapter's for the account it came for. */
type Source =
  | { provider: 'meta' }
  | { provider: string; adapter: WhatsAppAdapter; account: ProviderCallbackAccount };

/** The body's source; null (with the reason) when its provider or account cannot be known. */
async function sourceOf(
  { services }: { services: Services },
  event: ProcessedEvent,
  given: ProviderCallbackAccount | undefined,
  problems: string[],
): Promise<Source | null> {
  const provider = event.provider ?? 'meta';
  if (provider === 'meta') return { provider };
  const adapter = callbackAdapter(provider);
  if (!adapter) {
    problems.push(`provider ${JSON.stringify(provider)} is not handled`);
    return null;
  }
  const accountId = event.signedFor?.[0];
  const account =
    given ??
    (accountId
      ? await asIntake(services.db, (ctx) =>
          providerCallbackAccount(ctx, { id: accountId, provider }),
        )
      : null);
  if (!account) {
    problems.push(`no ${provider} account ${accountId ?? '(none recorded)'} for this body`);
    return null;
  }
  return { provider, adapter, account };
}

/** The body read by its source's parser. */
function parseStored(
  { services, env }: { services: Services; env: Env },
  source: Source,
  body: unknown,
): Parsed {
  const receivedAt = services.clock.now();
  if (!('adapter' in source)) return parseWebhook(body, { appId: env.META_APP_ID, receivedAt });
  return parseProviderCallback(source.adapter, body, providerAccountOf(source.account), {
    receivedAt,
  });
}

/** What one processing of a body accumulates as it goes (one attempt of its transaction). */
type Processing = {
  services: Services;
  scope: WorkerScope;
  options: { scope?: ProcessScope };
  /** Each item in its own savepoint (after an item was refused). */
  isolateItems: boolean;
  problems: string[];
  notes: string[];
  tenantsSeen: Set<string>;
  result: ProcessResult;
};

type Parsed = ReturnType<typeof parseWebhook>;

/** An item the database refused (not transient): the attempt is redone with items isolated. */
class ItemsRefused extends Error {}

/** The JSON of a stored body, or undefined with the reason recorded. */
function readBody(rawBody: string, problems: string[]): unknown {
  if (rawBody.startsWith(BASE64_PREFIX)) {
    problems.push('the body is not UTF-8 text (kept as base64)');
    return undefined;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(rawBody);
  } catch (err) {
    // A parser that ran out of stack read JSON it could not hold, not text that is not JSON.
    problems.push(
      err instanceof RangeError ? 'the body is nested too deep' : 'the body is not JSON',
    );
    return undefined;
  }
  let tooDeep = 0;
  const body = storable(parsed, (path) => {
    if (tooDeep++ < 3)
      problems.push(`${path}: nested too deep (more than ${MAX_BODY_DEPTH} levels); left out`);
  });
  if (tooDeep > 3) problems.push(`${tooDeep - 3} more part(s) nested too deep; left out`);
  return body;
}

/** The channel account (hence tenant) of every group, and the numbers of every WABA named. */
async function resolveAccounts(run: Processing, parsed: Parsed) {
  const ctx = run.scope.intake;
  const accounts: Array<{ group: AccountGroup; account: ResolvedAccount }> = [];
  for (const group of parsed.accounts.values()) {
    const account = await resolveChannelAccount(ctx, group);
    if (account) accounts.push({ group, account });
    else
      run.problems.push(
        `no ${group.channel} channel account ${group.externalId} (${group.items.length} item(s) not stored)`,
      );
  }
  const wabas = new Map<string, ResolvedAccount[]>();
  for (const wabaId of parsed.templates.keys()) {
    const numbers = await resolveWhatsAppBusinessAccount(ctx, wabaId);
    if (numbers.length > 0) wabas.set(wabaId, numbers);
    else run.problems.push(`no WhatsApp Business Account ${wabaId} (template update not applied)`);
  }
  return { accounts, wabas };
}

/** Whether the body's signature (or the replaying operator) may write to this account. */
function mayWrite(run: Processing, group: AccountGroup, account: ResolvedAccount): boolean {
  const scope = run.options.scope;
  if (scope?.channelAccountIds && !scope.channelAccountIds.has(account.channelAccountId)) {
    run.problems.push(
      `${group.channel} account ${group.externalId}: not signed with its app secret (${group.items.length} item(s) refused)`,
    );
    return false;
  }
  // Meta names a number under its own WABA: a body naming it under another one is forged or
  // misrouted (tenant A's WABA with tenant B's number, issue 15), so its items are refused.
  const foreignWabas = [...(group.wabaIds ?? [])].filter(
    (id) => account.wabaId && id !== account.wabaId,
  );
  if (foreignWabas.length > 0) {
    run.problems.push(
      `whatsapp account ${group.externalId}: named under WhatsApp Business Account ${foreignWabas.join(', ')}, not its own (${group.items.length} item(s) refused)`,
    );
    return false;
  }
  if (scope?.tenantId && scope.tenantId !== account.tenantId) {
    run.notes.push(
      `${group.channel} account ${group.externalId}: another business's part, not replayed`,
    );
    return false;
  }
  return true;
}

/** One account's items, under the account's tenant. */
async function ingestAccount(run: Processing, group: AccountGroup, account: ResolvedAccount) {
  const { services, result } = run;
  run.tenantsSeen.add(account.tenantId);
  const items = group.items;
  if (items.length === 0) return;
  const ctx = await run.scope.forTenant(account.tenantId);
  const target = { id: account.channelAccountId, channel: account.channel };
  const now = services.clock.now();
  const ingest = (ctx: TenantContext, items: InboundItem[]) =>
    ingestAccountItems(ctx, target, items, {
      now,
      onCustomerMessage: (ctx, message) => agentIntake(ctx, message),
    });
  const add = (ingested: IngestResult) => {
    result.jobs.push(...ingested.jobs);
    run.notes.push(...ingested.notes);
    result.counts.stored += ingested.counts.stored;
    result.counts.duplicates += ingested.counts.duplicates;
  };
  if (!run.isolateItems) {
    try {
      add(
        await ingest(
          ctx,
          items.map((p) => p.item),
        ),
      );
    } catch (err) {
      throw isTransient(err) ? err : new ItemsRefused('an item was refused', { cause: err });
    }
  } else {
    for (const p of [...items].sort((x, y) => ingestOrder(x.item, y.item))) {
      try {
        add(await ctx.tx.transaction((savepoint) => ingest({ ...ctx, tx: savepoint }, [p.item])));
      } catch (err) {
        if (isTransient(err)) throw err;
        run.problems.push(`${p.path}: could not be stored (${describe(err)})`);
      }
    }
  }
}

/** A WABA's template status updates, for each business (in scope) that has one of its numbers. */
async function applyTemplateUpdates(
  run: Processing,
  wabaId: string,
  numbers: ResolvedAccount[] | undefined,
  updates: Parsed['templates'] extends Map<string, infer U> ? U : never,
) {
  if (!numbers) return;
  const scope = run.options.scope;
  const allowed = numbers.filter(
    (n) =>
      (!scope?.channelAccountIds || scope.channelAccountIds.has(n.channelAccountId)) &&
      (!scope?.tenantId || scope.tenantId === n.tenantId),
  );
  if (allowed.length === 0) {
    if (scope?.channelAccountIds) {
      run.problems.push(`template update for WABA ${wabaId}: not signed with its app secret`);
    }
    return;
  }
  for (const tenantId of new Set(allowed.map((n) => n.tenantId))) {
    run.tenantsSeen.add(tenantId);
    const ctx = await run.scope.forTenant(tenantId);
    let changed = 0;
    for (const { update } of updates) changed += await applyTemplateStatus(ctx, update);
    if (changed === 0) {
      run.notes.push(
        `template status for WABA ${wabaId}: template not synced yet (the next sync brings it)`,
      );
    }
  }
}

/** Records the outcome on the stored event: processed, or dead with every reason. */
function settle(
  run: Processing,
  event: ProcessedEvent,
  store: { object: string | null } | undefined,
) {
  const { result } = run;
  // The stored body is readable by the members of its tenant: a body that speaks for several
  // businesses (Meta may batch them) belongs to none of them.
  if (run.tenantsSeen.size === 1) result.tenantId = [...run.tenantsSeen][0] ?? null;
  else if (run.tenantsSeen.size > 1)
    run.notes.push('the body concerns several businesses: not attributed to one');
  result.outcome = run.problems.length > 0 ? 'dead' : 'processed';
  const reason = [...run.problems, ...run.notes].join('\n');
  result.reason = reason ? reason.slice(0, REASON_LIMIT) : null;
  const settled = { outcome: result.outcome, reason: result.reason, tenantId: result.tenantId };
  // Nothing waits for it: it goes out with the COMMIT. A new delivery's body is stored here, with
  // its outcome (one write); a replay's is already stored.
  run.scope.sendWithCommit(
    store
      ? storeWebhookEvent({
          id: event.id,
          provider: event.provider ?? 'meta',
          object: store.object,
          rawBody: event.rawBody,
          signedFor: event.signedFor ?? null,
          ...settled,
        })
      : settleWebhookEvent({ id: event.id, ...settled }),
  );
}

/** Deadlocks and serialization failures between concurrent deliveries: just run it again. */
async function retryConflicts<T>(work: () => Promise<T>, attempts = 3): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (err) {
      const code = sqlState(err);
      if (attempt >= attempts || (code !== '40P01' && code !== '40001')) throw err;
    }
  }
}

function sqlState(err: unknown): string | undefined {
  for (let e: unknown = err, depth = 0; e && depth < 5; depth++) {
    if (typeof e === 'object' && e !== null) {
      const code = Reflect.get(e, 'code');
      if (typeof code === 'string') return code;
      e = Reflect.get(e, 'cause');
    } else break;
  }
  return undefined;
}

const transientNetworkCodes = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'CONNECT_TIMEOUT',
  'CONNECTION_CLOSED',
  'CONNECTION_ENDED',
  'CONNECTION_DESTROYED',
]);

/**
 * Failures a later retry can fix: the database unreachable or overloaded, a conflict, a restart.
 * Data errors (class 22, 23, …) are not: retrying the same body would fail the same way.
 */
export function isTransient(err: unknown): boolean {
  const code = sqlState(err);
  if (!code) return false;
  if (transientNetworkCodes.has(code)) return true;
  return /^(08|40|53|55P03|57|58|XX)/.test(code);
}

/** For the event's stored reason (also logged when the event is dead): never the query's parameters. */
function describe(err: unknown): string {
  const { code, detail } = safeErrorFields(err);
  return `${code ? `${code} ` : ''}${detail}`;
}
