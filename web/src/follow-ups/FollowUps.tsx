import { useEffect, useRef, useState } from 'preact/hooks';
import { CHANNEL_ICONS } from '../chat-list/ChatList';
import { CHANNEL_NAMES } from '../chat-list/chats';
import { dateTime, type MessageKey, t } from '../i18n/i18n';
import { canManage, me } from '../shell/account';
import { openConversation } from '../thread/open';
import {
  chooseStatus,
  counts,
  followUpsError,
  followUpsNotice,
  hasMore,
  lastScan,
  loaded,
  loadFollowUps,
  loadMoreFollowUps,
  metrics,
  type Opportunity,
  type OpportunityKind,
  type OpportunityStatus,
  opportunities,
  proposeTimes,
  scanNow,
  scanning,
  skipOpportunity,
  statusFilter,
  writeFollowUp,
} from './opportunities';

/** Each status in the page's words, in the order the filter and the counts show them. */
export const STATUS_LABELS: Record<OpportunityStatus, MessageKey> = {
  open: 'oppOpen',
  skipped: 'oppSkipped',
  accepted: 'oppAccepted',
  drafted: 'oppDrafted',
  sent: 'oppSent',
  expired: 'oppExpired',
};

/** Why the scan proposed the customer, in plain words; and what its evidence is. */
const REASONS: Record<OpportunityKind, { reason: MessageKey; evidence: MessageKey }> = {
  price_no_booking: { reason: 'oppReasonPrice', evidence: 'oppEvidenceMessage' },
  recall_due: { reason: 'oppReasonRecall', evidence: 'oppEvidenceAppointment' },
  no_show_or_cancelled: { reason: 'oppReasonNoShow', evidence: 'oppEvidenceAppointment' },
  quiet_after_handoff: { reason: 'oppReasonQuiet', evidence: 'oppEvidenceMessage' },
};

/** The API's suggested_action codes (a plain string there); an unknown one is not shown. */
const ACTIONS: Record<string, MessageKey> = {
  offer_booking: 'oppOfferBooking',
  offer_recall_appointment: 'oppOfferRecall',
  offer_new_appointment: 'oppOfferNew',
  reply_to_customer: 'oppReplyToCustomer',
};

/**
 * Follow-ups (docs/follow-ups.md): the customers the daily scan found worth writing to again, for
 * every operator to open the chat or skip; owners and admins can also run the scan now. Nothing
 * here sends anything to a customer.
 */
export function FollowUps() {
  useEffect(() => {
    void loadFollowUps();
  }, []);

  const items = opportunities.value;
  const notice = followUpsNotice.value;
  return (
    <main class="follow-ups" id="follow-ups" aria-labelledby="follow-ups-title">
      <div class="follow-ups-body">
        <div class="follow-ups-controls">
          <h1 id="follow-ups-title">{t('followUps')}</h1>
          <select
            id="follow-ups-status"
            aria-label={t('followUpsStatus')}
            value={statusFilter.value}
            onChange={(e) => chooseStatus(e.currentTarget.value as OpportunityStatus | '')}
          >
            {Object.entries(STATUS_LABELS).map(([status, label]) => (
              <option key={status} value={status}>
                {t(label)}
              </option>
            ))}
            <option value="">{t('followUpsAll')}</option>
          </select>
          {canManage.value && (
            <button
              id="follow-ups-scan"
              type="button"
              disabled={scanning.value}
              onClick={() => void scanNow()}
            >
              {scanning.value ? t('followUpsScanning') : t('followUpsScan')}
            </button>
          )}
        </div>
        <Counts />
        <Metrics />
        <p id="follow-ups-result" role="status">
          {lastScan.value && <ScanResult />}
          {/* The name isolated: a Latin name leading an Arabic sentence keeps its place. */}
          {notice && t(notice.key, { name: `\u2068${notice.name}\u2069` })}
        </p>
        <p id="follow-ups-error" role="alert">
          {followUpsError.value}
        </p>
        {items.length > 0 && (
          <ul id="follow-ups-list" class="follow-ups-list">
            {items.map((item) => (
              <FollowUpItem key={item.id} item={item} />
            ))}
          </ul>
        )}
        {loaded.value && items.length === 0 && (
          <div id="follow-ups-empty" class="follow-ups-empty">
            <p>
              <strong>
                {statusFilter.value === 'open'
                  ? t('followUpsEmptyOpen')
                  : t('followUpsEmptyStatus')}
              </strong>
            </p>
            <p>{t('followUpsExplain')}</p>
            <p>{t('followUpsExplainWrite')}</p>
          </div>
        )}
        {hasMore.value && (
          <button
            id="follow-ups-more"
            type="button"
            class="load-more"
            onClick={() => void loadMoreFollowUps()}
          >
            {t('loadMore')}
          </button>
        )}
      </div>
    </main>
  );
}

