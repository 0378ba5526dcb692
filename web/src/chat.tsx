import { useEffect, useLayoutEffect, useMemo, useRef, useState } from 'preact/hooks';
import type { Conversation, Message } from '../../src/client/index.js';
import { formatCallDuration } from '../../src/contract/calls.text.js';
import { startCall } from './calls.js';
import { clockTime, dayLabel, endsRun, firstUnreadId, jumpToMessage, Separator, SystemLine, startsDay, systemText } from './chat-extras.js';
import { ConversationMarks, MentionText, NotificationMenu, useMentionCompletion } from './chat-mentions.js';
import { ForwardedLabel, PinForwardActions, PinnedBar } from './chat-pins.js';
import { LinkPreviewCard } from './chat-preview.js';
import { ChatSearch } from './chat-search.js';
import { EMOJI, QUICK_REACTIONS } from './emoji.js';
import { showError } from './errors.js';
import { AttachmentView, type PendingUpload, UploadBar, uploadAndSend } from './files.js';
import { formatTime, type StringKey, t } from './i18n.js';
import { NewChatDialog } from './new-chat.js';
import { PeerLink } from './peer-link.js';
import { ReportDialog } from './report-dialog.js';
import { SmartReplies } from './smart-replies.js';
import { markRead, replaceMessage, sendMessage, typingNotifier } from './state/actions.js';
import { api } from './state/client.js';
import { loadMessages, loadReadPositions, userName } from './state/loaders.js';
import { compareIds } from './state/reducers.js';
import { navigate } from './state/router.js';
import { update, useStore } from './state/state.js';
import { Avatar, useAction, useConfirm } from './ui.js';

export function conversationTitle(conversation: Conversation): string {
  if (conversation.group) return conversation.group.name;
  if (conversation.peer) return conversation.peer.nickname || conversation.peer.username;
  return conversation.id;
}

type CallSummary = NonNullable<Message['call']>;
const CALL_TEXT: Record<CallSummary['media'], Record<CallSummary['state'], StringKey>> = {
  audio: { ended: 'callAudioEnded', missed: 'callAudioMissed', rejected: 'callAudioRejected', cancelled: 'callAudioCancelled', busy: 'callAudioBusy' },
  video: { ended: 'callVideoEnded', missed: 'callVideoMissed', rejected: 'callVideoRejected', cancelled: 'callVideoCancelled', busy: 'callVideoBusy' },
};

/** A call message in the reader's language, from its data (`content` is the server's English fallback). */
export function callText(call: CallSummary): string {
  const text = t(CALL_TEXT[call.media][call.state], { duration: formatCallDuration(call.durationSec) });
  return call.count > 1 ? t('callFolded', { text, count: call.count }) : text;
}

export function preview(message: Message | null): string {
  if (!message) return '';
  if (message.recalledAt) return t('recalled');
  if (message.type === 'image') return t('image');
  if (message.type === 'file') return t('file');
  if (message.type === 'call') return message.call ? callText(message.call) : message.content || t('call');
  if (message.type === 'system') return message.system ? systemText(message.system) : t('groupEvent');
  return message.content;
}

export function ChatList() {
  const s = useStore();
  const open = /^\/chats\/([^/]+)$/.exec(s.route)?.[1];
  const [starting, setStarting] = useState(false);
  return (
    <section class="list" aria-label={t('chats')}>
      <header class="bar">
        <h2>{t('chats')}</h2>
        <button type="button" class="new-chat-button" onClick={() => setStarting(true)}>
          {t('newChat')}
        </button>
      </header>
      {starting && <NewChatDialog onClose={() => setStarting(false)} />}
      {s.conversations.length === 0 && <p class="muted pad">{t('noChats')}</p>}
      <ul class="rows" data-testid="conversation-list">
        {s.conversations.map((c) => {
          const title = conversationTitle(c);
          return (
            <li key={c.id}>
              <a
                class={`row ${open && decodeURIComponent(open) === c.id ? 'current' : ''}`}
                aria-current={open && decodeURIComponent(open) === c.id ? 'page' : undefined}
                href={`/chats/${encodeURIComponent(c.id)}`}
                data-conversation={c.id}
                onClick={(event) => {
                  event.preventDefault();
                  navigate(`/chats/${encodeURIComponent(c.id)}`);
                }}
              >
                <Avatar name={title} url={c.peer?.avatarUrl} status={c.peer ? (s.presence[c.peer.id] ?? 'offline') : undefined} />
                <span class="row-main">
                  <span class="row-top">
                    <span class="name">{title}</span>
                    {/* The presence dot's colour, in words. */}
                    {c.peer && <span class="sr-only">{t(s.presence[c.peer.id] ?? 'offline')}</span>}
                    {c.lastMessage && <time class="muted small">{formatTime(c.lastMessage.createdAt)}</time>}
                  </span>
                  <span class="row-bottom">
                    <span class="preview muted">{preview(c.lastMessage)}</span>
                    <ConversationMarks conversation={c} />
                    {c.unreadCount > 0 && (
                      // The server counts at most 100 (UNREAD_COUNT_CAP): 100 means "more than 99".
                      <span class="badge" role="img" aria-label={`${c.unreadCount >= 100 ? '99+' : c.unreadCount} unread`}>
                        {c.unreadCount >= 100 ? '99+' : c.unreadCount}
                      </span>
                    )}
                  </span>
                </span>
              </a>
            </li>
          );
        })}
      </ul>
    </section>
  );
}

