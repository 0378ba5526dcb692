/**
 * The AI assistant: conversations whose replies stream token by token over the socket (`ai_chat`,
 * then `ai_chunk`… `ai_done` | `ai_error`) and a model picker. Loaded when the page is first opened.
 */
import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import type { AiConversation, AiMessage, AiModel, ParleySocket } from '../../src/client/index.js';
import { errorText, showError } from './errors.js';
import { t } from './i18n.js';
import { api, client } from './state/client.js';
import { onSocket } from './state/live.js';
import { aiMessageUpserted } from './state/reducers.js';
import { navigate } from './state/router.js';
import { apply, getState, update, useStore } from './state/state.js';
import { useAction } from './ui.js';

function upsert(conversationId: string, id: string, change: (previous: AiMessage | undefined) => AiMessage): void {
  apply((s) => aiMessageUpserted(s, conversationId, id, change));
}

const placeholder = (conversationId: string, id: string): AiMessage => ({
  id,
  conversationId,
  role: 'assistant',
  content: '',
  status: 'streaming',
  model: null,
  error: null,
  usage: null,
  createdAt: new Date().toISOString(),
  completedAt: null,
});

/** requestId → conversationId, for `ai_done` / `ai_error`, which carry only the request. */
const requests = new Map<string, string>();
/**
 * conversationId → the request still streaming into it, which Stop cancels. Kept here, not in the
 * page: the first question of a new chat moves to the chat's own address, which mounts a new page.
 */
const running = new Map<string, string>();

function settled(requestId: string): void {
  const conversationId = requests.get(requestId);
  requests.delete(requestId);
  if (conversationId && running.get(conversationId) === requestId) running.delete(conversationId);
}

type MarkdownModule = typeof import('./markdown.js');
let markdown: MarkdownModule | undefined;
let loadingMarkdown: Promise<MarkdownModule> | undefined;
const loadMarkdown = (): Promise<MarkdownModule> => {
  loadingMarkdown ??= import('./markdown.js').then((module) => (markdown = module));
  return loadingMarkdown;
};

/** A reply's Markdown as formatted text (plain text until the renderer's chunk has arrived). */
function Markdown({ source }: { source: string }) {
  const [renderer, setRenderer] = useState(markdown);
  useEffect(() => {
    if (!renderer) void loadMarkdown().then((loaded) => setRenderer(() => loaded), showError);
  }, []);
  if (!renderer) return <span class="content">{source}</span>;
  // The renderer escapes HTML and drops unsafe links (see markdown.ts): its output is safe to insert.
  return <div class="content markdown" dangerouslySetInnerHTML={{ __html: renderer.renderMarkdown(source) }} />;
}

const EXAMPLES = ['aiExample1', 'aiExample2', 'aiExample3', 'aiExample4'] as const;

/** What an empty assistant chat shows: a greeting and questions to start from. */
function Greeting({ onPick, disabled }: { onPick: (prompt: string) => void; disabled: boolean }) {
  return (
    <div class="ai-greeting">
      <p class="ai-hello">{t('aiGreeting')}</p>
      <p class="muted">{t('aiGreetingHint')}</p>
      <ul class="ai-examples" aria-label={t('aiExamples')}>
        {EXAMPLES.map((key) => (
          <li>
            <button type="button" disabled={disabled} onClick={() => onPick(t(key))}>
              {t(key)}
            </button>
          </li>
        ))}
      </ul>
    </div>
  );
}

function handlers(socket: ParleySocket): void {
  socket.on('ai_chunk', (event) => {
    requests.set(event.requestId, event.conversationId);
    upsert(event.conversationId, event.messageId, (m) => {
      const base = m ?? placeholder(event.conversationId, event.messageId);
      return { ...base, content: base.content + event.delta };
    });
  });
  socket.on('ai_done', (event) => {
    settled(event.requestId);
    upsert(event.message.conversationId, event.message.id, () => event.message);
  });
  socket.on('ai_error', (event) => {
    const conversationId = requests.get(event.requestId);
    settled(event.requestId);
    if (!conversationId) return;
    upsert(conversationId, event.messageId, (m) => ({
      ...(m ?? placeholder(conversationId, event.messageId)),
      status: 'failed',
      error: { code: event.error.code, message: event.error.message },
    }));
  });
}
onSocket(handlers);

