import { useEffect, useId, useState } from 'preact/hooks';
import type { Conversation, Message } from '../../src/client/index.js';
import { MAX_FORWARD_CONVERSATIONS } from '../../src/contract/forward-limits.js';
import { showError } from './errors.js';
import { t } from './i18n.js';
import { newClientMsgId, replaceMessage } from './state/actions.js';
import { api } from './state/client.js';
import { loadMessages } from './state/loaders.js';
import { getState, update, useStore } from './state/state.js';
import { Modal, useAction } from './ui.js';

/** One line of a message for the pinned bar and the forward dialog. */
function oneLine(message: Message): string {
  if (message.attachments.length > 0) return `📎 ${message.attachments.map((a) => a.filename ?? a.fileId).join(', ')}`;
  return message.content.replace(/\s+/g, ' ');
}

function titleOf(conversation: Conversation): string {
  return conversation.group?.name ?? (conversation.peer ? conversation.peer.nickname || conversation.peer.username : conversation.id);
}

/** "Forwarded from X" above a forwarded message's content. */
export function ForwardedLabel({ message }: { message: Message }) {
  if (!message.forwardedFrom || message.recalledAt) return null;
  return <span class="forwarded small muted">{t('forwardedFrom', { name: message.forwardedFrom.senderName })}</span>;
}

/**
 * The conversation's pinned messages: the server's list, kept current by the messages this page
 * holds (a pin or unpin arrives as `message_updated` with the whole message). Shows the newest pin;
 * the list opens to all of them, and choosing one scrolls to it (loading older pages if needed).
 */
export function PinnedBar({ conversationId }: { conversationId: string }) {
  const s = useStore();
  const [fetched, setFetched] = useState<Message[]>([]);
  const [open, setOpen] = useState(false);
  const listId = useId();
  useEffect(() => {
    setFetched([]);
    setOpen(false);
    api.conversations.pins(conversationId).then((page) => setFetched(page.items), showError);
  }, [conversationId]);
  const loaded = new Map((s.messages[conversationId]?.items ?? []).map((m) => [m.id, m]));
  const byId = new Map<string, Message>();
  for (const message of fetched) byId.set(message.id, loaded.get(message.id) ?? message);
  for (const message of loaded.values()) if (message.pinnedAt) byId.set(message.id, message);
  const pins = [...byId.values()].filter((m) => m.pinnedAt && !m.recalledAt).sort((a, b) => (b.pinnedAt as string).localeCompare(a.pinnedAt as string));
  if (pins.length === 0) return null;

  const jump = async (message: Message) => {
    setOpen(false);
    const find = () => document.querySelector<HTMLElement>(`[data-message-id="${CSS.escape(message.id)}"]`);
    for (let page = 0; !find() && page < 50; page++) {
      const list = getState().messages[conversationId];
      if (!list?.nextCursor) break;
      await loadMessages(conversationId, true);
    }
    const element = find();
    if (!element) return;
    element.scrollIntoView({ block: 'center' });
    element.classList.add('flash');
    setTimeout(() => element.classList.remove('flash'), 1500);
  };
  const newest = pins[0] as Message;
  return (
    <div class="pinned-bar small" role="region" aria-label={t('pinnedMessages')}>
      <button type="button" class="link pinned-newest" onClick={() => void jump(newest)}>
        📌 <span class="pinned-text">{oneLine(newest)}</span>
      </button>
      {pins.length > 1 && (
        <button type="button" class="link" aria-expanded={open} aria-controls={listId} onClick={() => setOpen(!open)}>
          {t('pinnedCount', { n: pins.length })}
        </button>
      )}
      {open && (
        <ul id={listId} class="pinned-list" aria-label={t('pinnedMessages')}>
          {pins.map((message) => (
            <li key={message.id}>
              <button type="button" class="link" onClick={() => void jump(message)}>
                {oneLine(message)}
              </button>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

/** Pin or Unpin and Forward, in a message's action menu. */
export function PinForwardActions({ message, canPin, onDone }: { message: Message; canPin: boolean; onDone: () => void }) {
  const { run } = useAction();
  const [forwarding, setForwarding] = useState(false);
  const forwardable = !['call', 'system'].includes(message.type);
  return (
    <>
      {canPin && (
        <button
          type="button"
          onClick={() =>
            run(async () => {
              replaceMessage(message.pinnedAt ? await api.messages.unpin(message.id) : await api.messages.pin(message.id));
              onDone();
            })
          }
        >
          {message.pinnedAt ? t('unpin') : t('pin')}
        </button>
      )}
      {forwardable && (
        <button type="button" onClick={() => setForwarding(true)}>
          {t('forward')}
        </button>
      )}
      {forwarding && (
        <ForwardDialog
          message={message}
          onClose={() => {
            setForwarding(false);
            onDone();
          }}
        />
      )}
    </>
  );
}

/** Choose up to MAX_FORWARD_CONVERSATIONS conversations and forward the message to them. */
function ForwardDialog({ message, onClose }: { message: Message; onClose: () => void }) {
  const s = useStore();
  const [chosen, setChosen] = useState<string[]>([]);
  const { busy, run } = useAction();
  const toggle = (conversationId: string) =>
    setChosen((list) => (list.includes(conversationId) ? list.filter((c) => c !== conversationId) : list.length < MAX_FORWARD_CONVERSATIONS ? [...list, conversationId] : list));
  const send = () =>
    run(async () => {
      await api.messages.forward({ messageIds: [message.id], conversationIds: chosen, clientMsgId: newClientMsgId() });
      update({ toast: t('forwarded', { n: chosen.length }) });
      onClose();
    });
  return (
    <Modal class="confirm forward-dialog" title={t('forwardTo')} onClose={onClose}>
      <p class="small muted forward-preview">{oneLine(message)}</p>
      <ul class="forward-targets">
        {s.conversations.map((conversation) => (
          <li key={conversation.id}>
            <label class="check">
              <input type="checkbox" checked={chosen.includes(conversation.id)} onChange={() => toggle(conversation.id)} /> {titleOf(conversation)}
            </label>
          </li>
        ))}
      </ul>
      <div class="confirm-actions">
        <button type="button" onClick={onClose}>
          {t('cancel')}
        </button>
        <button type="button" class="primary" disabled={busy || chosen.length === 0} onClick={() => void send()}>
          {t('forward')}
        </button>
      </div>
    </Modal>
  );
}