function EmojiPicker({ onPick, label }: { onPick: (emoji: string) => void; label: string }) {
  return (
    <div class="emoji-grid" role="group" aria-label={label}>
      {EMOJI.map((emoji) => (
        <button type="button" class="emoji" aria-label={emoji} onClick={() => onPick(emoji)}>
          {emoji}
        </button>
      ))}
    </div>
  );
}

interface BubbleProps {
  message: Message;
  mine: boolean;
  showSender: boolean;
  replyTo: Message | undefined;
  receipt: string | null;
  /** The last of a run of one sender's messages close together: it alone shows the time. */
  showTime: boolean;
  onReply: () => void;
  onEdit: () => void;
  onJump: (messageId: string) => void;
}

function Bubble({ message, mine, showSender, replyTo, receipt, showTime, onReply, onEdit, onJump }: BubbleProps) {
  const s = useStore();
  const [menu, setMenu] = useState(false);
  const [picker, setPicker] = useState(false);
  const [reporting, setReporting] = useState(false);
  // In groups only the owner and admins pin and remove others' messages: members are not offered what the server refuses.
  const inGroup = message.conversationId.startsWith('g.');
  const myRole = s.conversations.find((c) => c.id === message.conversationId)?.myRole;
  const moderator = inGroup && (myRole === 'owner' || myRole === 'admin');
  // The last message's menu opens below the fold on a phone: bring it (and the reactions) into view.
  const menuRef = useRef<HTMLDivElement>(null);
  useEffect(() => menuRef.current?.scrollIntoView({ block: 'nearest' }), [menu, picker]);
  const { run } = useAction();
  const { confirm, dialog } = useConfirm();
  const recalled = !!message.recalledAt;
  const toggleReaction = (emoji: string) =>
    run(async () => {
      const reacted = message.reactions.find((r) => r.emoji === emoji)?.userIds.includes(s.me?.id ?? '');
      replaceMessage(reacted ? await api.messages.unreact(message.id, emoji) : await api.messages.react(message.id, emoji));
      setPicker(false);
      setMenu(false);
    });
  return (
    <li class={`msg ${mine ? 'mine' : ''} ${message.type === 'system' ? 'system' : ''}`} data-message-id={message.id}>
      {showSender && !mine && <span class="sender small muted">{userName(message.senderId)}</span>}
      <div class="bubble-line">
        <div class={`bubble ${recalled ? 'recalled' : ''} ${message.type === 'emoji' ? 'big-emoji' : ''}`}>
          <ForwardedLabel message={message} />
          {message.replyToId && !recalled && (
            // Named by what it quotes (a label would hide the quoted text from a screen reader); the title says what it does.
            <button type="button" class="quote small" title={t('jumpToQuoted')} onClick={() => message.replyToId && onJump(message.replyToId)}>
              {replyTo ? (
                <>
                  <strong>{userName(replyTo.senderId)}</strong> {replyTo.recalledAt ? t('recalled') : preview(replyTo)}
                </>
              ) : (
                t('quotedMessage')
              )}
            </button>
          )}
          {!recalled && message.attachments.map((attachment) => <AttachmentView attachment={attachment} />)}
          {(recalled || message.attachments.length === 0) && (
            <span class="content">
              {recalled ? t('recalled') : message.type === 'call' ? `📞 ${message.call ? callText(message.call) : message.content}` : <MentionText message={message} />}
            </span>
          )}
          {message.editedAt && !recalled && <span class="small muted"> ({t('edited')})</span>}
          {message.preview && !recalled && <LinkPreviewCard preview={message.preview} />}
        </div>
        {!recalled && message.type !== 'system' && (
          <button type="button" class="icon more" aria-label={t('actions')} aria-expanded={menu} onClick={() => setMenu(!menu)}>
            ⋯
          </button>
        )}
      </div>
      {message.reactions.length > 0 && (
        <div class="reactions">
          {message.reactions.map((r) => (
            <button
              type="button"
              class={`chip ${r.userIds.includes(s.me?.id ?? '') ? 'on' : ''}`}
              aria-pressed={r.userIds.includes(s.me?.id ?? '')}
              aria-label={`${r.emoji} ${r.count}`}
              onClick={() => void toggleReaction(r.emoji)}
            >
              {r.emoji} {r.count}
            </button>
          ))}
        </div>
      )}
      {menu && (
        <div class="actions" role="group" aria-label={t('actions')} ref={menuRef}>
          <button type="button" onClick={() => (setMenu(false), onReply())}>
            {t('reply')}
          </button>
          <button type="button" aria-expanded={picker} onClick={() => setPicker(!picker)}>
            {t('react')}
          </button>
          <PinForwardActions message={message} canPin={!inGroup || moderator} onDone={() => setMenu(false)} />
          {mine && message.type === 'text' && (
            <button type="button" onClick={() => (setMenu(false), onEdit())}>
              {t('edit')}
            </button>
          )}
          {mine && (
            <button
              type="button"
              class="danger"
              onClick={() =>
                confirm({
                  question: t('confirmRecall'),
                  detail: t('confirmRecallDetail'),
                  confirmLabel: t('recall'),
                  onConfirm: () => run(async () => (replaceMessage(await api.messages.recall(message.id)), setMenu(false))),
                })
              }
            >
              {t('recall')}
            </button>
          )}
          {!mine && moderator && (
            <button
              type="button"
              class="danger"
              onClick={() =>
                confirm({
                  question: t('confirmRemoveMessage'),
                  detail: t('confirmRemoveMessageDetail'),
                  confirmLabel: t('removeMessage'),
                  onConfirm: () => run(async () => (replaceMessage(await api.messages.recall(message.id)), setMenu(false))),
                })
              }
            >
              {t('removeMessage')}
            </button>
          )}
          {!mine && (
            <button type="button" onClick={() => (setMenu(false), setReporting(true))}>
              {t('report')}
            </button>
          )}
        </div>
      )}
      {reporting && <ReportDialog target={{ messageId: message.id }} onClose={() => setReporting(false)} />}
      {menu && picker && (
        <div class="quick-reactions" role="group" aria-label={t('react')}>
          {QUICK_REACTIONS.map((emoji) => (
            <button type="button" class="emoji" aria-label={emoji} onClick={() => void toggleReaction(emoji)}>
              {emoji}
            </button>
          ))}
        </div>
      )}
      {(showTime || receipt) && (
        <span class="meta small muted">
          {showTime && <time dateTime={message.createdAt}>{clockTime(message.createdAt)}</time>}
          {receipt && (
            <span class="receipt" data-testid="receipt">
              {' '}
              · {receipt}
            </span>
          )}
        </span>
      )}
      {dialog}
    </li>
  );
}

