import { useSignalEffect } from '@preact/signals';
import { useEffect, useState } from 'preact/hooks';
import { chats } from '../chat-list/chats';
import { direction, language, t } from '../i18n/i18n';
import { expired, session, signOut, startSession } from '../session/session';
import { SignIn } from '../sign-in/SignIn';
import { loadMe, me } from './account';
import { Inbox } from './Inbox';

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
    // Unread messages in the tab's title: visible from another tab while the page polls.
    const unread = me.value ? chats.value.reduce((sum, c) => sum + c.unread_count, 0) : 0;
    document.title = unread > 0 ? `(${unread}) ${t('appTitle')}` : t('appTitle');
  });

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
