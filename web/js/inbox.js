import { upcomingAppointments } from './agenda.js';
import { api, apiBlob, post } from './api.js';

const $ = (id) => document.getElementById(id);
const POLL_MS = 3000;

const state = {
  timer: null,
  selected: null,
  chats: [],
  messages: new Map(),
  cursor: null,
  templates: null,
};

const el = (tag, props = {}, children = []) => {
  const node = Object.assign(document.createElement(tag), props);
  node.append(...children);
  return node;
};
const time = (iso) => (iso ? new Date(iso).toLocaleString() : '');
const channelName = { whatsapp: 'WhatsApp', messenger: 'Messenger', instagram: 'Instagram' };

export function startInbox() {
  stopInbox();
  state.selected = null;
  state.templates = null;
  $('thread').hidden = true;
  $('no-thread').hidden = false;
  void refresh();
  state.timer = setInterval(refresh, POLL_MS);
}

export function stopInbox() {
  clearInterval(state.timer);
  state.timer = null;
}

async function refresh() {
  try {
    await refreshChats();
    if (state.selected) await syncMessages();
  } catch (error) {
    $('thread-error').textContent = error.message;
  }
}

async function refreshChats() {
  const params = new URLSearchParams({ human_filter: $('filter-human').value, limit: '100' });
  if ($('filter-channel').value) params.set('channel', $('filter-channel').value);
  const { items } = await api(`/admin/chats/summary?${params}`);
  state.chats = items;
  $('chat-list-empty').hidden = items.length > 0;
  $('chat-list').replaceChildren(...items.map(chatItem));
  const current = items.find((c) => c.id === state.selected);
  if (current) renderThreadHeader(current);
}

function chatItem(chat) {
  const li = el('li', { role: 'option' }, [
    el('strong', { textContent: chat.display_name, dir: 'auto' }),
    el('span', {}, [
      el('span', { className: 'badge', textContent: channelName[chat.channel_source] }),
      ...(chat.is_locked ? [el('span', { className: 'badge locked', textContent: 'human' })] : []),
      ...(chat.unread_count > 0
        ? [el('span', { className: 'unread', textContent: String(chat.unread_count) })]
        : []),
    ]),
    el('span', { className: 'preview', textContent: chat.last_message ?? '', dir: 'auto' }),
  ]);
  li.setAttribute('aria-selected', String(chat.id === state.selected));
  li.addEventListener('click', () => openChat(chat.id));
  return li;
}

/** Opens a conversation from elsewhere (the agenda): the list's filters must not hide it. */
export function openConversation(id) {
  $('filter-human').value = 'all';
  $('filter-channel').value = '';
  return openChat(id);
}

async function openChat(id) {
  state.selected = id;
  $('thread-appointments').hidden = true;
  state.messages = new Map();
  state.cursor = null;
  $('messages').replaceChildren();
  $('thread-error').textContent = '';
  $('thread').hidden = false;
  $('no-thread').hidden = true;
  const chat = state.chats.find((c) => c.id === id);
  if (chat) renderThreadHeader(chat);
  await syncMessages();
  await post(`/admin/chats/${id}/read`).catch(() => {});
  await refreshChats();
  await showUpcoming(id);
}

/** The customer's next appointments, under the thread's name. */
async function showUpcoming(id) {
  const chat = state.chats.find((c) => c.id === id);
  if (!chat) return;
  const upcoming = await upcomingAppointments(chat.contact_id).catch(() => []);
  if (id !== state.selected) return;
  $('thread-appointments').replaceChildren(
    ...upcoming.map((a) =>
      el('li', {}, [
        el('time', { dateTime: a.starts_at, textContent: a.when }),
        ' · ',
        el('span', { textContent: a.service_name, dir: 'auto' }),
        ' · ',
        el('span', { textContent: a.staff_name, dir: 'auto' }),
        a.status === 'pending' ? el('span', { className: 'badge', textContent: 'pending' }) : '',
      ]),
    ),
  );
  $('thread-appointments').hidden = upcoming.length === 0;
}

/** Delta sync: only messages created or changed since the last cursor (new ones, statuses, …). */
async function syncMessages() {
  const id = state.selected;
  let more = true;
  while (more && id === state.selected) {
    const query = state.cursor ? `?after=${encodeURIComponent(state.cursor)}` : '';
    const page = await api(`/admin/chats/${id}/messages${query}`);
    if (id !== state.selected) return;
    for (const m of page.items) state.messages.set(m.id, m);
    state.cursor = page.next_cursor;
    more = page.has_more;
    if (page.items.length > 0) renderMessages();
  }
}

function renderMessages() {
  const list = $('messages');
  const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
  const sorted = [...state.messages.values()].sort((a, b) =>
    a.timestamp.localeCompare(b.timestamp),
  );
  list.replaceChildren(...sorted.map(messageItem));
  if (atBottom || sorted.length < 30) list.scrollTop = list.scrollHeight;
}