export function ConversationView({ conversationId }: { conversationId: string }) {
  const s = useStore();
  const conversation = s.conversations.find((c) => c.id === conversationId);
  const list = s.messages[conversationId];
  const scroller = useRef<HTMLDivElement>(null);
  const input = useRef<HTMLTextAreaElement>(null);
  const [text, setText] = useState('');
  const [replyTo, setReplyTo] = useState<Message | null>(null);
  const [editing, setEditing] = useState<Message | null>(null);
  const [emojiOpen, setEmojiOpen] = useState(false);
  const [searching, setSearching] = useState(false);
  // Where the "new messages" divider goes: the read position as it was when the chat was opened, taken
  // the first time the conversation is known (opened by its address, the list arrives after the page).
  const readAtOpenRef = useRef<string | null | undefined>(undefined);
  if (readAtOpenRef.current === undefined && conversation) {
    readAtOpenRef.current = conversation.unreadCount > 0 ? (conversation.lastReadMessageId ?? '0') : null;
  }
  const readAtOpen = readAtOpenRef.current ?? null;
  // The draft put aside while a message is edited; cancelling the edit brings it back.
  const draft = useRef('');
  // Where the caret goes once the text it was computed for has rendered (after an emoji is inserted).
  const caret = useRef<number | null>(null);
  const [uploads, setUploads] = useState<PendingUpload[]>([]);
  const [dragging, setDragging] = useState(false);
  const startUploads = (files: FileList | null | undefined) => {
    for (const file of files ? [...files] : []) {
      let key: string | undefined;
      uploadAndSend(file, conversationId, (upload) => {
        key ??= upload?.key;
        setUploads((list) => (upload ? [...list.filter((u) => u.key !== upload.key), upload] : list.filter((u) => u.key !== key)));
      });
    }
    stickToBottom.current = true;
  };
  const { busy, run } = useAction();
  const typing = useMemo(() => typingNotifier(conversationId), [conversationId]);
  // Where the view was before older messages were prepended, to keep the reader's place.
  const anchor = useRef<{ height: number; top: number } | null>(null);
  const stickToBottom = useRef(true);
  const lastTop = useRef(0);

  useEffect(() => {
    loadMessages(conversationId, false).catch(showError);
    // Who read what before this page loaded (the conversation list carries only a private chat's peer position).
    loadReadPositions(conversationId).catch(() => {});
    if (!conversation) api.conversations.get(conversationId).then(addConversation, () => navigate('/chats', true));
    return () => typing.stop();
  }, [conversationId]);

  const items = list?.items ?? [];
  const lastId = items.at(-1)?.id;
  useEffect(() => {
    // Not before the conversation is known: its read position at open (the divider's place) is taken
    // from it, and a read sent first would move that position before the page saw it.
    if (lastId && conversation && document.visibilityState === 'visible') markRead(conversationId);
  }, [lastId, conversation?.unreadCount]);

  useLayoutEffect(() => {
    const el = scroller.current;
    if (!el) return;
    if (anchor.current) {
      el.scrollTop = el.scrollHeight - anchor.current.height + anchor.current.top;
      anchor.current = null;
    } else if (stickToBottom.current) el.scrollTop = el.scrollHeight;
  }, [items.length, items[0]?.id, lastId, Object.keys(s.typing[conversationId] ?? {}).length]);

  // The list shrinks when something opens under it (emoji picker, smart replies, a reply bar, the
  // phone keyboard) and grows as images load: a reader at the bottom stays at the newest message.
  useEffect(() => {
    const el = scroller.current;
    const content = el?.firstElementChild?.nextElementSibling;
    if (!el || !content) return;
    const keepBottom = new ResizeObserver(() => {
      if (stickToBottom.current && !anchor.current) el.scrollTop = el.scrollHeight;
    });
    keepBottom.observe(el);
    keepBottom.observe(content);
    return () => keepBottom.disconnect();
  }, []);
  const jump = (messageId: string) => {
    stickToBottom.current = false;
    void jumpToMessage(scroller.current, conversationId, messageId);
  };

  const onScroll = () => {
    const el = scroller.current;
    if (!el) return;
    // Only the reader scrolling up lets go of the bottom: content growing under them (an image
    // loading, reported in the same frame as the scroll) leaves scrollTop where it was.
    const nearBottom = el.scrollHeight - el.scrollTop - el.clientHeight < 60;
    if (el.scrollTop < lastTop.current - 1 || nearBottom) stickToBottom.current = nearBottom;
    lastTop.current = el.scrollTop;
    if (el.scrollTop < 80 && list && list.nextCursor && !list.loading) {
      anchor.current = { height: el.scrollHeight, top: el.scrollTop };
      loadMessages(conversationId, true).catch(showError);
    }
  };

  const unreadFrom = useMemo(() => firstUnreadId(items, readAtOpen, s.me?.id ?? ''), [items, readAtOpen]);
  const byId = useMemo(() => new Map(items.map((m) => [m.id, m])), [items]);
  const me = s.me?.id ?? '';
  const readers = s.readBy[conversationId] ?? {};
  // Receipt under my newest message only: "Read" (private) or "Read by n" (group), else "Sent".
  const myLast = [...items].reverse().find((m) => m.senderId === me && !m.recalledAt);
  const receiptFor = (message: Message): string | null => {
    if (message !== myLast) return null;
    const count = Object.entries(readers).filter(([userId, id]) => userId !== me && compareIds(id, message.id) >= 0).length;
    if (count === 0) return t('sent');
    return conversation?.type === 'group' ? t('readBy', { n: count }) : t('read');
  };
  const typers = Object.keys(s.typing[conversationId] ?? {}).filter((id) => id !== me);
  const title = conversation ? conversationTitle(conversation) : '…';
  const peer = conversation?.peer;

  const stopEditing = () => {
    setText(draft.current);
    draft.current = '';
    setEditing(null);
  };
  const cancelContext = () => {
    if (editing) stopEditing();
    setReplyTo(null);
  };
  // Insert at the caret, replacing a selection, as typing would (the textarea keeps its selection when the picker takes focus).
  const insertEmoji = (emoji: string) => {
    const el = input.current;
    const start = el?.selectionStart ?? text.length;
    const end = el?.selectionEnd ?? text.length;
    caret.current = start + emoji.length;
    setText(text.slice(0, start) + emoji + text.slice(end));
    el?.focus();
  };
  useLayoutEffect(() => {
    if (caret.current === null || !input.current) return;
    input.current.setSelectionRange(caret.current, caret.current);
    caret.current = null;
  }, [text]);

  const mention = useMentionCompletion(conversation, (next, at) => {
    caret.current = at;
    setText(next);
    input.current?.focus();
  });

  const submit = () =>
    !busy &&
    run(async () => {
      const content = text.trim();
      if (!content) return;
      typing.stop();
      if (editing) {
        replaceMessage(await api.messages.edit(editing.id, content));
        stopEditing();
      } else {
        await sendMessage({ conversationId, content, ...(replyTo ? { replyToId: replyTo.id } : {}) });
        setReplyTo(null);
        setText('');
      }
      setEmojiOpen(false);
      stickToBottom.current = true;
      input.current?.focus();
    });

  return (
    <section
      class={`conversation ${dragging ? 'dragging' : ''}`}
      aria-label={title}
      onDragOver={(event) => {
        if (!event.dataTransfer?.types.includes('Files')) return;
        event.preventDefault();
        setDragging(true);
      }}
      onDragLeave={(event) => {
        if (event.currentTarget === event.target) setDragging(false);
      }}
      onDrop={(event) => {
        event.preventDefault();
        setDragging(false);
        startUploads(event.dataTransfer?.files);
      }}
    >
      <header class="bar">
        <button type="button" class="icon back" aria-label={t('back')} onClick={() => navigate('/chats')}>
          ‹
        </button>
        <PeerLink peerId={peer?.id} name={title}>
          {conversation && <Avatar name={title} url={peer?.avatarUrl} status={peer ? (s.presence[peer.id] ?? 'offline') : undefined} size={32} />}
          <div class="title">
            <h2>{title}</h2>
            <span class="small muted">{peer ? t(s.presence[peer.id] ?? 'offline') : conversation?.group ? t('members_n', { n: conversation.group.memberCount }) : ''}</span>
          </div>
        </PeerLink>
        {peer && (
          <>
            <button type="button" class="icon" aria-label={t('voiceCall')} title={t('voiceCall')} onClick={() => void startCall(peer, 'audio').catch(showError)}>
              📞
            </button>
            <button type="button" class="icon" aria-label={t('videoCall')} title={t('videoCall')} onClick={() => void startCall(peer, 'video').catch(showError)}>
              🎥
            </button>
          </>
        )}
        {conversation && <NotificationMenu conversation={conversation} />}
        <button type="button" class="icon" aria-label={t('searchMessages')} title={t('searchMessages')} aria-expanded={searching} onClick={() => setSearching(!searching)}>
          🔍
        </button>
        {conversation?.group && (
          <button type="button" onClick={() => navigate(`/groups/${encodeURIComponent(conversation.group?.id ?? '')}`)}>
            {t('groupInfo')}
          </button>
        )}
      </header>
      <PinnedBar conversationId={conversationId} />
      {searching && (
        <ChatSearch
          conversationId={conversationId}
          onClose={() => setSearching(false)}
          onPick={(message) => {
            setSearching(false);
            jump(message.id);
          }}
        />
      )}
      <div class="messages" ref={scroller} onScroll={onScroll} tabIndex={0} role="region" aria-label={t('chats')}>
        <p class="small muted center">{list?.loading ? t('loadingOlder') : list && list.nextCursor === null ? t('startOfChat') : ''}</p>
        <ul class="msg-list" data-testid="messages">
          {items.map((message, index) => [
            startsDay(items[index - 1], message) && (
              <Separator key={`day-${message.id}`} kind="day">
                {dayLabel(message.createdAt)}
              </Separator>
            ),
            message.id === unreadFrom && (
              <Separator key="unread" kind="unread">
                {t('newMessages')}
              </Separator>
            ),
            message.type === 'system' ? (
              <SystemLine key={message.id} message={message} />
            ) : (
              <Bubble
                key={message.id}
                message={message}
                mine={message.senderId === me}
                showSender={conversation?.type === 'group' && (items[index - 1]?.senderId !== message.senderId || items[index - 1]?.type === 'system')}
                replyTo={message.replyToId ? byId.get(message.replyToId) : undefined}
                receipt={receiptFor(message)}
                showTime={endsRun(message, items[index + 1])}
                onJump={jump}
                onReply={() => {
                  if (editing) stopEditing();
                  setReplyTo(message);
                  input.current?.focus();
                }}
                onEdit={() => {
                  setReplyTo(null);
                  if (!editing) draft.current = text;
                  setEditing(message);
                  setText(message.content);
                  input.current?.focus();
                }}
              />
            ),
          ])}
        </ul>
      </div>
      <p class="typing small muted" aria-live="polite" data-testid="typing">
        {typers.length > 0 ? t('typing', { name: typers.map(userName).join(', ') }) : ''}
      </p>
      {(replyTo || editing) && (
        <div class="context-bar small">
          <span>{editing ? t('editing') : `${t('replyingTo')} ${userName(replyTo?.senderId ?? '')}: ${preview(replyTo)}`}</span>
          <button type="button" class="link" onClick={cancelContext}>
            {t('cancel')}
          </button>
        </div>
      )}
      {/* A chip sends a new message at once: not while the composer is editing an old one. */}
      {!editing && <SmartReplies message={items.at(-1)} />}
      {uploads.map((upload) => (
        <UploadBar key={upload.key} upload={upload} />
      ))}
      {emojiOpen && <EmojiPicker label={t('emoji')} onPick={insertEmoji} />}
      {mention.listbox}
      <form
        class="composer"
        onSubmit={(event) => {
          event.preventDefault();
          void submit();
        }}
      >
        <button type="button" class="icon" aria-label={t('emoji')} aria-expanded={emojiOpen} onClick={() => setEmojiOpen(!emojiOpen)}>
          😊
        </button>
        <label class="button icon attach" title={t('attach')}>
          <span aria-hidden="true">📎</span>
          <input
            class="sr-only"
            type="file"
            multiple
            aria-label={t('attach')}
            onChange={(event) => {
              startUploads(event.currentTarget.files);
              event.currentTarget.value = '';
            }}
          />
        </label>
        <label class="grow">
          <span class="sr-only">{t('typeMessage')}</span>
          <textarea
            ref={input}
            rows={1}
            placeholder={t('typeMessage')}
            value={text}
            {...mention.inputProps}
            onInput={(event) => {
              setText(event.currentTarget.value);
              mention.onInput(event.currentTarget.value, event.currentTarget.selectionStart ?? event.currentTarget.value.length);
              if (!editing) typing.input();
            }}
            onKeyDown={(event) => {
              if (mention.onKeyDown(event)) return;
              if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
                event.preventDefault();
                void submit();
              }
              if (event.key === 'Escape') cancelContext();
            }}
          />
        </label>
        <button type="submit" class="primary" disabled={busy || !text.trim()}>
          {editing ? t('save') : t('send')}
        </button>
      </form>
    </section>
  );
}

function addConversation(conversation: Conversation): void {
  update((s) => (s.conversations.some((c) => c.id === conversation.id) ? {} : { conversations: [conversation, ...s.conversations] }));
}
