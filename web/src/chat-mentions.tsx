/**
 * Mentions in the chat view: `@` completion in the composer (a listbox of members, arrow keys,
 * Enter/Tab or a click to insert), mentions highlighted in bubbles (the reader's own stands out),
 * and the per-chat notification setting in the header. The server resolves mentions; this only
 * shows `Message.mentions` and helps write `@username`.
 */
import type { ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import type { Conversation, Message } from '../../src/client/index.js';
import { insertMention, type Mentionable, mentionCandidates, mentionQueryAt } from '../../src/client/mentions.js';
import { LinkedText } from './chat-extras.js';
import { showError } from './errors.js';
import { formatTime, t } from './i18n.js';
import { api } from './state/client.js';
import { rememberUsers, userName } from './state/loaders.js';
import { notificationsChanged } from './state/reducers.js';
import { apply, getState, useStore } from './state/state.js';

const TOKEN = /(^|[^\p{L}\p{M}\p{N}_.@-])(@[\p{L}\p{M}\p{N}_.-]+)/gu;
const EVERYONE = '*';

/** A text message's content with its resolved mentions highlighted (links still linked). */
export function MentionText({ message }: { message: Message }) {
  const s = useStore();
  const mentions = message.mentions;
  if (!mentions) return <LinkedText text={message.content} />;
  const me = s.me?.id ?? '';
  // Usernames of the mentioned members (userName loads anyone not known yet).
  const byName = new Map<string, string>();
  for (const id of mentions.userIds) {
    userName(id);
    const user = s.users[id];
    if (user) byName.set(user.username.toLowerCase(), id);
  }
  if (mentions.all) byName.set('all', EVERYONE);
  const parts: ComponentChildren[] = [];
  let last = 0;
  for (const match of message.content.matchAll(TOKEN)) {
    const token = match[2] ?? '';
    const start = (match.index ?? 0) + (match[1] ?? '').length;
    const name = token.slice(1).toLowerCase();
    const id = byName.get(name) ?? byName.get(name.replace(/[.-]+$/, ''));
    if (id === undefined) continue;
    const length = byName.has(name) ? token.length : token.replace(/[.-]+$/, '').length;
    parts.push(<LinkedText text={message.content.slice(last, start)} />);
    const mine = message.senderId !== me && (id === me || id === EVERYONE);
    parts.push(<span class={`mention ${mine ? 'me' : ''}`}>{message.content.slice(start, start + length)}</span>);
    last = start + length;
  }
  parts.push(<LinkedText text={message.content.slice(last)} />);
  return <>{parts}</>;
}

/** The members offered after `@`: a group's members (loaded once per chat), or the two people of a private chat. */
async function loadMentionables(conversation: Conversation): Promise<Mentionable[]> {
  if (!conversation.group) {
    const me = getState().me;
    return [...(conversation.peer ? [conversation.peer] : []), ...(me ? [me] : [])];
  }
  const users = await api.conversations.mentionables(conversation.group.id);
  rememberUsers(users);
  return [{ id: EVERYONE, username: 'all', nickname: t('mentionEveryone') }, ...users];
}

/**
 * `@` completion for the composer's textarea: call `onInput` with the text and caret after every
 * change, let `onKeyDown` handle a key first (true: it did), and render `listbox` above the composer.
 */
export function useMentionCompletion(conversation: Conversation | undefined, setText: (text: string, caret: number) => void) {
  const [members, setMembers] = useState<Mentionable[] | null>(null);
  const [loadedFor, setLoadedFor] = useState<string | null>(null);
  const [query, setQuery] = useState<{ start: number; prefix: string; text: string } | null>(null);
  const [active, setActive] = useState(0);
  const me = getState().me?.id;
  // Members load on the first `@`, or as soon as the conversation itself is known (right after a reload it may not be yet).
  const conversationId = conversation?.id;
  useEffect(() => {
    if (!query || !conversation || loadedFor === conversation.id) return;
    setLoadedFor(conversation.id);
    loadMentionables(conversation).then(setMembers, showError);
  }, [query !== null, conversationId, loadedFor]);
  const list = conversation && loadedFor === conversation.id && members && query ? mentionCandidates(members, query.prefix, { exceptUserId: me }) : [];
  const open = list.length > 0;
  const choose = (member: Mentionable) => {
    if (!query) return;
    const next = insertMention(query.text, query, member.username);
    setQuery(null);
    setText(next.text, next.caret);
  };
  return {
    onInput(text: string, caret: number) {
      const found = mentionQueryAt(text, caret);
      setQuery(found ? { ...found, text } : null);
      setActive(0);
    },
    onKeyDown(event: KeyboardEvent): boolean {
      if (!open) return false;
      if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
        event.preventDefault();
        setActive((active + (event.key === 'ArrowDown' ? 1 : list.length - 1)) % list.length);
        return true;
      }
      if ((event.key === 'Enter' && !event.shiftKey) || event.key === 'Tab') {
        event.preventDefault();
        const member = list[active];
        if (member) choose(member);
        return true;
      }
      if (event.key === 'Escape') {
        setQuery(null);
        return true;
      }
      return false;
    },
    /**
     * Attributes for the textarea: it stays a textbox (a combobox role would rename the composer for
     * assistive technology) that controls the list and points at the active option.
     */
    inputProps: {
      'aria-autocomplete': 'list' as const,
      'aria-controls': open ? 'mention-list' : undefined,
      'aria-activedescendant': open ? `mention-${active}` : undefined,
    },
    listbox: open ? (
      <div class="mention-list" id="mention-list" role="listbox" aria-label={t('mentionSuggestions')}>
        {list.map((member, index) => (
          <div
            id={`mention-${index}`}
            role="option"
            tabIndex={-1}
            aria-selected={index === active}
            class={index === active ? 'active' : ''}
            // mousedown, not click: the textarea keeps its focus and caret.
            onMouseDown={(event) => {
              event.preventDefault();
              choose(member);
            }}
          >
            <strong>@{member.username}</strong> <span class="muted small">{member.nickname}</span>
          </div>
        ))}
      </div>
    ) : null,
  };
}

