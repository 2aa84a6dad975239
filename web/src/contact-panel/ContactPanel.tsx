import { useEffect, useState } from 'preact/hooks';
import { api, call, type Schemas } from '../api/client';
import { CHANNEL_NAMES, type Chat, selectedChat } from '../chat-list/chats';
import { EditOrDelete } from '../forms/EditOrDelete';
import { dateTime, type MessageKey, t, usd } from '../i18n/i18n';
import { me } from '../shell/account';
import {
  addNote,
  assign,
  changeLabels,
  closePanel,
  consent,
  deleteNote,
  loadContact,
  notes,
  optInFormAsked,
  panelError,
  recordOptIn,
  setBot,
  team,
} from './panel';

const STATE: Record<'opted_in' | 'opted_out' | 'none', MessageKey> = {
  opted_in: 'consentOptedIn',
  opted_out: 'consentOptedOut',
  none: 'consentNone',
};

const SOURCES: Array<[string, MessageKey]> = [
  ['web_form', 'sourceWebForm'],
  ['paper_form', 'sourcePaperForm'],
  ['phone_call', 'sourcePhoneCall'],
  ['in_person', 'sourceInPerson'],
];

/** Runs an action, showing its failure in the panel. */
async function attempt(action: () => Promise<unknown>): Promise<boolean> {
  panelError.value = '';
  try {
    await action();
    return true;
  } catch (error) {
    panelError.value = (error as Error).message;
    return false;
  }
}

/** The open chat's customer: who they are, consent, notes, labels and the assignee. */
export function ContactPanel() {
  const chat = selectedChat.value;
  const contactId = chat?.contact_id;
  useEffect(() => {
    if (contactId) void attempt(() => loadContact(contactId));
  }, [contactId]);
  if (!chat) return null;
  return (
    <aside class="contact-panel" id="contact-panel" aria-labelledby="contact-name">
      <header class="contact-header">
        <button type="button" class="back" aria-label={t('backToThread')} onClick={closePanel}>
          <span aria-hidden="true">‹</span>
        </button>
        <h2 id="contact-name" dir="auto">
          {chat.display_name}
        </h2>
        <span class="spacer" />
        <button
          type="button"
          class="close"
          id="contact-close"
          aria-label={t('closeContact')}
          onClick={closePanel}
        >
          <span aria-hidden="true">×</span>
        </button>
      </header>
      <p id="contact-error" role="alert">
        {panelError.value}
      </p>
      <Identity chat={chat} />
      <BotSwitch chat={chat} />
      <Assignee chat={chat} />
      <Labels chat={chat} />
      <ConsentSection contactId={chat.contact_id} />
      <Notes contactId={chat.contact_id} />
      <AiCost chatId={chat.id} />
    </aside>
  );
}

function Identity({ chat }: { chat: Chat }) {
  const c = chat.customer;
  const rows: Array<[MessageKey, string | null]> = [
    ['phone', chat.customer_phone],
    ['channel', `${CHANNEL_NAMES[chat.channel_source]} · ${chat.platform_origin}`],
    ['channelId', c.external_user_id],
    ['bsuid', c.bsuid],
    ['username', c.username],
  ];
  return (
    <dl id="contact-identity" class="contact-identity">
      {rows
        .filter(([, value]) => value)
        .map(([key, value]) => (
          <div key={key}>
            <dt>{t(key)}</dt>
            <dd>
              <bdi>{value}</bdi>
            </dd>
          </div>
        ))}
    </dl>
  );
}

/** Whether the AI agent answers in this chat at all: off for good, unlike taking over. */
function BotSwitch({ chat }: { chat: Chat }) {
  return (
    <section class="contact-section">
      <label class="choice" for="bot-toggle">
        <input
          id="bot-toggle"
          type="checkbox"
          checked={chat.bot_enabled}
          onChange={(e) => {
            const enabled = e.currentTarget.checked;
            void attempt(() => setBot(chat.id, enabled));
          }}
        />
        <span>
          <strong>{t('botInChat')}</strong>
          <span class="muted">{t('botInChatHelp')}</span>
        </span>
      </label>
    </section>
  );
}