function messageItem(m) {
  const kind = m.sender === 'system' ? 'system' : m.direction;
  const text = m.deleted ? '(deleted)' : (m.content ?? `[${m.type}]`);
  const who = { user: 'customer', agent: 'AI agent', operator: 'operator', system: 'system' }[
    m.sender
  ];
  const children = [
    el('span', { textContent: text, dir: 'auto' }),
    ...m.attachments.map((a) =>
      a.url
        ? el('a', {
            href: '#',
            textContent: ` 📎 ${a.filename ?? a.kind}`,
            onclick: (e) => openAttachment(e, a.url),
          })
        : el('span', { className: 'meta', textContent: `📎 ${a.kind} (${a.download.status})` }),
    ),
    el('span', {
      className: 'meta',
      textContent: `${who} · ${time(m.timestamp)}${m.direction === 'outbound' ? ` · ${m.status}` : ''}`,
    }),
  ];
  if (m.error?.reason || m.status === 'failed') {
    children.push(
      el('span', { className: 'error', textContent: m.error?.reason ?? 'Not delivered.' }),
    );
    const retry = el('button', { type: 'button', textContent: 'Retry' });
    retry.addEventListener('click', () => retryMessage(m.id));
    children.push(retry);
  }
  return el('li', { className: `msg ${kind}` }, children);
}

async function openAttachment(event, path) {
  event.preventDefault();
  try {
    window.open(URL.createObjectURL(await apiBlob(path)), '_blank');
  } catch (error) {
    $('thread-error').textContent = `The file could not be opened: ${error.message}`;
  }
}

async function retryMessage(id) {
  try {
    await post(`/admin/messages/${id}/retry`);
    await syncMessages();
  } catch (error) {
    $('thread-error').textContent = error.message;
  }
}

function renderThreadHeader(chat) {
  $('thread-name').textContent = chat.display_name;
  $('thread-name').dir = 'auto';
  $('thread-channel').textContent = `${channelName[chat.channel_source]} · ${chat.platform_origin}`;
  const w = chat.window;
  const humanTagOpen = !w.open && w.human_agent_until && new Date(w.human_agent_until) > new Date();
  $('thread-window').textContent = w.open
    ? `Window open until ${time(w.closes_at)}`
    : humanTagOpen
      ? `Window closed; human replies allowed (Human Agent tag) until ${time(w.human_agent_until)}`
      : 'Window closed: the customer has to write first, or send an approved template.';
  $('thread-lock').textContent = chat.is_locked
    ? `Human override: ${chat.lock_reason ?? 'on'}`
    : 'AI agent answers';
  $('lock-toggle').textContent = chat.is_locked ? 'Give back to the bot' : 'Take over';
  $('lock-toggle').onclick = () => toggleLock(chat);
  const templatesOnly = !w.open && !humanTagOpen;
  $('composer').hidden = templatesOnly && chat.channel_source === 'whatsapp';
  $('template-form').hidden = !(templatesOnly && chat.channel_source === 'whatsapp');
  if (!$('template-form').hidden) void loadTemplates();
}

async function toggleLock(chat) {
  try {
    await post(`/admin/conversations/${chat.id}/human-override`, { locked: !chat.is_locked });
    await refreshChats();
  } catch (error) {
    $('thread-error').textContent = error.message;
  }
}

$('composer').addEventListener('submit', async (event) => {
  event.preventDefault();
  const chat = state.chats.find((c) => c.id === state.selected);
  const text = $('composer-text').value.trim();
  if (!chat || !text) return;
  $('thread-error').textContent = '';
  try {
    await post('/admin/whatsapp/send', {
      conversation_id: chat.id,
      message: text,
      channel_source: chat.channel_source,
    });
    $('composer-text').value = '';
    await syncMessages();
    await refreshChats();
  } catch (error) {
    $('thread-error').textContent = error.message;
  }
});

async function loadTemplates() {
  if (!state.templates)
    state.templates = (await api('/admin/templates?status=APPROVED')).items.filter(
      (t) => t.sendable,
    );
  const select = $('template-select');
  if (select.options.length !== state.templates.length) {
    select.replaceChildren(
      ...state.templates.map((t) => new Option(`${t.name} (${t.language}, ${t.category})`, t.id)),
    );
    renderTemplateParams();
  }
}

function renderTemplateParams() {
  const template = state.templates?.find((t) => t.id === $('template-select').value);
  $('template-params').replaceChildren(
    ...(template?.placeholders.body ?? []).map((name) =>
      el('input', { name, placeholder: `{{${name}}}`, required: true, dir: 'auto' }),
    ),
  );
}
$('template-select').addEventListener('change', renderTemplateParams);

$('template-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const template = state.templates?.find((t) => t.id === $('template-select').value);
  if (!template || !state.selected) return;
  const inputs = [...$('template-params').querySelectorAll('input')];
  const parameters =
    template.parameter_format === 'NAMED'
      ? { body: Object.fromEntries(inputs.map((i) => [i.name, i.value])) }
      : inputs.map((i) => i.value);
  try {
    await post('/admin/templates/send', {
      conversation_id: state.selected,
      template_id: template.id,
      parameters,
    });
    await syncMessages();
  } catch (error) {
    $('thread-error').textContent = error.message;
  }
});

$('filter-human').addEventListener('change', refresh);
$('filter-channel').addEventListener('change', refresh);
