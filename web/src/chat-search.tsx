/** Searching one conversation's messages; a result jumps to the message in the view. */
import { useState } from 'preact/hooks';
import type { Message } from '../../src/client/index.js';
import { formatTime, t } from './i18n.js';
import { api } from './state/client.js';
import { userName } from './state/loaders.js';
import { useAction } from './ui.js';

export function ChatSearch({ conversationId, onPick, onClose }: { conversationId: string; onPick: (message: Message) => void; onClose: () => void }) {
  const [query, setQuery] = useState('');
  const [results, setResults] = useState<Message[] | null>(null);
  const { busy, run } = useAction();
  const search = () =>
    run(async () => {
      const text = query.trim();
      setResults(text ? (await api.messages.search(text, conversationId, { limit: 50 })).items : null);
    });
  return (
    <div class="chat-search">
      <form
        class="search pad"
        role="search"
        aria-label={t('searchMessages')}
        onSubmit={(event) => {
          event.preventDefault();
          void search();
        }}
      >
        <label class="grow">
          <span class="sr-only">{t('searchMessages')}</span>
          <input
            type="search"
            placeholder={t('searchMessages')}
            value={query}
            // biome-ignore lint/a11y/noAutofocus: the field is opened by the search button, to type in at once.
            autoFocus
            onInput={(event) => setQuery(event.currentTarget.value)}
            onKeyDown={(event) => event.key === 'Escape' && onClose()}
          />
        </label>
        <button type="submit" disabled={busy}>
          {t('search')}
        </button>
        <button type="button" class="link" onClick={onClose}>
          {t('close')}
        </button>
      </form>
      {results && (
        <ul class="rows search-results" aria-label={t('searchResults')}>
          {results.length === 0 && <li class="muted pad small">{t('noMessagesFound')}</li>}
          {results.map((message) => (
            <li key={message.id}>
              <button type="button" class="row result" onClick={() => onPick(message)}>
                <span class="row-main">
                  <span class="row-top">
                    <span class="name small">{userName(message.senderId)}</span>
                    <time class="muted small">{formatTime(message.createdAt)}</time>
                  </span>
                  <span class="preview">{message.content}</span>
                </span>
              </button>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