/** One line of counts by status, as GET /admin/opportunities/summary gave them. */
function Counts() {
  const byStatus = counts.value;
  if (!byStatus) return null;
  return (
    <ul id="follow-ups-counts" class="follow-ups-counts" aria-label={t('followUpsCounts')}>
      {Object.entries(STATUS_LABELS).map(([status, label]) => (
        <li key={status} data-status={status}>
          {t(label)} <strong>{byStatus[status as OpportunityStatus]}</strong>
        </li>
      ))}
    </ul>
  );
}

/** The funnel's steps in order, as the summary's metrics name them. */
const METRICS: Array<
  [keyof Omit<NonNullable<typeof metrics.value>, 'days' | 'since'>, MessageKey]
> = [
  ['found', 'oppMetricFound'],
  ['accepted', 'oppMetricAccepted'],
  ['sent', 'oppMetricSent'],
  ['replied', 'oppMetricReplied'],
  ['booked', 'oppMetricBooked'],
];

/**
 * What the last 30 days' follow-ups came to: found, accepted, sent, replied, booked (one cohort, so
 * each step is out of the one before; docs/follow-ups.md "Metrics").
 */
function Metrics() {
  const m = metrics.value;
  if (!m) return null;
  return (
    <section class="follow-ups-metrics" aria-labelledby="follow-ups-metrics-title">
      <h2 id="follow-ups-metrics-title" class="follow-ups-metrics-title">
        {t('followUpsMetrics', { days: m.days })}
      </h2>
      <ol
        id="follow-ups-metrics"
        class="follow-ups-metrics-steps"
        aria-describedby="follow-ups-metrics-help"
      >
        {METRICS.map(([key, label]) => (
          <li key={key} data-metric={key}>
            <strong>{m[key]}</strong> <span>{t(label)}</span>
          </li>
        ))}
      </ol>
      <p id="follow-ups-metrics-help" class="muted follow-ups-metrics-help">
        {t('oppMetricsHelp')}
      </p>
    </section>
  );
}

function ScanResult() {
  const scan = lastScan.value;
  if (!scan) return null;
  const found = Object.values(scan.found).reduce((sum, n) => sum + n, 0);
  return (
    <>
      {t('followUpsScanFound', { count: found })}
      {scan.expired > 0 && ` ${t('followUpsScanExpired', { count: scan.expired })}`}
    </>
  );
}

/** Why a sending rule refused a follow-up, for the codes the page words (else the rule's own words). */
const REFUSALS: Record<string, MessageKey> = {
  no_approved_template: 'oppRefusedNoTemplate',
  no_marketing_opt_in: 'oppRefusedNoOptIn',
};

function RefusedLine({ item }: { item: Opportunity }) {
  if (item.status !== 'skipped' || !item.refused_reason) return null;
  const known = item.refused_code ? REFUSALS[item.refused_code] : undefined;
  return (
    <p class="follow-up-refused">
      {known ? (
        t(known)
      ) : (
        <>
          {t('oppRefusedByRule')} <bdi dir="auto">{item.refused_reason}</bdi>
        </>
      )}
    </p>
  );
}

function decidedLine(item: Opportunity): string {
  const time = dateTime(item.decided_at);
  if (!item.decided_at) return '';
  if (!item.decided_by_user_id) return t('oppExpiredAt', { time });
  return item.decided_by_user_id === me.value?.user_id
    ? t('oppDecidedByYou', { time })
    : t('oppDecidedByOther', { time });
}

