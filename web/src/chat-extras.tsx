/**
 * What a conversation view shows around its bubbles: system lines for group events, date
 * separators, grouped times, links in text, the "new messages" divider and jumping to a message.
 */
import type { ComponentChildren } from 'preact';
import type { Message } from '../../src/client/index.js';
import { language, type StringKey, t } from './i18n.js';
import { loadMessages, userName } from './state/loaders.js';
import { getState } from './state/state.js';

type SystemEvent = NonNullable<Message['system']>;

const SYSTEM_TEXT: Record<SystemEvent['kind'], StringKey> = {
  group_created: 'sysCreated',
  member_added: 'sysAdded',
  member_joined: 'sysJoined',
  member_removed: 'sysRemoved',
  member_left: 'sysLeft',
  role_changed: 'sysRole',
  group_dissolved: 'sysDissolved',
  message_removed: 'sysMessageRemoved',
};

const ROLE_TEXT: Record<NonNullable<SystemEvent['role']>, StringKey> = { owner: 'owner', admin: 'admin', member: 'member' };

/** A group event in the reader's language, from its data ("you" for the reader). */
export function systemText(event: SystemEvent): string {
  const me = getState().me?.id;
  const name = (id: string) => (id === me ? t('you') : userName(id));
  // "You" opens an English sentence; anywhere else it is "you".
  const named = (id: string) => (id === me && language() === 'en' ? t('you').toLowerCase() : name(id));
  const users = event.userIds.map(named).join(language() === 'zh' ? '、' : ', ');
  const role = event.role ? (language() === 'zh' ? t(ROLE_TEXT[event.role]) : t(ROLE_TEXT[event.role]).toLowerCase()) : '';
  // An heir taking over from an owner who left: nobody "made" them owner.
  if (event.kind === 'role_changed' && event.userIds.length === 1 && event.userIds[0] === event.actorId) return t('sysRoleSelf', { users, role });
  return t(SYSTEM_TEXT[event.kind], { actor: name(event.actorId), users, role });
}

/** A centered line for a `system` message. */
export function SystemLine({ message }: { message: Message }) {
  return (
    <li class="system-line" data-message-id={message.id}>
      <span class="small muted">{message.system ? systemText(message.system) : t('groupEvent')}</span>
    </li>
  );
}

const locale = () => (language() === 'zh' ? 'zh-CN' : 'en');
const dayKey = (iso: string) => new Date(iso).toDateString();

/** "Today", "Yesterday", or the date in the reader's language (with the year when it is not this one). */
export function dayLabel(iso: string, now = new Date()): string {
  const date = new Date(iso);
  const yesterday = new Date(now);
  yesterday.setDate(now.getDate() - 1);
  if (date.toDateString() === now.toDateString()) return t('today');
  if (date.toDateString() === yesterday.toDateString()) return t('yesterday');
  return date.toLocaleDateString(locale(), {
    weekday: 'short',
    month: 'long',
    day: 'numeric',
    ...(date.getFullYear() === now.getFullYear() ? {} : { year: 'numeric' }),
  });
}

/** A new day starts at this message (or it is the first one loaded). */
export const startsDay = (previous: Message | undefined, message: Message): boolean => !previous || dayKey(previous.createdAt) !== dayKey(message.createdAt);

/** Messages of one sender this close together show one time, under the last of them. */
const GROUP_WINDOW_MS = 5 * 60_000;
export function endsRun(message: Message, next: Message | undefined): boolean {
  if (!next || next.senderId !== message.senderId || next.type === 'system' || message.type === 'system') return true;
  if (dayKey(next.createdAt) !== dayKey(message.createdAt)) return true;
  return Date.parse(next.createdAt) - Date.parse(message.createdAt) > GROUP_WINDOW_MS;
}

export function Separator({ children, kind }: { children: ComponentChildren; kind: 'day' | 'unread' }) {
  return (
    <li class={`separator ${kind}`}>
      <span>{children}</span>
    </li>
  );
}

/** The time of a message, in the reader's language (the date is in the separator above it). */
export function clockTime(iso: string): string {
  return new Date(iso).toLocaleTimeString(locale(), { hour: '2-digit', minute: '2-digit' });
}

const URL_PATTERN = /\bhttps?:\/\/[^\s<>"'`]+/gi;
/** Punctuation that ends a sentence more often than a link. */
const TRAILING = /[.,;:!?)\]}'"，。；：！？）】]+$/;

/**
 * Text with its http(s) links as anchors: built as elements (never HTML), opened in a new tab
 * that cannot reach back to this one, and not vouched for to search engines.
 */
export function LinkedText({ text }: { text: string }) {
  const parts: ComponentChildren[] = [];
  let last = 0;
  for (const match of text.matchAll(URL_PATTERN)) {
    const start = match.index ?? 0;
    const raw = match[0];
    const url = raw.replace(TRAILING, '');
    if (!isHttpUrl(url)) continue;
    parts.push(text.slice(last, start));
    parts.push(
      <a href={url} target="_blank" rel="noopener noreferrer nofollow">
        {url}
      </a>,
    );
    last = start + url.length;
  }
  parts.push(text.slice(last));
  return <>{parts}</>;
}

function isHttpUrl(text: string): boolean {
  try {
    const url = new URL(text);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
}

/** The first message after the reader's read position that someone else sent, if any is unread. */
export function firstUnreadId(items: readonly Message[], readUpTo: string | null, me: string): string | null {
  if (readUpTo === null) return null;
  const after = BigInt(readUpTo);
  return items.find((m) => m.senderId !== me && BigInt(m.id) > after)?.id ?? null;
}

const nextFrame = () => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)));

/**
 * Scrolls a message into the middle of the view and highlights it for a moment, loading older
 * pages until it is there (at most 40 pages, 1,200 messages). Returns whether it was found.
 */
export async function jumpToMessage(container: HTMLElement | null, conversationId: string, messageId: string): Promise<boolean> {
  for (let pages = 0; pages <= 40 && container; pages++) {
    const element = container.querySelector<HTMLElement>(`li[data-message-id="${CSS.escape(messageId)}"]`);
    if (element) {
      element.scrollIntoView({ block: 'center' });
      // An attribute the renderer does not own: a re-render leaves it alone until it is removed.
      element.dataset.flash = 'true';
      setTimeout(() => delete element.dataset.flash, 2500);
      return true;
    }
    const list = getState().messages[conversationId];
    if (!list || list.nextCursor === null) return false;
    await loadMessages(conversationId, true);
    await nextFrame();
  }
  return false;
}
