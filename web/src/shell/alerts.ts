import { signal } from '@preact/signals';
import type { Chat } from '../chat-list/chats';
import { selectedId } from '../chat-list/chats';
import { t } from '../i18n/i18n';
import { openChat } from '../thread/open';

/**
 * Alerts for what needs an operator while they look elsewhere: a new chat, and a chat the AI or a
 * customer's keyword handed over to a person. Sound and desktop notifications are each off until
 * the operator switches them on (remembered in this browser); the browser's permission is asked
 * only then. The tab's title flashes for a handoff whatever the choice.
 */

const STORAGE_KEY = 'switchboard.alerts';

type Choice = { sound: boolean; desktop: boolean };

function stored(): Choice {
  try {
    const saved = JSON.parse(localStorage.getItem(STORAGE_KEY) ?? '{}') as Partial<Choice>;
    return { sound: saved.sound === true, desktop: saved.desktop === true };
  } catch {
    return { sound: false, desktop: false };
  }
}

export const alertChoice = signal<Choice>(stored());
/** The browser refused notifications: said beside the switch. */
export const alertsBlocked = signal(false);
/** A handoff the operator has not looked at yet: the title flashes until the page is looked at. */
export const handoffWaiting = signal<string | null>(null);

export async function chooseAlerts(change: Partial<Choice>): Promise<void> {
  const next = { ...alertChoice.value, ...change };
  if (change.desktop && 'Notification' in window && Notification.permission !== 'granted') {
    const permission = await Notification.requestPermission();
    alertsBlocked.value = permission !== 'granted';
    if (permission !== 'granted') next.desktop = false;
  }
  if (change.desktop === false) alertsBlocked.value = false;
  alertChoice.value = next;
  localStorage.setItem(STORAGE_KEY, JSON.stringify(next));
}

/** Handed over to a person by the AI (escalation) or by the customer's keyword, not by a person. */
const isHandoff = (chat: Chat) =>
  chat.is_locked && (chat.locked_by === 'escalation' || chat.locked_by === 'keyword');

/** What the list looked like at the previous poll; null before the first (nothing is new then). */
let previous: Map<string, Chat> | null = null;
let sinceFilters = '';

/** Forgets the last list: after a filter change, chats new to the list are not new chats. */
export function forgetSeenChats(): void {
  previous = null;
}

/**
 * Compares a poll's list with the one before and alerts for chats that appeared with a customer
 * message, and for chats newly handed over. The operator's own actions (a take-over, a reply) are
 * neither. Nothing is said about the chat the operator is looking at in a focused tab.
 */
export function noticeChanges(list: Chat[], filters: string): void {
  const before = filters === sinceFilters ? previous : null;
  sinceFilters = filters;
  previous = new Map(list.map((c) => [c.id, c]));
  if (!before) return;
  // Chats further down ("Load more") are not new: a new chat's message is newer than any before.
  const newest = Math.max(
    0,
    ...[...before.values()].map((c) => Date.parse(c.timestamp ?? '') || 0),
  );
  const away = document.hidden || !document.hasFocus();
  for (const chat of list) {
    const was = before.get(chat.id);
    const watching = chat.id === selectedId.value && document.hasFocus() && !document.hidden;
    if (watching) continue;
    if (isHandoff(chat) && !(was && isHandoff(was))) {
      if (away) handoffWaiting.value = chat.display_name;
      alert(t('alertHandoff', { name: chat.display_name }), chat, 2);
    } else if (!was && chat.last_sender === 'user' && Date.parse(chat.timestamp ?? '') > newest) {
      alert(t('alertNewChat', { name: chat.display_name }), chat, 1);
    }
  }
}

function alert(text: string, chat: Chat, beeps: number): void {
  const choice = alertChoice.value;
  if (choice.desktop && 'Notification' in window && Notification.permission === 'granted') {
    const notification = new Notification(text, { body: chat.last_message ?? '', tag: chat.id });
    notification.onclick = () => {
      window.focus();
      void openChat(chat.id);
    };
  }
  if (choice.sound) beep(beeps);
}

/** A short tone from Web Audio: no sound file to ship. */
function beep(times: number): void {
  try {
    const audio = new AudioContext();
    for (let i = 0; i < times; i++) {
      const tone = audio.createOscillator();
      const gain = audio.createGain();
      tone.frequency.value = 880;
      gain.gain.value = 0.1;
      tone.connect(gain).connect(audio.destination);
      tone.start(audio.currentTime + i * 0.25);
      tone.stop(audio.currentTime + i * 0.25 + 0.15);
    }
  } catch {
    // No audio (autoplay refused before the first click): the title and notification still say it.
  }
}
