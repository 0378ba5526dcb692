/**
 * The "Bots & webhooks" page (`/me/bots`), loaded on demand from the settings page: the caller's bots
 * and their scoped tokens, the caller's outgoing webhooks with their delivery log, and the incoming
 * webhooks of the groups the caller runs (docs/webhooks.md). A token, a webhook secret and an
 * incoming webhook's URL are shown once, in a copy box, right after they are made.
 */
import { useEffect, useId, useState } from 'preact/hooks';
import type { Bot, BotAction, BotToken, Conversation, IncomingWebhook, Webhook, WebhookDelivery, WebhookEvent } from '../../src/client/index.js';
import { conversationTitle } from './chat.js';
import { showError } from './errors.js';
import { formatTime, t } from './i18n.js';
import { api, client } from './state/client.js';
import { navigate } from './state/router.js';
import { useAction, useConfirm } from './ui.js';

const ACTIONS: BotAction[] = ['messages:read', 'messages:write', 'members:read'];
const EVENTS: WebhookEvent[] = ['message.created', 'member.changed', 'bot.mentioned'];

/** A secret shown this once, with a warning and a copy button. */
function SecretBox({ label, value, onDone }: { label: string; value: string; onDone: () => void }) {
  const [copied, setCopied] = useState(false);
  useEffect(() => {
    if (!copied) return;
    const timer = setTimeout(() => setCopied(false), 2000);
    return () => clearTimeout(timer);
  }, [copied]);
  const copy = () =>
    void navigator.clipboard
      ?.writeText(value)
      .then(() => setCopied(true))
      .catch(() => {});
  return (
    <div class="card stack secret-box" role="group" aria-label={label} data-testid="secret-box">
      <strong>{label}</strong>
      <p class="small">{t('botsSecretOnce')}</p>
      {/* Wrapped in full, not cut at the edge: a URL or token is checked by eye before it is pasted. */}
      <textarea readOnly rows={2} value={value} aria-label={label} onFocus={(event) => event.currentTarget.select()} data-testid="secret-value" />
      <div class="line">
        <button type="button" onClick={copy} aria-live="polite">
          {copied ? t('botsCopied') : t('botsCopy')}
        </button>
        <button type="button" onClick={onDone}>
          {t('botsDone')}
        </button>
      </div>
    </div>
  );
}

function toggle<T>(list: T[], value: T): T[] {
  return list.includes(value) ? list.filter((v) => v !== value) : [...list, value];
}

/** Conversation checkboxes from the caller's groups. */
function ConversationPicker({ groups, picked, onChange }: { groups: Conversation[]; picked: string[]; onChange: (next: string[]) => void }) {
  if (groups.length === 0) return <p class="small muted">{t('botsNoGroups')}</p>;
  return (
    <fieldset>
      <legend>{t('botsConversations')}</legend>
      {groups.map((conversation) => (
        <label class="check">
          <input type="checkbox" checked={picked.includes(conversation.id)} onChange={() => onChange(toggle(picked, conversation.id))} />
          {conversationTitle(conversation)}
        </label>
      ))}
    </fieldset>
  );
}

