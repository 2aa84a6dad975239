import { signal } from '@preact/signals';

/** The inbox or the agenda (the inbox keeps polling behind the agenda). */
export const view = signal<'inbox' | 'agenda'>('inbox');

/**
 * On a phone (below 768 px) the list and the thread are stacked views: which one shows. On wider
 * screens both show side by side and this only remembers the last one.
 */
export const pane = signal<'list' | 'thread'>('list');
