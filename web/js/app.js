import { resetAgenda, startAgenda } from './agenda.js';
import { activeTenant, api, auth } from './api.js';
import { openConversation, startInbox, stopInbox } from './inbox.js';

const $ = (id) => document.getElementById(id);

async function showInbox() {
  let me;
  try {
    me = await api('/admin/me');
  } catch (error) {
    // A remembered business the operator no longer belongs to: fall back to their first one.
    if (error.status !== 403 || !activeTenant.get()) throw error;
    localStorage.removeItem('switchboard.tenant');
    me = await api('/admin/me');
  }
  activeTenant.set(me.tenant_id);
  const current = me.memberships.find((m) => m.tenant_id === me.tenant_id);
  $('tenant-name').textContent = current?.tenant_name ?? '';
  $('operator-email').textContent = `${me.email} (${me.role})`;
  const picker = $('tenant-switch');
  picker.hidden = me.memberships.length < 2;
  picker.replaceChildren(
    ...me.memberships.map(
      (m) => new Option(m.tenant_name, m.tenant_id, false, m.tenant_id === me.tenant_id),
    ),
  );
  $('signin').hidden = true;
  $('inbox').hidden = false;
  resetAgenda();
  showView('inbox');
  startInbox();
}

/** The inbox and the agenda share the page; the inbox keeps polling behind the agenda. */
function showView(view) {
  $('inbox').dataset.view = view;
  $('view-inbox').setAttribute('aria-pressed', String(view === 'inbox'));
  $('view-agenda').setAttribute('aria-pressed', String(view === 'agenda'));
}

$('view-inbox').addEventListener('click', () => showView('inbox'));
$('view-agenda').addEventListener('click', async () => {
  showView('agenda');
  await startAgenda((conversationId) => {
    showView('inbox');
    void openConversation(conversationId);
  }).catch((e) => {
    $('agenda-error').textContent = e.message;
  });
});

function showSignIn(message = '') {
  stopInbox();
  $('inbox').hidden = true;
  $('signin').hidden = false;
  $('signin-error').textContent = message;
}

$('signin-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const form = new FormData(event.target);
  const { error } = await (await auth()).auth.signInWithPassword({
    email: form.get('email'),
    password: form.get('password'),
  });
  if (error) return showSignIn(error.message);
  await showInbox().catch((e) => showSignIn(e.message));
});

$('signout').addEventListener('click', async () => {
  await (await auth()).auth.signOut();
  showSignIn();
});

$('tenant-switch').addEventListener('change', async (event) => {
  activeTenant.set(event.target.value);
  stopInbox();
  await showInbox().catch((e) => showSignIn(e.message));
});

const { data } = await (await auth()).auth.getSession();
if (data.session) await showInbox().catch((e) => showSignIn(e.message));
else showSignIn();