export function AssistantPage({ conversationId }: { conversationId: string | null }) {
  const s = useStore();
  const [conversations, setConversations] = useState<AiConversation[]>([]);
  const [models, setModels] = useState<AiModel[]>([]);
  const [model, setModel] = useState('');
  const [text, setText] = useState('');
  const { busy, run } = useAction();
  const scroller = useRef<HTMLDivElement>(null);

  useEffect(() => {
    Promise.all([
      api.ai.models().then((list) => {
        setModels(list.items);
        setModel((current) => current || list.default);
      }),
      api.ai.conversations().then((page) => setConversations(page.items)),
    ]).catch(showError);
  }, []);
  useEffect(() => {
    if (!conversationId || s.aiMessages[conversationId]) return;
    api.ai.conversation(conversationId).then((conversation) => update((state) => ({ aiMessages: { ...state.aiMessages, [conversationId]: conversation.messages } })), showError);
  }, [conversationId]);

  const messages = conversationId ? (s.aiMessages[conversationId] ?? []) : [];
  const last = messages.at(-1);
  const streaming = last?.role === 'assistant' && last.status === 'streaming';
  const requestId = conversationId ? running.get(conversationId) : undefined;
  useEffect(() => {
    // Fetch the renderer while the person reads or types, so the first reply is formatted at once.
    void loadMarkdown().catch(() => {});
  }, []);
  useLayoutEffect(() => {
    if (scroller.current) scroller.current.scrollTop = scroller.current.scrollHeight;
  }, [messages.length, last?.content]);

  const ask = (question = text) =>
    run(async () => {
      const content = question.trim();
      if (!content) return;
      const ack = await client.emit('ai_chat', { content, ...(conversationId ? { conversationId } : {}), ...(model ? { model } : {}) });
      requests.set(ack.requestId, ack.conversationId);
      running.set(ack.conversationId, ack.requestId);
      setText('');
      upsert(ack.conversationId, ack.userMessage.id, () => ack.userMessage);
      upsert(ack.conversationId, ack.messageId, (m) => m ?? placeholder(ack.conversationId, ack.messageId));
      if (!conversationId) {
        navigate(`/ai/${encodeURIComponent(ack.conversationId)}`, true);
        void api.ai.conversations().then(
          (page) => setConversations(page.items),
          () => {},
        );
      }
    });

  return (
    <section class="conversation" aria-label={t('assistant')}>
      <header class="bar">
        <h2>{t('assistant')}</h2>
        <label>
          <span class="sr-only">{t('model')}</span>
          <select value={model} title={model} onChange={(e) => setModel(e.currentTarget.value)} data-testid="model-picker">
            {models.map((m) => (
              <option value={m.id}>{m.id}</option>
            ))}
          </select>
        </label>
      </header>
      <div class="ai-picker pad">
        <label class="grow">
          <span class="sr-only">{t('aiConversations')}</span>
          <select value={conversationId ?? ''} onChange={(e) => navigate(e.currentTarget.value ? `/ai/${encodeURIComponent(e.currentTarget.value)}` : '/ai')}>
            <option value="">{t('newChat')}</option>
            {conversations.map((c) => (
              <option value={c.id}>{c.title}</option>
            ))}
          </select>
        </label>
      </div>
      <div class="messages" ref={scroller} tabIndex={0} role="region" aria-label={t('assistant')} aria-live="polite">
        {messages.length === 0 && !conversationId && <Greeting disabled={busy} onPick={(prompt) => void ask(prompt)} />}
        <ul class="msg-list" data-testid="ai-messages">
          {messages.map((m) => (
            <li class={`msg ${m.role === 'user' ? 'mine' : ''}`} data-role={m.role} data-status={m.status}>
              <div class="bubble-line">
                <div class="bubble">
                  {m.role === 'assistant' && m.content ? <Markdown source={m.content} /> : <span class="content">{m.content || (m.status === 'streaming' ? '…' : '')}</span>}
                  {m.status === 'failed' && <div class="bad small">{m.error?.code === 'AI_CANCELLED' ? t('aiStopped') : m.error ? errorText(m.error) : t('failed')}</div>}
                </div>
              </div>
              {m.model && <span class="meta small muted">{m.model}</span>}
            </li>
          ))}
        </ul>
      </div>
      <form
        class="composer"
        onSubmit={(event) => {
          event.preventDefault();
          void ask();
        }}
      >
        <label class="grow">
          <span class="sr-only">{t('askAnything')}</span>
          <textarea
            rows={1}
            placeholder={t('askAnything')}
            value={text}
            onInput={(e) => setText(e.currentTarget.value)}
            onKeyDown={(event) => {
              if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
                event.preventDefault();
                void ask();
              }
            }}
          />
        </label>
        {streaming && requestId ? (
          <button type="button" onClick={() => void client.emit('ai_cancel', { requestId }).catch(showError)}>
            {t('stop')}
          </button>
        ) : (
          <button type="submit" class="primary" disabled={busy || !text.trim()}>
            {t('send')}
          </button>
        )}
      </form>
    </section>
  );
}

export const aiAvailable = (): boolean => getState().features.ai === true;
