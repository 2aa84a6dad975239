import { api, auth } from './api.js';

const $ = (id) => document.getElementById(id);

async function showInbox() {
  const me = await api('/admin/me');
  $('tenant-name').textContent =
    me.memberships.find((m) => m.tenant_id === me.tenant_id)?.tenant_name ?? '';
  $('operator-email').textContent = `${me.email} (${me.role})`;
  $('signin').hidden = true;
  $('inbox').hidden = false;
}

function showSignIn(message = '') {
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

const { data } = await (await auth()).auth.getSession();
if (data.session) await showInbox().catch((e) => showSignIn(e.message));
else showSignIn();