function Assignee({ chat }: { chat: Chat }) {
  const myId = me.value?.user_id;
  return (
    <section class="contact-section">
      <label class="field">
        <span>{t('assignedTo')}</span>
        <select
          id="contact-assignee"
          value={chat.assigned_user_id ?? ''}
          onChange={(e) => {
            const userId = e.currentTarget.value || null;
            void attempt(() => assign(chat.id, userId));
          }}
        >
          <option value="">{t('nobody')}</option>
          {team.value.map((m) => (
            <option key={m.user_id} value={m.user_id}>
              {m.user_id === myId ? t('youSuffix', { name: m.name }) : m.name}
            </option>
          ))}
        </select>
      </label>
    </section>
  );
}

function Labels({ chat }: { chat: Chat }) {
  const [draft, setDraft] = useState('');
  return (
    <section class="contact-section" aria-labelledby="contact-labels-title">
      <h3 id="contact-labels-title">{t('labels')}</h3>
      {chat.labels.length === 0 ? (
        <p class="muted">{t('noLabels')}</p>
      ) : (
        <ul id="contact-labels" class="labels">
          {chat.labels.map((label) => (
            <li key={label} class="label">
              <span dir="auto">{label}</span>
              <button
                type="button"
                aria-label={t('removeLabel', { label })}
                onClick={() =>
                  void attempt(() =>
                    changeLabels(chat.id, (labels) => labels.filter((l) => l !== label)),
                  )
                }
              >
                <span aria-hidden="true">×</span>
              </button>
            </li>
          ))}
        </ul>
      )}
      <form
        id="label-form"
        class="inline-form"
        onSubmit={async (e) => {
          e.preventDefault();
          const label = draft.trim();
          if (!label) return;
          setDraft('');
          await attempt(() => changeLabels(chat.id, (labels) => [...labels, label]));
        }}
      >
        <input
          id="label-input"
          aria-label={t('newLabel')}
          placeholder={t('newLabel')}
          maxLength={32}
          dir="auto"
          value={draft}
          onInput={(e) => setDraft(e.currentTarget.value)}
        />
        <button type="submit" disabled={chat.labels.length >= 10}>
          {t('addLabel')}
        </button>
      </form>
    </section>
  );
}

let answeredOptInAsk = 0;

function ConsentSection({ contactId }: { contactId: string }) {
  const [scope, setScope] = useState<'marketing' | 'utility' | 'all'>('marketing');
  const [source, setSource] = useState('web_form');
  const [recorded, setRecorded] = useState(false);
  const current = consent.value?.consent;
  const asked = optInFormAsked.value;
  useEffect(() => {
    // Only a new ask (a consent refusal's button) moves the focus, not every opening of the panel.
    if (asked <= answeredOptInAsk) return;
    answeredOptInAsk = asked;
    const scope = document.getElementById('opt-in-scope');
    scope?.scrollIntoView({ block: 'center' });
    scope?.focus();
  }, [asked]);
  return (
    <section class="contact-section" aria-labelledby="contact-consent-title">
      <h3 id="contact-consent-title">{t('consent')}</h3>
      {current && (
        <dl id="contact-consent" class="contact-identity">
          <div>
            <dt>{t('marketing')}</dt>
            <dd data-state={current.marketing}>{t(STATE[current.marketing])}</dd>
          </div>
          <div>
            <dt>{t('utility')}</dt>
            <dd data-state={current.utility}>{t(STATE[current.utility])}</dd>
          </div>
        </dl>
      )}
      {current?.opted_out_at && (
        <p class="muted">{t('optedOutAll', { time: dateTime(current.opted_out_at) })}</p>
      )}
      <form
        id="opt-in-form"
        class="stacked-form"
        onSubmit={async (e) => {
          e.preventDefault();
          setRecorded(await attempt(() => recordOptIn(contactId, scope, source)));
        }}
      >
        <label class="field">
          <span>{t('scope')}</span>
          <select
            id="opt-in-scope"
            value={scope}
            onChange={(e) => setScope(e.currentTarget.value as typeof scope)}
          >
            <option value="marketing">{t('marketing')}</option>
            <option value="utility">{t('utility')}</option>
            <option value="all">{t('scopeAll')}</option>
          </select>
        </label>
        <label class="field">
          <span>{t('source')}</span>
          <select
            id="opt-in-source"
            value={source}
            onChange={(e) => setSource(e.currentTarget.value)}
          >
            {SOURCES.map(([value, key]) => (
              <option key={value} value={value}>
                {t(key)}
              </option>
            ))}
          </select>
        </label>
        <button type="submit">{t('recordOptIn')}</button>
        <p class="muted" role="status">
          {recorded ? t('optInRecorded') : ''}
        </p>
      </form>
    </section>
  );
}

