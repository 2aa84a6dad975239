import { signal } from '@preact/signals';
import { api, call, type Schemas } from '../api/client';
import { type Chat, chats, refreshChats } from '../chat-list/chats';
import { pane } from '../shell/layout';
import { clearOptInError } from '../thread/messages';

export type Note = Schemas['ContactNote'];
export type Consent = Schemas['ContactConsent'];
export type TeamMember = Schemas['TeamMember'];

/**
 * The contact panel beside the thread: open or closed on wide screens; on phones it is the third
 * stacked view (`pane` = 'contact'), reached from the thread header and left by its back button.
 */
export const panelOpen = signal(false);
export const team = signal<TeamMember[]>([]);
export const notes = signal<Note[]>([]);
export const consent = signal<Consent | null>(null);
export const panelError = signal('');

const PHONE = '(max-width: 767px)';

export function showPanel(): void {
  if (matchMedia(PHONE).matches) {
    panelOpen.value = true;
    pane.value = 'contact';
  } else {
    panelOpen.value = !panelOpen.value;
  }
}

/** Asks the consent section to bring its opt-in form into view and focus it (a count: each ask). */
export const optInFormAsked = signal(0);

/** Opens the contact panel (never closes it) at its opt-in form: the way out of a consent refusal. */
export function openOptInForm(): void {
  panelOpen.value = true;
  if (matchMedia(PHONE).matches) pane.value = 'contact';
  optInFormAsked.value += 1;
}

export function closePanel(): void {
  if (matchMedia(PHONE).matches) pane.value = 'thread';
  else panelOpen.value = false;
}

/** The customer's notes and consent, and the team for the picker: read when a contact is shown. */
let shownContact = '';

export async function loadContact(contactId: string): Promise<void> {
  shownContact = contactId;
  notes.value = [];
  consent.value = null;
  const [members, noteList, ledger] = await Promise.all([
    call(() => api.GET('/admin/team')),
    call(() => api.GET('/admin/contacts/{id}/notes', { params: { path: { id: contactId } } })),
    call(() => api.GET('/admin/contacts/{id}/opt-ins', { params: { path: { id: contactId } } })),
  ]);
  // Another chat was opened meanwhile: its customer's answers are the ones to show.
  if (contactId !== shownContact) return;
  team.value = members.items;
  // Notes the operator added while the list was on its way are newer than the list and may not be
  // in it: they stay on top instead of vanishing until the panel is opened again.
  const listed = new Set(noteList.items.map((n) => n.id));
  notes.value = [...notes.value.filter((n) => !listed.has(n.id)), ...noteList.items];
  consent.value = ledger;
}

/** The business's operators (assignment picker, the list's assignee filter). */
export async function loadTeam(): Promise<void> {
  team.value = (await call(() => api.GET('/admin/team'))).items;
}

/** Deletes one of the operator's own notes (the API refuses anyone else's). */
export async function deleteNote(contactId: string, noteId: string): Promise<void> {
  await call(() =>
    api.DELETE('/admin/contacts/{id}/notes/{note_id}', {
      params: { path: { id: contactId, note_id: noteId } },
    }),
  );
  notes.value = notes.value.filter((n) => n.id !== noteId);
}

export async function addNote(contactId: string, body: string): Promise<void> {
  const note = await call(() =>
    api.POST('/admin/contacts/{id}/notes', { params: { path: { id: contactId } }, body: { body } }),
  );
  if (contactId === shownContact) notes.value = [note, ...notes.value];
}

export async function recordOptIn(
  contactId: string,
  scope: 'marketing' | 'utility' | 'all',
  source: string,
): Promise<void> {
  const recorded = await call(() =>
    api.POST('/admin/contacts/{id}/opt-ins', {
      params: { path: { id: contactId } },
      body: { action: 'opt_in', scope, source },
    }),
  );
  if (contactId === shownContact) consent.value = recorded;
  clearOptInError();
}

/** Shows the change at once; the list's next read confirms it. */
function patchChat(id: string, change: Partial<Chat>): void {
  chats.value = chats.value.map((c) => (c.id === id ? { ...c, ...change } : c));
}

let labelChanges: Promise<unknown> = Promise.resolve();

/**
 * Changes a chat's labels. Changes run one after the other, each on the labels the one before
 * left: two quick additions must not both start from the list as it was before either.
 */
export function changeLabels(
  chatId: string,
  change: (labels: string[]) => string[],
): Promise<void> {
  const run = labelChanges.then(async () => {
    const labels = change(chats.value.find((c) => c.id === chatId)?.labels ?? []);
    const tags = await call(() =>
      api.PUT('/admin/conversations/{id}/labels', {
        params: { path: { id: chatId } },
        body: { labels },
      }),
    );
    patchChat(chatId, { labels: tags.labels });
    // A poll asked before the change may still answer: a read asked after it wins over that one.
    await refreshChats();
  });
  labelChanges = run.catch(() => {});
  return run;
}

/** Lets the AI agent answer in this chat, or keeps it out until turned on again. */
export async function setBot(chatId: string, enabled: boolean): Promise<void> {
  const state = await call(() =>
    api.PUT('/admin/conversations/{id}/bot', {
      params: { path: { id: chatId } },
      body: { enabled },
    }),
  );
  patchChat(chatId, { bot_enabled: state.bot_enabled });
  await refreshChats();
}

export async function assign(chatId: string, userId: string | null): Promise<void> {
  const tags = await call(() =>
    api.PUT('/admin/conversations/{id}/assignee', {
      params: { path: { id: chatId } },
      body: { user_id: userId },
    }),
  );
  patchChat(chatId, { assigned_user_id: tags.assigned_user_id });
  await refreshChats();
}
