import { useEffect } from 'preact/hooks';
import { Agenda } from '../agenda/Agenda';
import { ChatList } from '../chat-list/ChatList';
import { chats, selectedId } from '../chat-list/chats';
import { forgetTemplates } from '../composer/TemplateForm';
import { t } from '../i18n/i18n';
import { Thread } from '../thread/Thread';
import { pane, view } from './layout';
import { startPolling } from './poll';
import { Topbar } from './Topbar';

/** The signed-in page of one business; mounted afresh when the operator switches business. */
export function Inbox() {
  useEffect(() => {
    chats.value = [];
    selectedId.value = null;
    pane.value = 'list';
    view.value = 'inbox';
    forgetTemplates();
    return startPolling();
  }, []);

  return (
    <div id="inbox" class="inbox" data-view={view.value} data-pane={pane.value}>
      <Topbar />
      {view.value === 'agenda' ? (
        <Agenda />
      ) : (
        <>
          <ChatList />
          {selectedId.value ? (
            <Thread />
          ) : (
            <main class="thread placeholder" id="no-thread">
              <p class="muted">{t('pickConversation')}</p>
            </main>
          )}
        </>
      )}
    </div>
  );
}