function BotCard({ bot, groups }: { bot: Bot; groups: Conversation[] }) {
  const [tokens, setTokens] = useState<BotToken[]>([]);
  const [picked, setPicked] = useState<string[]>([]);
  const [actions, setActions] = useState<BotAction[]>(['messages:read']);
  const [secret, setSecret] = useState<string | null>(null);
  const { busy, run } = useAction();
  const { confirm, dialog } = useConfirm();
  const load = async () => setTokens((await api.bots.listTokens(bot.user.id, undefined, 50)).items);
  useEffect(() => void load().catch(showError), [bot.user.id]);
  const create = (event: Event) => {
    event.preventDefault();
    void run(async () => {
      const created = await api.bots.createToken(bot.user.id, { scopes: { conversationIds: picked, actions } });
      setSecret(created.token);
      await load();
    });
  };
  return (
    <li class="card stack" data-testid="bot">
      <strong>
        {bot.user.nickname || bot.user.username} <span class="small muted">@{bot.user.username}</span>
      </strong>
      {secret && <SecretBox label={t('botsNewToken')} value={secret} onDone={() => setSecret(null)} />}
      <ul class="plain" data-testid="bot-tokens">
        {tokens.map((token) => (
          <li class="line">
            <span class="small">
              {token.scopes.actions.join(', ')} · {token.scopes.conversationIds.length} {t('botsConversationsCount')} · {formatTime(token.createdAt)}
              {token.revokedAt && <strong> ({t('botsRevoked')})</strong>}
            </span>
            {!token.revokedAt && (
              <button
                type="button"
                disabled={busy}
                onClick={() =>
                  confirm({
                    question: t('botsRevokeConfirm'),
                    confirmLabel: t('botsRevoke'),
                    onConfirm: () =>
                      run(async () => {
                        await api.bots.revokeToken(bot.user.id, token.id);
                        await load();
                      }),
                  })
                }
              >
                {t('botsRevoke')}
              </button>
            )}
          </li>
        ))}
      </ul>
      <form class="stack" onSubmit={create}>
        <ConversationPicker groups={groups} picked={picked} onChange={setPicked} />
        <fieldset>
          <legend>{t('botsActions')}</legend>
          {ACTIONS.map((action) => (
            <label class="check">
              <input type="checkbox" checked={actions.includes(action)} onChange={() => setActions(toggle(actions, action))} />
              {action}
            </label>
          ))}
        </fieldset>
        <button type="submit" disabled={busy || picked.length === 0 || actions.length === 0}>
          {t('botsCreateToken')}
        </button>
      </form>
      {dialog}
    </li>
  );
}

function Deliveries({ webhook }: { webhook: Webhook }) {
  const [items, setItems] = useState<WebhookDelivery[]>([]);
  const { busy, run } = useAction();
  const load = async () => setItems((await api.webhooks.deliveries(webhook.id, undefined, 20)).items);
  useEffect(() => void load().catch(showError), [webhook.id]);
  return (
    <div class="stack">
      <div class="line">
        <strong>{t('botsDeliveries')}</strong>
        <button type="button" disabled={busy} onClick={() => void run(load)}>
          {t('botsRefresh')}
        </button>
      </div>
      {items.length === 0 && <p class="small muted">{t('botsNoDeliveries')}</p>}
      <ul class="plain" data-testid="deliveries">
        {items.map((delivery) => (
          <li class="line" data-status={delivery.status}>
            <span class="small">
              {delivery.event} · {t(delivery.status === 'delivered' ? 'botsDelivered' : delivery.status === 'dead' ? 'botsDead' : 'botsPending')} ·{' '}
              {t('botsAttempts', { n: delivery.attempts })}
              {delivery.lastStatus !== null && ` · HTTP ${delivery.lastStatus}`} · {formatTime(delivery.createdAt)}
            </span>
            {delivery.status === 'dead' && (
              <button
                type="button"
                disabled={busy}
                onClick={() =>
                  void run(async () => {
                    await api.webhooks.replay(webhook.id, delivery.id);
                    await load();
                  })
                }
              >
                {t('botsReplay')}
              </button>
            )}
          </li>
        ))}
      </ul>
    </div>
  );
}