function FollowUpItem({ item }: { item: Opportunity }) {
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState(false);
  // "Propose times" found nothing to propose (no service, no free time): said on the item.
  const [noTimes, setNoTimes] = useState(false);
  const confirmRef = useRef<HTMLButtonElement>(null);
  const skipRef = useRef<HTMLButtonElement>(null);
  const name = item.contact_name ?? t('customer');
  const { reason, evidence } = REASONS[item.kind];
  const action = ACTIONS[item.suggested_action];
  const conversationId = item.conversation_id;

  // The question replaces the Skip button: the focus goes to its answer, and back when kept.
  useEffect(() => {
    if (confirming) confirmRef.current?.focus();
  }, [confirming]);

  async function skip() {
    setBusy(true);
    await skipOpportunity(item, name);
    setBusy(false);
    setConfirming(false);
  }

  async function write() {
    setBusy(true);
    setNoTimes(false);
    await writeFollowUp(item, name);
    setBusy(false);
  }

  async function propose() {
    setBusy(true);
    setNoTimes((await proposeTimes(item, name)) === 'none');
    setBusy(false);
  }

  // A customer waiting for a person is not offered times (the API would refuse: no service).
  const canPropose = item.status === 'open' && item.kind !== 'quiet_after_handoff';

  // Once the agent is asked to write (accepted) or has written (drafted), the chat is where the
  // draft appears for approval: the button says so.
  const draftInChat = item.status === 'accepted' || item.status === 'drafted';

  return (
    <li class={`follow-up ${item.status}`} data-id={item.id}>
      <div class="follow-up-head">
        <span
          class={`channel-icon ${item.contact_channel}`}
          title={CHANNEL_NAMES[item.contact_channel]}
        >
          <span aria-hidden="true">{CHANNEL_ICONS[item.contact_channel]}</span>
        </span>
        <h2 class="follow-up-name">
          <bdi>{name}</bdi>
        </h2>
        <span class="follow-up-channel muted">{CHANNEL_NAMES[item.contact_channel]}</span>
        <span class="badge follow-up-status">{t(STATUS_LABELS[item.status])}</span>
      </div>
      <p class="follow-up-reason">{t(reason)}</p>
      {/* The customer's words or the appointment, in their own direction: no quote marks, which
       * would land on the wrong side of Latin text on a right-to-left page. */}
      <div class="follow-up-evidence">
        <span class="muted">{t(evidence)}</span>
        <p class="follow-up-evidence-text" dir="auto">
          {item.evidence_text}
        </p>
      </div>
      <RefusedLine item={item} />
      {action && item.status === 'open' && (
        <p class="follow-up-suggested muted">{t('oppSuggested', { action: t(action) })}</p>
      )}
      <p class="follow-up-when muted">
        <time dateTime={item.created_at}>{t('oppFound', { time: dateTime(item.created_at) })}</time>
        {item.decided_at && (
          <>
            {' · '}
            <time dateTime={item.decided_at}>{decidedLine(item)}</time>
          </>
        )}
      </p>
      {noTimes && item.status === 'open' && (
        <p class="follow-up-propose-none" role="alert">
          {t('oppProposeNone')}
        </p>
      )}
      <div class="follow-up-actions">
        {conversationId && (
          <button
            type="button"
            class="follow-up-open"
            aria-label={t(draftInChat ? 'oppSeeDraftWith' : 'oppOpenChatWith', { name })}
            onClick={() => void openConversation(conversationId)}
          >
            {t(draftInChat ? 'oppSeeDraft' : 'oppOpenChat')}
          </button>
        )}
        {item.status === 'open' && !confirming && (
          <button
            type="button"
            class="follow-up-write"
            aria-label={t('oppWriteFor', { name })}
            disabled={busy}
            onClick={() => void write()}
          >
            {t('oppWrite')}
          </button>
        )}
        {canPropose && !confirming && (
          <button
            type="button"
            class="follow-up-propose"
            aria-label={t('oppProposeFor', { name })}
            disabled={busy}
            onClick={() => void propose()}
          >
            {t('oppPropose')}
          </button>
        )}
        {item.status === 'open' &&
          (confirming ? (
            <>
              <span class="follow-up-question">{t('oppSkipQuestion')}</span>
              <button
                ref={confirmRef}
                type="button"
                class="follow-up-skip-yes danger"
                disabled={busy}
                onClick={() => void skip()}
              >
                {t('oppSkipYes')}
              </button>
              <button
                type="button"
                class="follow-up-keep"
                onClick={() => {
                  setConfirming(false);
                  // Back where the operator was: the Skip button, once it is there again.
                  requestAnimationFrame(() => skipRef.current?.focus());
                }}
              >
                {t('keep')}
              </button>
            </>
          ) : (
            <button
              ref={skipRef}
              type="button"
              class="follow-up-skip"
              aria-label={t('oppSkipFor', { name })}
              onClick={() => setConfirming(true)}
            >
              {t('oppSkip')}
            </button>
          ))}
      </div>
    </li>
  );
}