function Notes({ contactId }: { contactId: string }) {
  const [draft, setDraft] = useState('');
  const names = new Map(team.value.map((m) => [m.user_id, m.name]));
  return (
    <section class="contact-section" aria-labelledby="contact-notes-title">
      <h3 id="contact-notes-title">{t('notes')}</h3>
      <form
        id="note-form"
        class="stacked-form"
        onSubmit={async (e) => {
          e.preventDefault();
          const body = draft.trim();
          if (!body) return;
          if (await attempt(() => addNote(contactId, body))) setDraft('');
        }}
      >
        <textarea
          id="note-input"
          aria-label={t('newNote')}
          placeholder={t('newNote')}
          maxLength={2000}
          rows={3}
          dir="auto"
          value={draft}
          onInput={(e) => setDraft(e.currentTarget.value)}
        />
        <button type="submit">{t('addNote')}</button>
      </form>
      {notes.value.length === 0 ? (
        <p class="muted">{t('noNotes')}</p>
      ) : (
        <ol id="contact-notes" class="notes">
          {notes.value.map((note) => (
            <li key={note.id} class="note">
              <p dir="auto">{note.body}</p>
              <p class="muted">
                <span dir="auto">{names.get(note.author_user_id) ?? t('formerOperator')}</span>
                {' · '}
                <time dateTime={note.created_at}>{dateTime(note.created_at)}</time>
              </p>
              {note.author_user_id === me.value?.user_id && (
                <EditOrDelete
                  deleteLabel={t('deleteNote')}
                  onDelete={() => void attempt(() => deleteNote(contactId, note.id))}
                />
              )}
            </li>
          ))}
        </ol>
      )}
    </section>
  );
}

type ChatAiCost = Schemas['ChatAiCost'];

/** What the AI cost in this chat, at list price (issue 14): read when the chat is shown. */
function AiCost({ chatId }: { chatId: string }) {
  const [cost, setCost] = useState<ChatAiCost | null>(null);
  useEffect(() => {
    let live = true;
    setCost(null);
    call(() => api.GET('/admin/chats/{id}/ai-cost', { params: { path: { id: chatId } } }))
      .then((answer) => {
        if (live) setCost(answer);
      })
      // Not worth an alert: the panel stays useful without it.
      .catch(() => {});
    return () => {
      live = false;
    };
  }, [chatId]);
  if (!cost) return null;
  return (
    <section class="contact-section" aria-labelledby="contact-ai-cost-title">
      <h3 id="contact-ai-cost-title">{t('aiCostInChat')}</h3>
      <p id="contact-ai-cost">
        {cost.runs === 0
          ? t('aiCostNone')
          : t('aiCostRuns', { cost: usd(cost.cost_usd), runs: cost.runs })}
        {cost.unpriced_runs > 0 && (
          <span class="muted"> {t('aiCostUnpriced', { n: cost.unpriced_runs })}</span>
        )}
      </p>
    </section>
  );
}