type Choice = 'all' | 'mentions' | 'mute1h' | 'mute8h' | 'muteForever' | 'current';

/** The chat header's notification setting: all, mentions only, mute for 1 h / 8 h / until changed. */
export function NotificationMenu({ conversation }: { conversation: Conversation }) {
  const setting = conversation.notifications;
  const value: Choice = setting.until ? 'current' : setting.level === 'none' ? 'muteForever' : setting.level;
  const change = (choice: Choice) => {
    const hours = choice === 'mute1h' ? 1 : choice === 'mute8h' ? 8 : 0;
    const body =
      choice === 'all' || choice === 'mentions'
        ? { level: choice }
        : hours > 0
          ? { level: 'none' as const, until: new Date(Date.now() + hours * 3_600_000).toISOString() }
          : { level: 'none' as const };
    api.conversations.setNotifications(conversation.id, body).then((next) => apply((s) => notificationsChanged(s, conversation.id, next)), showError);
  };
  return (
    <label class="notify-menu">
      <span class="sr-only">{t('notifyLevel')}</span>
      {/* Each option starts with its mark, so a narrow select on a phone still shows which is on. */}
      <select value={value} title={t('notifyLevel')} onChange={(event) => change(event.currentTarget.value as Choice)}>
        {setting.until && (
          <option value="current">
            {setting.level === 'none' ? '🔕' : '@'} {t(setting.level === 'none' ? 'silencedUntil' : 'mentionsUntil', { time: formatTime(setting.until) })}
          </option>
        )}
        <option value="all">🔔 {t('notifyAll')}</option>
        <option value="mentions">@ {t('notifyMentions')}</option>
        <option value="mute1h">🔕 {t('mute1h')}</option>
        <option value="mute8h">🔕 {t('mute8h')}</option>
        <option value="muteForever">🔕 {t('muteForever')}</option>
      </select>
    </label>
  );
}

/** The conversation list's marks: an "@" badge for unread mentions, a bell for a quieted chat. */
export function ConversationMarks({ conversation }: { conversation: Conversation }) {
  const { unreadMentionCount, notifications } = conversation;
  const count = unreadMentionCount >= 100 ? '99+' : String(unreadMentionCount);
  return (
    <>
      {notifications.level !== 'all' && (
        <span
          class="muted-mark"
          role="img"
          aria-label={notifications.level === 'none' ? t('muted') : t('mentionsOnlyIcon')}
          title={notifications.level === 'none' ? t('muted') : t('mentionsOnlyIcon')}
        >
          🔕
        </span>
      )}
      {unreadMentionCount > 0 && (
        <span class="badge mention-badge" role="img" aria-label={t('mentionsBadge', { n: count })}>
          @
        </span>
      )}
    </>
  );
}
