import { signal } from '@preact/signals';
import { ApiError, api, call, type Schemas } from '../api/client';
import { type MessageKey, t } from '../i18n/i18n';

export type Opportunity = Schemas['Opportunity'];
export type OpportunityStatus = Opportunity['status'];
export type OpportunityKind = Opportunity['kind'];
export type StatusCounts = Schemas['OpportunitySummary']['by_status'];
export type Metrics = Schemas['OpportunityMetrics'];

const PAGE = 20;

/** Which opportunities the view lists: one status, or '' for all of them. */
export const statusFilter = signal<OpportunityStatus | ''>('open');
/** The list as last read: newest first, as far down as the operator has loaded. */
export const opportunities = signal<Opportunity[]>([]);
/** Whether the list has been read once for the current filter (the empty state waits for it). */
export const loaded = signal(false);
export const hasMore = signal(false);
/** How many are in each status (GET /admin/opportunities/summary); null until read. */
export const counts = signal<StatusCounts | null>(null);
/** What the last 30 days' follow-ups came to (the summary's metrics); null until read. */
export const metrics = signal<Metrics | null>(null);
/** The last error to show. */
export const followUpsError = signal('');
/** The last skip to announce, said in the page's language when shown (it may change meanwhile). */
type Notice = { key: MessageKey; name: string };
export const followUpsNotice = signal<Notice | null>(null);

let nextCursor: string | null = null;
let lastAsked = 0;

const query = (cursor: string | null) => ({
  limit: PAGE,
  ...(statusFilter.value ? { status: statusFilter.value } : {}),
  ...(cursor ? { cursor } : {}),
});

/**
 * The first page for the current filter, and the counts, read together. A newer read (the filter
 * changed meanwhile) wins: an older answer arriving after it is dropped.
 */
export async function loadFollowUps(): Promise<void> {
  const asked = ++lastAsked;
  try {
    const [page, summary] = await Promise.all([
      call(() => api.GET('/admin/opportunities', { params: { query: query(null) } })),
      call(() => api.GET('/admin/opportunities/summary')),
    ]);
    if (asked !== lastAsked) return;
    opportunities.value = page.items;
    nextCursor = page.next_cursor;
    hasMore.value = nextCursor !== null;
    counts.value = summary.by_status;
    metrics.value = summary.metrics;
    loaded.value = true;
  } catch (error) {
    if (asked === lastAsked) followUpsError.value = (error as Error).message;
  }
}

/** The page after what is shown; one already shown (a new one moved the page) is not repeated. */
export async function loadMoreFollowUps(): Promise<void> {
  if (!nextCursor) return;
  const asked = lastAsked;
  const cursor = nextCursor;
  try {
    const page = await call(() =>
      api.GET('/admin/opportunities', { params: { query: query(cursor) } }),
    );
    if (asked !== lastAsked) return;
    const shown = new Set(opportunities.value.map((o) => o.id));
    opportunities.value = [...opportunities.value, ...page.items.filter((o) => !shown.has(o.id))];
    nextCursor = page.next_cursor;
    hasMore.value = nextCursor !== null;
  } catch (error) {
    followUpsError.value = (error as Error).message;
  }
}

export function chooseStatus(status: OpportunityStatus | '') {
  statusFilter.value = status;
  followUpsError.value = '';
  // What was said about the last skip or scan belongs to the list it was said over.
  followUpsNotice.value = null;
  lastScan.value = null;
  void loadFollowUps();
}

type DecisionPath =
  | '/admin/opportunities/{id}/skip'
  | '/admin/opportunities/{id}/draft'
  | '/admin/opportunities/{id}/schedule';

/**
 * One decision on an item (Skip, Write, Propose): the answer replaces the item where it is (its
 * status and who decided show at once, under any filter), `notice` says what happened, and the
 * counts are read again. A 409 means someone decided first (a colleague, an expiry): said, and
 * the list read again to show what stands. With `unprocessable`, a 422 is the caller's to say
 * (answered `unprocessable`); otherwise, like any other error, its message is shown. Null: failed.
 */
