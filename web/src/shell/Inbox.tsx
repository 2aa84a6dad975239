import { useEffect } from 'preact/hooks';
import { Agenda } from '../agenda/Agenda';
import { ChatList } from '../chat-list/ChatList';
import { chats, selectedId } from '../chat-list/chats';
import { forgetTemplates } from '../composer/TemplateForm';
import { ContactPanel } from '../contact-panel/ContactPanel';
import { panelOpen } from '../contact-panel/panel';
import { Dashboard } from '../dashboard/Dashboard';
import { resetDashboard } from '../dashboard/state';
import { FollowUps } from '../follow-ups/FollowUps';
import { resetFollowUps } from '../follow-ups/opportunities';
import { t } from '../i18n/i18n';
import { Thread } from '../thread/Thread';
import { isManageView, pane, view, viewFromAddress } from './layout';
import { Manage } from './Manage';
import { startPolling } from './poll';
import { Topbar } from './Topbar';

/** The signed-in page of one business; mounted afresh when the operator switches business. */
export function Inbox() {
  useEffect(() => {
    chats.value = [];
    selectedId.value = null;
    pane.value = 'list';
    view.value = viewFromAddress();
    forgetTemplates();
    resetFollowUps();
    resetDashboard();
    return startPolling();
  }, []);

  return (
    <div
      id="inbox"
      class="inbox"
      data-view={view.value}
      data-pane={pane.value}
      data-panel={panelOpen.value ? 'open' : 'closed'}
    >
      <Topbar />
      {view.value === 'agenda' ? (
        <Agenda />
      ) : view.value === 'follow-ups' ? (
        <FollowUps />
      ) : view.value === 'dashboard' ? (
        <Dashboard />
      ) : isManageView(view.value) ? (
        <Manage view={view.value} />
      ) : (
        <>
          <ChatList />
          {selectedId.value ? (
            <>
              <Thread />
              {(panelOpen.value || pane.value === 'contact') && <ContactPanel />}
            </>
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
