import { signal, useSignalEffect } from '@preact/signals';
import { useEffect, useState } from 'preact/hooks';
import { chats } from '../chat-list/chats';
import { direction, language, t } from '../i18n/i18n';
import { expired, session, signOut, startSession } from '../session/session';
import { SignIn } from '../sign-in/SignIn';
import { loadMe, me } from './account';
import { handoffWaiting } from './alerts';
import { Inbox } from './Inbox';

/** The title's flash: on and off each second while a handoff waits. */
const flash = signal(false);

/**
 * The page: sign-in until there is a session, then the inbox. An expired session keeps the inbox
 * mounted (its open chat, filters and drafts of replies) under a sign-in prompt.
 */
export function App() {
  const [ready, setReady] = useState(false);
  const [problem, setProblem] = useState('');

  useSignalEffect(() => {
    document.documentElement.lang = language.value;
    document.documentElement.dir = direction.value;
    // Chats with unread messages in the tab's title: visible from another tab while the page
    // polls; a handoff not yet looked at alternates with it (flash, below).
    const unread = me.value ? chats.value.filter((c) => c.unread_count > 0).length : 0;
    const title = unread > 0 ? `(${unread}) ${t('appTitle')}` : t('appTitle');
    document.title =
      handoffWaiting.value && flash.value ? `${t('titleHandoff')} ${handoffWaiting.value}` : title;
  });

  useEffect(() => {
    const timer = setInterval(() => {
      flash.value = !flash.value;
    }, 1000);
    // Looking at the page is seeing the handoff (the list shows it as taken over).
    const seen = () => {
      if (!document.hidden && document.hasFocus()) handoffWaiting.value = null;
    };
    document.addEventListener('visibilitychange', seen);
    window.addEventListener('focus', seen);
    return () => {
      clearInterval(timer);
      document.removeEventListener('visibilitychange', seen);
      window.removeEventListener('focus', seen);
    };
  }, []);

  useEffect(() => {
    startSession()
      .catch((error: Error) => setProblem(error.message))
      .finally(() => setReady(true));
  }, []);

  const userId = session.value?.user.id;
  useEffect(() => {
    if (!userId) {
      me.value = null;
      return;
    }
    setProblem('');
    loadMe().catch(async (error: Error) => {
      await signOut();
      setProblem(error.message);
    });
  }, [userId]);

  if (!ready) return null;
  if (!session.value) return <SignIn problem={problem} />;
  if (!me.value) return null;
  return (
    <>
      <Inbox key={me.value.tenant_id} />
      {expired.value && <SignIn problem={problem} prompt />}
    </>
  );
}