function Webhooks({ groups }: { groups: Conversation[] }) {
  const [items, setItems] = useState<Webhook[]>([]);
  const [url, setUrl] = useState('');
  const [events, setEvents] = useState<WebhookEvent[]>(['message.created']);
  const [picked, setPicked] = useState<string[]>([]);
  const [secret, setSecret] = useState<string | null>(null);
  const [open, setOpen] = useState<string | null>(null);
  const { busy, run } = useAction();
  const { confirm, dialog } = useConfirm();
  const load = async () => setItems((await api.webhooks.list(undefined, 50)).items);
  useEffect(() => void load().catch(showError), []);
  const create = (event: Event) => {
    event.preventDefault();
    void run(async () => {
      const created = await api.webhooks.create({ url: url.trim(), events, conversationIds: picked });
      setSecret(created.secret);
      setUrl('');
      await load();
    });
  };
  return (
    <div class="stack">
      <h3>{t('botsWebhooks')}</h3>
      {secret && <SecretBox label={t('botsWebhookSecret')} value={secret} onDone={() => setSecret(null)} />}
      <ul class="plain stack" data-testid="webhooks">
        {items.map((webhook) => (
          <li class="card stack" data-testid="webhook">
            <div class="line">
              <span class="small">
                {webhook.url} · {webhook.events.join(', ')}
              </span>
              <button type="button" onClick={() => setOpen(open === webhook.id ? null : webhook.id)}>
                {t('botsDeliveries')}
              </button>
              <button
                type="button"
                disabled={busy}
                onClick={() =>
                  confirm({
                    question: t('botsDeleteWebhookConfirm'),
                    confirmLabel: t('botsDelete'),
                    onConfirm: () =>
                      run(async () => {
                        await api.webhooks.remove(webhook.id);
                        await load();
                      }),
                  })
                }
              >
                {t('botsDelete')}
              </button>
            </div>
            {open === webhook.id && <Deliveries webhook={webhook} />}
          </li>
        ))}
      </ul>
      <form class="card stack" onSubmit={create} data-testid="webhook-form">
        <label>
          {t('botsWebhookUrl')}
          <input type="url" required value={url} onInput={(event) => setUrl(event.currentTarget.value)} placeholder="https://" />
        </label>
        <fieldset>
          <legend>{t('botsEvents')}</legend>
          {EVENTS.map((name) => (
            <label class="check">
              <input type="checkbox" checked={events.includes(name)} onChange={() => setEvents(toggle(events, name))} />
              {name}
            </label>
          ))}
        </fieldset>
        <ConversationPicker groups={groups} picked={picked} onChange={setPicked} />
        <button type="submit" disabled={busy || !url.trim() || events.length === 0 || picked.length === 0}>
          {t('botsCreateWebhook')}
        </button>
      </form>
      {dialog}
    </div>
  );
}

/** Groups where the caller may manage incoming webhooks: their owner and admins. */
const runs = (conversation: Conversation) => conversation.myRole === 'owner' || conversation.myRole === 'admin';

/**
 * Incoming webhooks of one group the caller runs: each posts into the group as its own bot (made
 * with it, owned by the caller, so it shows under "Your bots" too). Its URL is shown once.
 */
