import { useEffect, useRef, useState } from 'preact/hooks';
import { t } from '../i18n/i18n';
import { signIn } from '../session/session';

/**
 * The sign-in form: a page of its own before the first sign-in, a modal prompt over the inbox
 * when the session has ended (`prompt`), so the operator comes back to the same chat.
 */
export function SignIn({ problem = '', prompt = false }: { problem?: string; prompt?: boolean }) {
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const email = useRef<HTMLInputElement>(null);
  useEffect(() => email.current?.focus(), []);

  async function submit(event: Event) {
    event.preventDefault();
    const form = new FormData(event.currentTarget as HTMLFormElement);
    setBusy(true);
    const refused = await signIn(String(form.get('email')), String(form.get('password')));
    setBusy(false);
    setError(refused ?? '');
  }

  const form = (
    <form id="signin-form" onSubmit={submit}>
      <label>
        {t('email')}
        <input ref={email} name="email" type="email" autocomplete="username" required />
      </label>
      <label>
        {t('password')}
        <input name="password" type="password" autocomplete="current-password" required />
      </label>
      <button type="submit" disabled={busy}>
        {t('signIn')}
      </button>
      <p id="signin-error" role="alert">
        {error || problem}
      </p>
    </form>
  );

  if (!prompt) {
    return (
      <main id="signin" class="signin">
        <h1>Switchboard</h1>
        {form}
      </main>
    );
  }
  return (
    <div class="modal-backdrop">
      <section
        id="signin"
        class="signin prompt"
        role="dialog"
        aria-modal="true"
        aria-labelledby="signin-title"
      >
        <h2 id="signin-title">{t('signIn')}</h2>
        <p id="session-expired">{t('sessionExpired')}</p>
        {form}
      </section>
    </div>
  );
}
