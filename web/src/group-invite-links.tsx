import { useEffect, useState } from 'preact/hooks';
import type { InviteLink, InvitePreview } from '../../src/client/index.js';
import { ParleyError } from '../../src/client/index.js';
import { formatTime, type StringKey, t } from './i18n.js';
import { api } from './state/client.js';
import { loadConversations } from './state/loaders.js';
import { navigate } from './state/router.js';
import { update } from './state/state.js';
import { useAction } from './ui.js';

/** The address a link opens in this web client (a path: the router reads location.pathname). */
export const inviteUrl = (code: string): string => `${location.origin}/invite/${encodeURIComponent(code)}`;

const EXPIRY_CHOICES: Array<{ label: StringKey; seconds: number | undefined }> = [
  { label: 'inviteNever', seconds: undefined },
  { label: 'inviteHour', seconds: 3600 },
  { label: 'inviteDay', seconds: 86_400 },
  { label: 'inviteWeek', seconds: 604_800 },
];

function linkState(link: InviteLink): string | null {
  if (link.revokedAt) return t('inviteRevoked');
  if (link.expiresAt && new Date(link.expiresAt) <= new Date()) return t('inviteExpired');
  if (link.maxUses !== null && link.uses >= link.maxUses) return t('inviteUsedUp');
  return null;
}

async function copy(text: string): Promise<void> {
  try {
    await navigator.clipboard.writeText(text);
    update({ toast: t('inviteCopied') });
  } catch {
    // Clipboard refused (plain HTTP, no permission): the link is on screen to copy by hand.
    update({ toast: text });
  }
}

/** Invite links of a group, for its owner and admins: make one (expiry, use limit), copy, revoke. */
export function GroupInviteLinks({ groupId }: { groupId: string }) {
  const [links, setLinks] = useState<InviteLink[]>([]);
  const [expiry, setExpiry] = useState(0);
  const [maxUses, setMaxUses] = useState('');
  const { busy, run } = useAction();
  const refresh = async () => setLinks((await api.groups.inviteLinks(groupId, undefined, 50)).items);
  useEffect(() => {
    void run(refresh);
  }, [groupId]);
  return (
    <section class="stack pad" aria-label={t('inviteLinks')}>
      <h3>{t('inviteLinks')}</h3>
      <form
        class="invite-form"
        onSubmit={(event) => {
          event.preventDefault();
          const seconds = EXPIRY_CHOICES[expiry]?.seconds;
          const uses = Number.parseInt(maxUses, 10);
          void run(async () => {
            const link = await api.groups.createInviteLink(groupId, { ...(seconds ? { expiresInSeconds: seconds } : {}), ...(uses > 0 ? { maxUses: uses } : {}) });
            setMaxUses('');
            await refresh();
            await copy(inviteUrl(link.code));
          });
        }}
      >
        <label>
          {t('inviteExpiry')}
          <select value={String(expiry)} onChange={(e) => setExpiry(Number(e.currentTarget.value))}>
            {EXPIRY_CHOICES.map((choice, i) => (
              <option value={String(i)}>{t(choice.label)}</option>
            ))}
          </select>
        </label>
        <label>
          {t('inviteMaxUses')}
          <input type="number" min={1} max={100000} inputMode="numeric" placeholder={t('inviteUnlimited')} value={maxUses} onInput={(e) => setMaxUses(e.currentTarget.value)} />
        </label>
        <button type="submit" class="primary" disabled={busy}>
          {t('inviteCreate')}
        </button>
      </form>
      <ul class="rows" data-testid="invite-links">
        {links.map((link) => {
          const state = linkState(link);
          return (
            <li class={`row static invite-link${state ? ' dead' : ''}`}>
              <span class="row-main">
                <code class="invite-code">{inviteUrl(link.code)}</code>
                <span class="small muted">
                  {[
                    t('inviteBy', { name: link.creator.nickname || link.creator.username }),
                    link.maxUses === null ? t('inviteUses', { n: link.uses }) : t('inviteUsesOf', { n: link.uses, max: link.maxUses }),
                    link.expiresAt && !state ? t('inviteUntil', { time: formatTime(link.expiresAt) }) : null,
                    state,
                  ]
                    .filter(Boolean)
                    .join(' · ')}
                </span>
              </span>
              {!link.revokedAt && (
                <span class="row-actions">
                  <button type="button" onClick={() => void copy(inviteUrl(link.code))}>
                    {t('inviteCopy')}
                  </button>
                  <button type="button" class="danger" onClick={() => void run(async () => (await api.groups.revokeInviteLink(groupId, link.id), await refresh()))}>
                    {t('inviteRevoke')}
                  </button>
                </span>
              )}
            </li>
          );
        })}
      </ul>
    </section>
  );
}

const REFUSALS: Record<string, StringKey> = { INVITE_EXPIRED: 'inviteExpiredLong', INVITE_USED_UP: 'inviteUsedUpLong', NOT_FOUND: 'inviteNotFound', FORBIDDEN: 'inviteRemoved' };

/** What /invite/<code> shows: the group's name and size, and a Join button (or Open, for a member). */
export function InviteJoin({ code }: { code: string }) {
  const [preview, setPreview] = useState<InvitePreview | null>(null);
  const [refusal, setRefusal] = useState<string | null>(null);
  const { busy, run } = useAction();
  const refuse = (error: unknown) => {
    const key = error instanceof ParleyError ? REFUSALS[error.code] : undefined;
    if (!key) throw error;
    setRefusal(t(key));
  };
  useEffect(() => {
    void run(async () => {
      try {
        setPreview(await api.groups.previewInvite(code));
      } catch (error) {
        refuse(error);
      }
    });
  }, [code]);
  const join = () =>
    run(async () => {
      const group = await api.groups.acceptInvite(code).catch(refuse);
      if (!group) return;
      await loadConversations();
      navigate(`/chats/${encodeURIComponent(group.conversationId)}`, true);
    });
  return (
    <section class="scroll" aria-label={t('inviteTitle')}>
      <header class="bar">
        <button type="button" class="icon back" aria-label={t('back')} onClick={() => navigate('/chats')}>
          ‹
        </button>
        <h2>{t('inviteTitle')}</h2>
      </header>
      <div class="stack pad invite-card">
        {refusal && <p role="alert">{refusal}</p>}
        {!refusal && !preview && <p class="muted">…</p>}
        {!refusal && preview && (
          <>
            <h3>{preview.group.name}</h3>
            <p class="muted">{t('members_n', { n: preview.group.memberCount })}</p>
            <button type="button" class="primary" disabled={busy} onClick={() => void join()}>
              {preview.isMember ? t('inviteOpen') : t('inviteJoin')}
            </button>
          </>
        )}
      </div>
    </section>
  );
}