function IncomingWebhooks({ groups, ready, onBotMade }: { groups: Conversation[]; ready: boolean; onBotMade: () => void }) {
  const mine = groups.filter(runs);
  const [conversationId, setConversationId] = useState('');
  const [nickname, setNickname] = useState('');
  const [items, setItems] = useState<IncomingWebhook[]>([]);
  const [url, setUrl] = useState<string | null>(null);
  const { busy, run } = useAction();
  const { confirm, dialog } = useConfirm();
  const groupId = useId();
  const picked = conversationId || mine[0]?.id || '';
  const load = async () => setItems(picked ? (await api.incomingWebhooks.list(picked, undefined, 50)).items : []);
  useEffect(() => void load().catch(showError), [picked]);
  const create = (event: Event) => {
    event.preventDefault();
    void run(async () => {
      const created = await api.incomingWebhooks.create(picked, nickname.trim() ? { nickname: nickname.trim() } : {});
      setUrl(new URL(created.url, client.baseUrl).toString());
      setNickname('');
      await load();
      onBotMade();
    });
  };
  return (
    <div class="stack">
      <h3>{t('botsIncoming')}</h3>
      <p class="small muted">{t('botsIncomingHelp')}</p>
      {!ready ? null : mine.length === 0 ? (
        <p class="small muted">{t('botsIncomingNoGroups')}</p>
      ) : (
        <>
          {url && <SecretBox label={t('botsIncomingUrl')} value={url} onDone={() => setUrl(null)} />}
          <form class="card stack" onSubmit={create} data-testid="incoming-form">
            <label for={groupId}>{t('botsIncomingGroup')}</label>
            <select id={groupId} value={picked} onChange={(event) => setConversationId(event.currentTarget.value)}>
              {mine.map((conversation) => (
                <option value={conversation.id}>{conversationTitle(conversation)}</option>
              ))}
            </select>
            <label>
              {t('botsIncomingName')}
              <input value={nickname} maxLength={64} onInput={(event) => setNickname(event.currentTarget.value)} />
            </label>
            <button type="submit" disabled={busy || !picked}>
              {t('botsCreateIncoming')}
            </button>
          </form>
          {items.length === 0 && <p class="small muted">{t('botsIncomingNone')}</p>}
          <ul class="plain" data-testid="incoming-webhooks">
            {items.map((hook) => (
              <li class="line" data-testid="incoming-webhook" data-revoked={hook.revokedAt ? 'true' : 'false'}>
                <span class="small">
                  <strong>{hook.bot.nickname || hook.bot.username}</strong> · {formatTime(hook.createdAt)}
                  {hook.revokedAt && <strong> ({t('botsRevoked')})</strong>}
                </span>
                {!hook.revokedAt && (
                  <button
                    type="button"
                    class="danger"
                    disabled={busy}
                    onClick={() =>
                      confirm({
                        question: t('botsRevokeIncomingConfirm'),
                        confirmLabel: t('botsRevoke'),
                        onConfirm: () =>
                          run(async () => {
                            await api.incomingWebhooks.revoke(picked, hook.id);
                            await load();
                          }),
                      })
                    }
                  >
                    {t('botsRevoke')}
                  </button>
                )}
              </li>
            ))}
          </ul>
        </>
      )}
      {dialog}
    </div>
  );
}

export function BotsPage() {
  const [bots, setBots] = useState<Bot[]>([]);
  const [groups, setGroups] = useState<Conversation[]>([]);
  const [groupsReady, setGroupsReady] = useState(false);
  const [username, setUsername] = useState('');
  const { busy, run } = useAction();
  const load = async () => setBots((await api.bots.list(undefined, 50)).items);
  useEffect(() => {
    void load().catch(showError);
    api.conversations
      .list(undefined, 200)
      .then((page) => {
        setGroups(page.items.filter((conversation) => conversation.group));
        setGroupsReady(true);
      })
      .catch(showError);
  }, []);
  const create = (event: Event) => {
    event.preventDefault();
    void run(async () => {
      await api.bots.create({ username: username.trim() });
      setUsername('');
      await load();
    });
  };
  return (
    <section class="scroll" aria-label={t('botsPage')}>
      <header class="bar">
        <button type="button" class="icon back" aria-label={t('back')} onClick={() => navigate('/me')}>
          ‹
        </button>
        <h2>{t('botsPage')}</h2>
      </header>
      <div class="stack pad page-body">
        <h3>{t('botsBots')}</h3>
        {bots.length === 0 && <p class="small muted">{t('botsNone')}</p>}
        <ul class="plain stack" data-testid="bots">
          {bots.map((bot) => (
            <BotCard key={bot.user.id} bot={bot} groups={groups} />
          ))}
        </ul>
        <form class="card stack" onSubmit={create}>
          <label>
            {t('botsUsername')}
            <input required value={username} onInput={(event) => setUsername(event.currentTarget.value)} />
          </label>
          <button type="submit" disabled={busy || !username.trim()}>
            {t('botsCreate')}
          </button>
        </form>
        <Webhooks groups={groups} />
        <IncomingWebhooks groups={groups} ready={groupsReady} onBotMade={() => void load().catch(showError)} />
      </div>
    </section>
  );
}
