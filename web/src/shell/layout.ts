import { effect, signal } from '@preact/signals';

/**
 * The view on screen: the inbox, the agenda, the follow-ups, the dashboard, or one of the owners' and admins'
 * screens (settings, knowledge base, failed webhooks). The inbox keeps polling behind the others.
 * The view is in the address (`#settings`), so a reload or a shared link opens the same screen.
 */
const VIEWS = [
  'inbox',
  'agenda',
  'follow-ups',
  'dashboard',
  'settings',
  'knowledge',
  'canned',
  'webhooks',
] as const;
export type View = (typeof VIEWS)[number];

/** The screens only owners and admins use, under the topbar's one "Settings" entry. */
export const MANAGE_VIEWS = ['settings', 'knowledge', 'canned', 'webhooks'] as const;
export type ManageView = (typeof MANAGE_VIEWS)[number];
export const isManageView = (v: View): v is ManageView =>
  (MANAGE_VIEWS as readonly string[]).includes(v);

export const viewFromAddress = (): View => VIEWS.find((v) => location.hash === `#${v}`) ?? 'inbox';

export const view = signal<View>(viewFromAddress());

// A hash that is not a view (an Auth redirect's tokens) is left for its reader.
const isViewHash = (hash: string) => hash === '' || VIEWS.some((v) => hash === `#${v}`);
effect(() => {
  const hash = view.value === 'inbox' ? '' : `#${view.value}`;
  if (location.hash === hash || (hash === '' && !isViewHash(location.hash))) return;
  history.replaceState(null, '', `${location.pathname}${location.search}${hash}`);
});
addEventListener('hashchange', () => {
  view.value = viewFromAddress();
});

/**
 * On a phone (below 768 px) the list, the thread and the contact panel are stacked views: which
 * one shows. On wider screens they show side by side and this only remembers the last one.
 */
export const pane = signal<'list' | 'thread' | 'contact'>('list');
