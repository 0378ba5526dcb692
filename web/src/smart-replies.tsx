/**
 * Smart-reply chips under a chat: in the chat view's first load, apart from the assistant page
 * (ai.tsx), which loads when it is first opened.
 */
import { useEffect, useState } from 'preact/hooks';
import type { Message } from '../../src/client/index.js';
import { showError } from './errors.js';
import { t } from './i18n.js';
import { sendMessage } from './state/actions.js';
import { api } from './state/client.js';
import { useStore } from './state/state.js';

const suggestionCache = new Map<string, Promise<string[]>>();

/** Three short replies to the newest message from someone else, as chips that send on click. */
export function SmartReplies({ message }: { message: Message | undefined }) {
  const s = useStore();
  const [chips, setChips] = useState<string[]>([]);
  // Only for users who turned smart replies on: the request sends the open chat to the provider.
  const usable =
    !!message &&
    s.features.ai === true &&
    s.me?.profile.smartReplies === true &&
    message.senderId !== s.me?.id &&
    !message.recalledAt &&
    (message.type === 'text' || message.type === 'emoji');
  useEffect(() => {
    setChips([]);
    if (!usable || !message) return;
    let live = true;
    let pending = suggestionCache.get(message.id);
    if (!pending) {
      pending = api.ai.suggestions(message.conversationId).then((r) => r.suggestions);
      suggestionCache.set(message.id, pending);
      pending.catch(() => suggestionCache.delete(message.id));
    }
    pending.then(
      (list) => live && setChips(list),
      () => {},
    );
    return () => {
      live = false;
    };
  }, [usable, message?.id]);
  if (!usable || chips.length === 0 || !message) return null;
  return (
    <div class="chips pad" role="group" aria-label={t('suggestions')} data-testid="smart-replies">
      {chips.map((chip) => (
        <button
          type="button"
          class="chip"
          onClick={() => {
            setChips([]);
            void sendMessage({ conversationId: message.conversationId, content: chip }).catch(showError);
          }}
        >
          {chip}
        </button>
      ))}
    </div>
  );
}