async function decide(
  path: DecisionPath,
  item: Opportunity,
  notice: (answer: Opportunity) => Notice | null,
  options: { unprocessable?: boolean } = {},
): Promise<Opportunity | 'unprocessable' | null> {
  followUpsError.value = '';
  followUpsNotice.value = null;
  try {
    const answer = await call(() => api.POST(path, { params: { path: { id: item.id } } }));
    opportunities.value = opportunities.value.map((o) => (o.id === answer.id ? answer : o));
    followUpsNotice.value = notice(answer);
    await refreshSummary();
    return answer;
  } catch (error) {
    if (options.unprocessable && error instanceof ApiError && error.status === 422) {
      return 'unprocessable';
    }
    if (error instanceof ApiError && error.status === 409) {
      // The API's message is English; the page says it in its own language.
      followUpsError.value = t('oppAlreadyDecided');
      await loadFollowUps();
    } else {
      followUpsError.value = (error as Error).message;
    }
    return null;
  }
}

/** Skips one: nothing will be sent for it. */
export async function skipOpportunity(item: Opportunity, name: string): Promise<boolean> {
  const answer = await decide('/admin/opportunities/{id}/skip', item, () => ({
    key: 'oppSkippedNow',
    name,
  }));
  return answer !== null;
}

/** The counts and the metrics again, after a decision moved them. */
async function refreshSummary(): Promise<void> {
  const summary = await call(() => api.GET('/admin/opportunities/summary'));
  counts.value = summary.by_status;
  metrics.value = summary.metrics;
}

/**
 * "Write a message" (POST /admin/opportunities/{id}/draft): the agent writes a follow-up in the
 * background as an ordinary pending draft, which appears in the chat (and on the staff's approval
 * card) for someone to approve; nothing is sent before. The answer (`accepted`) replaces the item,
 * which then offers its chat.
 */
export async function writeFollowUp(item: Opportunity, name: string): Promise<boolean> {
  const answer = await decide('/admin/opportunities/{id}/draft', item, () => ({
    key: 'oppWritingNow',
    name,
  }));
  return answer !== null;
}

/**
 * "Propose times" (POST /admin/opportunities/{id}/schedule): a proposal with the next free times of
 * the opportunity's service is drafted at once, no model, for approval in the chat. The answer
 * (`drafted`; `skipped` when a sending rule refused, with the reason) replaces the item. `none`: no
 * bookable service or no free time (422), still open, for the item to say so where it is.
 */
export async function proposeTimes(
  item: Opportunity,
  name: string,
): Promise<'proposed' | 'none' | 'failed'> {
  const answer = await decide(
    '/admin/opportunities/{id}/schedule',
    item,
    (drafted) => (drafted.status === 'drafted' ? { key: 'oppProposedNow', name } : null),
    { unprocessable: true },
  );
  if (answer === 'unprocessable') return 'none';
  return answer ? 'proposed' : 'failed';
}

/** What the last "Scan now" found (owners and admins), for the view to say. */
export const lastScan = signal<Schemas['OpportunityScan'] | null>(null);
export const scanning = signal(false);

export async function scanNow(): Promise<void> {
  scanning.value = true;
  followUpsError.value = '';
  followUpsNotice.value = null;
  lastScan.value = null;
  try {
    lastScan.value = await call(() => api.POST('/admin/opportunities/scan'));
    await loadFollowUps();
  } catch (error) {
    followUpsError.value = (error as Error).message;
  } finally {
    scanning.value = false;
  }
}

/** Another business: nothing of the last one's list stays. */
export function resetFollowUps() {
  lastAsked++;
  statusFilter.value = 'open';
  opportunities.value = [];
  loaded.value = false;
  hasMore.value = false;
  counts.value = null;
  metrics.value = null;
  nextCursor = null;
  followUpsError.value = '';
  followUpsNotice.value = null;
  lastScan.value = null;
}
