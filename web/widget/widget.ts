import { stringsFor } from './strings';
import { CSS } from './styles';

/**
 * The web chat widget (docs/widget.md): one script tag on a business's site,
 *   <script src="https://<switchboard>/widget.js" data-key="pk_…" async></script>
 * opens a chat bubble in a shadow root (no framework, the page's styles kept out). The visitor's
 * token stays in localStorage, so the conversation survives reloads; replies arrive by polling
 * with delta sync (every 1.5 s while open, every 10 s while closed).
 */

type Message = {
  id: string;
  from: 'visitor' | 'business';
  by: 'agent' | 'operator' | 'system' | null;
  text: string;
  buttons: Array<{ id: string; title: string }>;
  at: string;
  client_message_id: string | null;
};
type Poll = { messages: Message[]; cursor: string; human: boolean };
type Session = {
  token: string;
  widget: { title: string; color: string; greeting: string };
};
/** A message the visitor wrote, shown at once, until the server's copy replaces it. */
type Pending = { clientId: string; text: string; replyId?: string; failed: boolean };

const OPEN_POLL_MS = 1500;
const CLOSED_POLL_MS = 10_000;

const script = document.currentScript as HTMLScriptElement | null;

function start(tag: HTMLScriptElement) {
  const key = tag.dataset.key ?? '';
  const api = tag.dataset.api ?? new URL(tag.src).origin;
  const pageLanguage =
    tag.dataset.lang || document.documentElement.lang || navigator.language || 'en';
  const { strings: t, language, rtl: languageRtl } = stringsFor(pageLanguage);
  const rtl = document.documentElement.dir ? document.documentElement.dir === 'rtl' : languageRtl;
  const storageKey = `switchboard-widget:${key}`;

  const host = document.createElement('div');
  host.setAttribute('data-switchboard-widget', '');
  const shadow = host.attachShadow({ mode: 'open' });
  if ('adoptedStyleSheets' in shadow && typeof CSSStyleSheet === 'function') {
    // A constructed sheet: allowed by pages whose CSP refuses inline <style>.
    const sheet = new CSSStyleSheet();
    sheet.replaceSync(CSS);
    shadow.adoptedStyleSheets = [sheet];
  } else {
    const style = document.createElement('style');
    style.textContent = CSS;
    shadow.appendChild(style);
  }

  /** Children in: (appendChild, not append, which the Workers types redeclare for Element). */
  const add = (parent: Node, ...children: Array<Node | string>) => {
    for (const child of children) {
      parent.appendChild(typeof child === 'string' ? document.createTextNode(child) : child);
    }
  };

  const el = <K extends keyof HTMLElementTagNameMap>(
    tagName: K,
    props: Partial<Record<string, string>> = {},
    ...children: Array<Node | string>
  ): HTMLElementTagNameMap[K] => {
    const node = document.createElement(tagName);
    for (const [name, value] of Object.entries(props)) {
      if (value !== undefined) node.setAttribute(name, value);
    }
    add(node, ...children);
    return node;
  };

  const root = el('div', { class: 'root', dir: rtl ? 'rtl' : 'ltr', lang: language });
  const bubble = el('button', {
    class: 'bubble',
    type: 'button',
    'aria-label': t.open,
    'aria-expanded': 'false',
    'aria-controls': 'sb-panel',
  });
  bubble.innerHTML =
    '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M4 3h16a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H8l-5 4V5a2 2 0 0 1 1-2z"/></svg>';
  const badge = el('span', { class: 'badge', 'aria-hidden': 'true' });
  badge.hidden = true;
  add(bubble, badge);

  const title = el('h2', { id: 'sb-title' }, t.title);
  const closeButton = el('button', { class: 'icon', type: 'button', 'aria-label': t.close }, '×');
  const notice = el('div', { class: 'notice', role: 'status' });
  const log = el('div', {
    class: 'log',
    role: 'log',
    'aria-live': 'polite',
    'aria-label': t.messages,
    tabindex: '0',
  });
  const error = el('div', { class: 'error', role: 'alert' });
  const input = el('textarea', {
    id: 'sb-input',
    rows: '1',
    placeholder: t.placeholder,
    maxlength: '2000',
    autocomplete: 'off',
  });
  const compose = el(
    'form',
    { class: 'compose' },
    el('label', { class: 'visually-hidden', for: 'sb-input' }, t.placeholder),
    input,
    el('button', { class: 'send', type: 'submit' }, t.send),
  );
  const nameInput = el('input', { id: 'sb-name', autocomplete: 'name', maxlength: '100' });
  const contactInput = el('input', { id: 'sb-contact', autocomplete: 'email', maxlength: '200' });
  const profileForm = el(
    'form',
    {},
    el('label', { for: 'sb-name' }, t.name),
    nameInput,
    el('label', { for: 'sb-contact' }, t.contact),
    contactInput,
    el('button', { class: 'send', type: 'submit' }, t.save),
  );
  const details = el('details', {}, el('summary', {}, t.details), profileForm);
  const panel = el(
    'div',
    { class: 'panel', id: 'sb-panel', role: 'dialog', 'aria-labelledby': 'sb-title' },
    el('header', {}, title, closeButton),
    notice,
    log,
    error,
    details,
    compose,
  );
  panel.hidden = true;
  add(root, panel, bubble);
  add(shadow, root);
  add(document.body, host);

  let session: Session | null = null;
  let cursor: string | undefined;
  let human = false;
  let unread = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const shown = new Map<string, Message>();
  const pending = new Map<string, Pending>();

  const isOpen = () => !panel.hidden;

  async function call<T>(path: string, init: RequestInit = {}): Promise<T> {
    const headers: Record<string, string> = {};
    if (init.body) headers['content-type'] = 'application/json';
    if (session) headers.authorization = `Bearer ${session.token}`;
    const res = await fetch(`${api}${path}`, { ...init, headers });
    const body = (await res.json().catch(() => ({}))) as {
      error?: { code?: string; message?: string };
    };
    if (!res.ok) {
      const failure = new Error(body.error?.message ?? `HTTP ${res.status}`) as Error & {
        status?: number;
      };
      failure.status = res.status;
      throw failure;
    }
    return body as T;
  }

  async function startSession(): Promise<void> {
    const held = localStorage.getItem(storageKey) ?? undefined;
    const made = await call<Session>('/widget/session', {
      method: 'POST',
      body: JSON.stringify({ key, token: held }),
    });
    session = made;
    localStorage.setItem(storageKey, made.token);
    root.style.setProperty('--sb-color', made.widget.color);
    if (made.widget.title) title.textContent = made.widget.title;
  }

  let starting: Promise<void> | null = null;
  /** One session start at a time: a message typed while the widget opens waits for it. */
  function ensureSession(): Promise<void> {
    if (session) return Promise.resolve();
    starting ??= startSession().finally(() => {
      starting = null;
    });
    return starting;
  }

  function who(m: Message): string {
    if (m.from === 'visitor') return t.you;
    return m.by === 'operator' ? t.team : t.assistant;
  }

  function bubbleFor(m: { from: string; text: string; label: string; state?: string }) {
    const node = el('div', { class: `msg ${m.from}` }, el('span', { class: 'who' }, m.label));
    // Each message takes its own direction from its text (an English reply on an Arabic page).
    add(node, el('span', { dir: 'auto' }, m.text));
    if (m.state) add(node, el('span', { class: 'state' }, m.state));
    return node;
  }

  /**
   * The log, changed only where it differs: nodes up to the first difference stay, so a screen
   * reader announces the new messages (role=log, aria-live) rather than the whole conversation.
   */
  function render() {
    const atBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 40;
    const wanted: Array<{ key: string; make: () => HTMLElement }> = [];
    const greeting = session?.widget.greeting || t.greetingFallback;
    wanted.push({
      key: `greeting:${greeting}`,
      make: () => bubbleFor({ from: 'business', text: greeting, label: t.assistant }),
    });
    const ordered = [...shown.values()].sort((a, b) => a.at.localeCompare(b.at));
    const last = ordered.at(-1);
    for (const m of ordered) {
      const withOptions = m.buttons.length > 0 && m === last;
      wanted.push({
        key: `${m.id}:${m.text}:${withOptions ? 1 : 0}`,
        make: () => {
          const node = bubbleFor({ from: m.from, text: m.text, label: who(m) });
          if (withOptions) {
            const options = el('div', { class: 'options' });
            for (const b of m.buttons) {
              const button = el('button', { type: 'button' }, b.title);
              button.addEventListener('click', () => void send(b.title, b.id));
              add(options, button);
            }
            add(node, options);
          }
          return node;
        },
      });
    }
    for (const p of pending.values()) {
      wanted.push({
        key: `pending:${p.clientId}:${p.failed ? 1 : 0}`,
        make: () =>
          bubbleFor({
            from: 'visitor',
            text: p.text,
            label: t.you,
            state: p.failed ? t.failed : t.sending,
          }),
      });
    }
    const current = [...log.children] as HTMLElement[];
    let same = 0;
    while (
      same < current.length &&
      same < wanted.length &&
      current[same]?.dataset.key === wanted[same]?.key
    ) {
      same++;
    }
    for (const node of current.slice(same)) node.remove();
    for (const item of wanted.slice(same)) {
      const node = item.make();
      node.dataset.key = item.key;
      add(log, node);
    }
    if (atBottom || pending.size > 0) log.scrollTop = log.scrollHeight;
    const noticeText = human ? t.human : notice.textContent === t.saved ? t.saved : '';
    if (notice.textContent !== noticeText) notice.textContent = noticeText;
  }

  function schedule() {
    clearTimeout(timer);
    timer = setTimeout(() => void poll(), isOpen() ? OPEN_POLL_MS : CLOSED_POLL_MS);
  }

  async function poll(): Promise<void> {
    if (!session) return;
    try {
      const query = cursor ? `?after=${encodeURIComponent(cursor)}` : '';
      const answer = await call<Poll>(`/widget/messages${query}`);
      let fresh = 0;
      for (const m of answer.messages) {
        if (!shown.has(m.id) && m.from === 'business' && cursor) fresh++;
        shown.set(m.id, m);
        if (m.client_message_id) pending.delete(m.client_message_id);
      }
      cursor = answer.cursor;
      human = answer.human;
      if (!isOpen() && fresh > 0) {
        unread += fresh;
        badge.textContent = String(unread);
        badge.hidden = false;
        bubble.setAttribute('aria-label', `${t.open} (${unread})`);
      }
      if (error.textContent === t.offline) error.textContent = '';
      render();
    } catch (err) {
      const status = (err as { status?: number }).status;
      if (status === 401) {
        // The token no longer speaks for anyone (expired, widget replaced): start afresh.
        localStorage.removeItem(storageKey);
        session = null;
        cursor = undefined;
        shown.clear();
        await ensureSession().catch(() => {});
      } else if (status === 403 || status === 429) {
        error.textContent = (err as Error).message;
      } else {
        error.textContent = t.offline;
      }
    }
    schedule();
  }

  /** Messages go out one after another, in the order written (the server orders by arrival). */
  let outbox: Promise<void> = Promise.resolve();

  function send(text: string, replyId?: string): Promise<void> {
    const clean = text.trim();
    if (!clean) return outbox;
    const clientId = crypto.randomUUID();
    pending.set(clientId, { clientId, text: clean, replyId, failed: false });
    render();
    outbox = outbox.then(() => deliver(clientId, clean, replyId));
    return outbox;
  }

  async function deliver(clientId: string, text: string, replyId?: string): Promise<void> {
    try {
      await ensureSession();
      await call('/widget/messages', {
        method: 'POST',
        body: JSON.stringify({
          text,
          client_message_id: clientId,
          ...(replyId ? { reply_id: replyId } : {}),
        }),
      });
      error.textContent = '';
      void poll();
    } catch (err) {
      const entry = pending.get(clientId);
      if (entry) entry.failed = true;
      error.textContent = (err as Error).message;
      render();
    }
  }

  function open() {
    panel.hidden = false;
    root.classList.add('open');
    bubble.setAttribute('aria-expanded', 'true');
    bubble.setAttribute('aria-label', t.close);
    unread = 0;
    badge.hidden = true;
    render();
    input.focus();
    ensureSession()
      .then(() => poll())
      .catch((err: Error) => {
        error.textContent = err.message;
      });
  }

  function close() {
    panel.hidden = true;
    root.classList.remove('open');
    bubble.setAttribute('aria-expanded', 'false');
    bubble.setAttribute('aria-label', t.open);
    bubble.focus();
    schedule();
  }

  bubble.addEventListener('click', () => (isOpen() ? close() : open()));
  closeButton.addEventListener('click', close);
  root.addEventListener('keydown', (event) => {
    if (event.key === 'Escape' && isOpen()) {
      event.stopPropagation();
      close();
    }
  });
  compose.addEventListener('submit', (event) => {
    event.preventDefault();
    const text = input.value;
    input.value = '';
    void send(text);
  });
  input.addEventListener('keydown', (event) => {
    // Enter sends, Shift+Enter is a new line (as in most chats).
    if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      compose.requestSubmit();
    }
  });
  profileForm.addEventListener('submit', (event) => {
    event.preventDefault();
    const contact = contactInput.value.trim();
    const body = {
      name: nameInput.value.trim(),
      ...(contact.includes('@') ? { email: contact } : { phone: contact }),
    };
    ensureSession()
      .then(() => call('/widget/profile', { method: 'PUT', body: JSON.stringify(body) }))
      .then(() => {
        error.textContent = '';
        details.open = false;
        notice.textContent = t.saved;
      })
      .catch((err: Error) => {
        error.textContent = err.message;
      });
  });

  // A returning visitor (a token kept from an earlier visit) sees replies counted on the bubble.
  if (localStorage.getItem(storageKey)) {
    ensureSession()
      .then(() => poll())
      .catch(() => {});
  }
}

if (script?.dataset.key) {
  const tag = script;
  if (document.body) start(tag);
  else document.addEventListener('DOMContentLoaded', () => start(tag));
}
