/** The chat list's "New chat": pick a friend to message, or start a group. */
import { useEffect } from 'preact/hooks';
import { showError } from './errors.js';
import { t } from './i18n.js';
import { openPrivateChat } from './state/actions.js';
import { loadContacts } from './state/loaders.js';
import { navigate } from './state/router.js';
import { useStore } from './state/state.js';
import { Avatar, Modal, useAction } from './ui.js';

export function NewChatDialog({ onClose }: { onClose: () => void }) {
  const s = useStore();
  const { busy, run } = useAction();
  useEffect(() => {
    void loadContacts().catch(showError);
  }, []);
  return (
    <Modal class="confirm new-chat" title={t('newChat')} onClose={onClose}>
      <button
        type="button"
        class="primary"
        onClick={() => {
          onClose();
          navigate('/groups/new');
        }}
      >
        {t('newGroup')}
      </button>
      <h3 class="small muted">{t('chooseFriend')}</h3>
      {s.friends.length === 0 && <p class="muted small">{t('noFriends')}</p>}
      <ul class="rows" aria-label={t('chooseFriend')}>
        {s.friends.map((friend) => {
          const name = friend.user.nickname || friend.user.username;
          return (
            <li key={friend.user.id}>
              <button type="button" class="row" disabled={busy} onClick={() => void run(async () => (await openPrivateChat(friend.user.id), onClose()))}>
                <Avatar name={name} url={friend.user.avatarUrl} size={32} />
                <span class="name">{name}</span>
              </button>
            </li>
          );
        })}
      </ul>
      <div class="confirm-actions">
        <button type="button" onClick={onClose}>
          {t('cancel')}
        </button>
      </div>
    </Modal>
  );
}
