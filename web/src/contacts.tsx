import type { ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import type { Blocked, Friend, Group, GroupRole, Member, User } from '../../src/client/index.js';
import { showError } from './errors.js';
import { GroupInviteLinks } from './group-invite-links.js';
import { formatTime, t } from './i18n.js';
import { profilePath } from './peer-link.js';
import { openPrivateChat } from './state/actions.js';
import { api } from './state/client.js';
import { loadContacts, loadConversations, rememberUsers } from './state/loaders.js';
import { navigate } from './state/router.js';
import { useStore } from './state/state.js';
import { Avatar, useAction, useConfirm } from './ui.js';

const displayName = (user: User) => user.nickname || user.username;

function UserRow({ user, status, children }: { user: User; status?: 'online' | 'away' | 'offline' | undefined; children?: ComponentChildren }) {
  return (
    <li class="row static" data-user={user.username}>
      <a
        class="row-link"
        href={profilePath(user.id)}
        onClick={(event) => {
          event.preventDefault();
          navigate(profilePath(user.id));
        }}
      >
        <Avatar name={displayName(user)} url={user.avatarUrl} status={status} />
        <span class="row-main">
          <span class="name">
            {displayName(user)} {user.isGuest && <span class="tag">{t('guestTag')}</span>}
            {user.bot && <span class="tag">{t('botTag')}</span>}
          </span>
          <span class="small muted">
            @{user.username}
            {status && ` · ${t(status)}`}
          </span>
        </span>
      </a>
      <span class="row-actions">{children}</span>
    </li>
  );
}

/** Remove friend and Block behind a "more" button: rarely used, and three buttons do not fit a phone's row. */
function FriendMore({ name, children }: { name: string; children: ComponentChildren }) {
  const [open, setOpen] = useState(false);
  return (
    <>
      <button type="button" class="icon more" aria-label={t('moreActions', { name })} aria-expanded={open} onClick={() => setOpen(!open)}>
        ⋯
      </button>
      {open && children}
    </>
  );
}

export function Contacts() {
  const s = useStore();
  const [query, setQuery] = useState('');
  const [results, setResults] = useState<User[] | null>(null);
  const [blocked, setBlocked] = useState<Blocked[]>([]);
  const [groups, setGroups] = useState<Group[]>([]);
  const { busy, run } = useAction();
  const { confirm, dialog } = useConfirm();
  const refresh = () =>
    Promise.all([loadContacts(), api.friends.blocks(undefined, 200).then((r) => setBlocked(r.items)), api.groups.list(undefined, 200).then((r) => setGroups(r.items))]).catch(
      showError,
    );
  useEffect(() => void refresh(), []);
  // The AI assistant is a contact to chat with, not to befriend (the server refuses requests to it).
  const [assistantId, setAssistantId] = useState<string | null>(null);
  useEffect(() => {
    if (s.features.ai)
      api.ai.assistant().then(
        (info) => setAssistantId(info.user.id),
        () => {},
      );
  }, [s.features.ai]);

  const friendIds = new Set(s.friends.map((f) => f.user.id));
  const requested = new Set(s.outgoing.map((r) => r.toUser.id));
  const blockedIds = new Set(blocked.map((b) => b.user.id));

  const search = () =>
    run(async () => {
      if (!query.trim()) return setResults(null);
      const page = await api.users.search(query.trim());
      rememberUsers(page.items);
      setResults(page.items.filter((u) => u.id !== s.me?.id));
    });
  // Blocking also ends a friendship, and unblocking does not bring it back: the question says so.
  const askBlock = (user: User) =>
    confirm({
      question: t('confirmBlock', { name: displayName(user) }),
      detail: t(friendIds.has(user.id) ? 'confirmBlockFriendDetail' : 'confirmBlockDetail'),
      confirmLabel: t('block'),
      onConfirm: () => run(async () => (await api.friends.block(user.id), await refresh())),
    });
  const askRemove = (user: User) =>
    confirm({
      question: t('confirmRemoveFriend', { name: displayName(user) }),
      detail: t('confirmRemoveFriendDetail'),
      confirmLabel: t('removeFriend'),
      onConfirm: () => run(async () => (await api.friends.remove(user.id), await loadContacts())),
    });

  return (
    <section class="scroll" aria-label={t('contacts')}>
      <header class="bar">
        <h2>{t('contacts')}</h2>
        <button type="button" onClick={() => navigate('/groups/new')}>
          {t('newGroup')}
        </button>
      </header>
      <form
        class="search pad"
        role="search"
        onSubmit={(event) => {
          event.preventDefault();
          void search();
        }}
      >
        <label class="grow">
          <span class="sr-only">{t('searchUsers')}</span>
          <input type="search" placeholder={t('searchUsers')} value={query} onInput={(e) => setQuery(e.currentTarget.value)} />
        </label>
        <button type="submit" disabled={busy}>
          {t('search')}
        </button>
      </form>
      {results && (
        <ul class="rows" aria-label={t('search')} data-testid="search-results">
          {results.map((user) => (
            <UserRow user={user}>
              {friendIds.has(user.id) || user.id === assistantId ? (
                <button type="button" class={user.id === assistantId ? 'primary' : undefined} onClick={() => void run(() => openPrivateChat(user.id))}>
                  {user.id === assistantId ? t('chat') : t('message')}
                </button>
              ) : requested.has(user.id) ? (
                <span class="small muted">{t('requested')}</span>
              ) : (
                !blockedIds.has(user.id) && (
                  <button type="button" class="primary" onClick={() => void run(async () => (await api.friends.request(user.id), await loadContacts()))}>
                    {t('addFriend')}
                  </button>
                )
              )}
              {!blockedIds.has(user.id) && (
                <button type="button" class="danger" onClick={() => askBlock(user)}>
                  {t('block')}
                </button>
              )}
            </UserRow>
          ))}
        </ul>
      )}
      {s.incoming.length > 0 && (
        <>
          <h3 class="pad">{t('requests')}</h3>
          <ul class="rows" data-testid="incoming-requests">
            {s.incoming.map((request) => (
              <UserRow user={request.fromUser}>
                <button type="button" class="primary" onClick={() => void run(async () => (await api.friends.accept(request.id), await loadContacts(), await loadConversations()))}>
                  {t('accept')}
                </button>
                <button type="button" onClick={() => void run(async () => (await api.friends.reject(request.id), await loadContacts()))}>
                  {t('reject')}
                </button>
              </UserRow>
            ))}
          </ul>
        </>
      )}
      {s.invitations.length > 0 && (
        <>
          <h3 class="pad">{t('groupInvitations')}</h3>
          <ul class="rows" data-testid="group-invitations">
            {s.invitations.map((invitation) => (
              <li class="row static" data-invitation={invitation.id}>
                <Avatar name={invitation.group.name} />
                <span class="row-main">
                  <span class="name">{invitation.group.name}</span>
                  <span class="small muted">{t('invitedBy', { name: displayName(invitation.inviter), n: invitation.group.memberCount })}</span>
                </span>
                <span class="row-actions">
                  <button
                    type="button"
                    class="primary"
                    onClick={() =>
                      void run(async () => {
                        const group = await api.groups.acceptInvitation(invitation.id);
                        await Promise.all([loadContacts(), loadConversations()]);
                        navigate(`/chats/${encodeURIComponent(group.conversationId)}`);
                      })
                    }
                  >
                    {t('accept')}
                  </button>
                  <button type="button" onClick={() => void run(async () => (await api.groups.declineInvitation(invitation.id), await loadContacts()))}>
                    {t('decline')}
                  </button>
                </span>
              </li>
            ))}
          </ul>
        </>
      )}
      {s.outgoing.length > 0 && (
        <>
          <h3 class="pad">{t('outgoing')}</h3>
          <ul class="rows">
            {s.outgoing.map((request) => (
              <UserRow user={request.toUser}>
                <span class="small muted">{t('requested')}</span>
              </UserRow>
            ))}
          </ul>
        </>
      )}
      <h3 class="pad">{t('friends')}</h3>
      {s.friends.length === 0 && <p class="muted pad">{t('noFriends')}</p>}
      <ul class="rows" data-testid="friends">
        {s.friends.map((friend) => (
          <UserRow user={friend.user} status={s.presence[friend.user.id] ?? friend.presence.status}>
            <button type="button" class="primary" onClick={() => void run(() => openPrivateChat(friend.user.id))}>
              {t('message')}
            </button>
            <FriendMore name={displayName(friend.user)}>
              <button type="button" onClick={() => askRemove(friend.user)}>
                {t('removeFriend')}
              </button>
              <button type="button" class="danger" onClick={() => askBlock(friend.user)}>
                {t('block')}
              </button>
            </FriendMore>
          </UserRow>
        ))}
      </ul>
      {groups.length > 0 && (
        <>
          <h3 class="pad">{t('groups')}</h3>
          <ul class="rows">
            {groups.map((group) => (
              <li>
                <a
                  class="row"
                  href={`/groups/${encodeURIComponent(group.id)}`}
                  onClick={(event) => {
                    event.preventDefault();
                    navigate(`/groups/${encodeURIComponent(group.id)}`);
                  }}
                >
                  <Avatar name={group.name} />
                  <span class="row-main">
                    <span class="name">{group.name}</span>
                    <span class="small muted">{t('members_n', { n: group.memberCount })}</span>
                  </span>
                </a>
              </li>
            ))}
          </ul>
        </>
      )}
      {blocked.length > 0 && (
        <>
          <h3 class="pad">{t('blocked')}</h3>
          <ul class="rows">
            {blocked.map((entry) => (
              <UserRow user={entry.user}>
                <button type="button" onClick={() => void run(async () => (await api.friends.unblock(entry.user.id), await refresh()))}>
                  {t('unblock')}
                </button>
              </UserRow>
            ))}
          </ul>
        </>
      )}
      {dialog}
    </section>
  );
}

/** Checkboxes to pick friends (a new group's members, members to add). */
function FriendChecklist({ friends, picked, onChange }: { friends: Friend[]; picked: Set<string>; onChange: (next: Set<string>) => void }) {
  return (
    <>
      {friends.map((friend) => (
        <label class="check">
          <input
            type="checkbox"
            checked={picked.has(friend.user.id)}
            onChange={(e) => {
              const next = new Set(picked);
              if (e.currentTarget.checked) next.add(friend.user.id);
              else next.delete(friend.user.id);
              onChange(next);
            }}
          />
          {displayName(friend.user)}
        </label>
      ))}
    </>
  );
}

export function NewGroup() {
  const s = useStore();
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const [picked, setPicked] = useState<Set<string>>(new Set());
  const { busy, run } = useAction();
  useEffect(() => void loadContacts().catch(showError), []);
  return (
    <section class="scroll" aria-label={t('newGroup')}>
      <header class="bar">
        <button type="button" class="icon back" aria-label={t('back')} onClick={() => navigate('/contacts')}>
          ‹
        </button>
        <h2>{t('newGroup')}</h2>
      </header>
      <form
        class="stack pad"
        onSubmit={(event) => {
          event.preventDefault();
          void run(async () => {
            const group = await api.groups.create({ name: name.trim(), ...(description.trim() ? { description: description.trim() } : {}), memberIds: [...picked] });
            await loadConversations();
            navigate(`/chats/${encodeURIComponent(group.conversationId)}`, true);
          });
        }}
      >
        <label>
          {t('groupName')}
          <input required maxLength={64} value={name} onInput={(e) => setName(e.currentTarget.value)} />
        </label>
        <label>
          {t('description')}
          <input maxLength={500} value={description} onInput={(e) => setDescription(e.currentTarget.value)} />
        </label>
        <fieldset>
          <legend>{t('members')}</legend>
          {s.friends.length === 0 && <p class="muted">{t('noFriends')}</p>}
          <FriendChecklist friends={s.friends} picked={picked} onChange={setPicked} />
        </fieldset>
        <button type="submit" class="primary" disabled={busy || !name.trim()}>
          {t('create')}
        </button>
      </form>
    </section>
  );
}

export function GroupInfo({ groupId }: { groupId: string }) {
  const s = useStore();
  const [group, setGroup] = useState<Group | null>(null);
  const [members, setMembers] = useState<Member[]>([]);
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const [adding, setAdding] = useState<Set<string>>(new Set());
  const { busy, run } = useAction();
  const { confirm, dialog } = useConfirm();
  const refresh = async () => {
    const [g, m] = await Promise.all([api.groups.get(groupId), api.groups.members(groupId, undefined, 200)]);
    setGroup(g);
    setName(g.name);
    setDescription(g.description);
    setMembers(m.items);
    rememberUsers(m.items.map((x) => x.user));
  };
  useEffect(() => {
    refresh().catch((error: unknown) => {
      showError(error);
      navigate('/contacts', true);
    });
  }, [groupId]);
  if (!group) return <p class="center muted">…</p>;
  const myRole = members.find((m) => m.user.id === s.me?.id)?.role ?? 'member';
  const manager = myRole === 'owner' || myRole === 'admin';
  const memberIds = new Set(members.map((m) => m.user.id));
  const candidates = s.friends.filter((f) => !memberIds.has(f.user.id));
  return (
    <section class="scroll" aria-label={t('groupInfo')}>
      <header class="bar">
        <button type="button" class="icon back" aria-label={t('back')} onClick={() => navigate(`/chats/${encodeURIComponent(group.conversationId)}`)}>
          ‹
        </button>
        <h2>{group.name}</h2>
      </header>
      {manager ? (
        <form
          class="stack pad"
          onSubmit={(event) => {
            event.preventDefault();
            void run(async () => (setGroup(await api.groups.update(groupId, { name: name.trim(), description })), await loadConversations()));
          }}
        >
          <label>
            {t('groupName')}
            <input required maxLength={64} value={name} onInput={(e) => setName(e.currentTarget.value)} />
          </label>
          <label>
            {t('description')}
            <input maxLength={500} value={description} onInput={(e) => setDescription(e.currentTarget.value)} />
          </label>
          <button type="submit" disabled={busy}>
            {t('save')}
          </button>
        </form>
      ) : (
        <p class="pad">{group.description}</p>
      )}
      <h3 class="pad">
        {t('members')} ({members.length})
      </h3>
      <ul class="rows" data-testid="members">
        {members.map((member) => {
          const muted = member.mutedUntil && new Date(member.mutedUntil) > new Date();
          const self = member.user.id === s.me?.id;
          return (
            // Whoever is looking at this page is online: the server does not tell a user of their own presence.
            <UserRow user={member.user} status={self ? 'online' : (s.presence[member.user.id] ?? member.presence.status)}>
              {myRole === 'owner' && !self ? (
                <label>
                  <span class="sr-only">{t('role')}</span>
                  <select
                    value={member.role}
                    onChange={(e) => {
                      const role = e.currentTarget.value as GroupRole;
                      void run(async () => (await api.groups.updateMember(groupId, member.user.id, { role }), await refresh()));
                    }}
                  >
                    <option value="admin">{t('admin')}</option>
                    <option value="member">{t('member')}</option>
                  </select>
                </label>
              ) : (
                <span class="tag">{t(member.role)}</span>
              )}
              {muted && <span class="small muted">{t('mutedUntil', { time: formatTime(member.mutedUntil ?? '') })}</span>}
              {manager && !self && member.role !== 'owner' && (
                <>
                  <button
                    type="button"
                    onClick={() =>
                      void run(
                        async () => (
                          await api.groups.updateMember(groupId, member.user.id, { mutedUntil: muted ? null : new Date(Date.now() + 3_600_000).toISOString() }), await refresh()
                        ),
                      )
                    }
                  >
                    {muted ? t('unmute') : t('mute')}
                  </button>
                  <button
                    type="button"
                    class="danger"
                    onClick={() =>
                      confirm({
                        question: t('confirmRemoveMember', { name: displayName(member.user), group: group.name }),
                        detail: t('confirmRemoveMemberDetail'),
                        confirmLabel: t('remove'),
                        onConfirm: () => run(async () => (await api.groups.removeMember(groupId, member.user.id), await refresh())),
                      })
                    }
                  >
                    {t('remove')}
                  </button>
                </>
              )}
            </UserRow>
          );
        })}
      </ul>
      {manager && candidates.length > 0 && (
        <form
          class="stack pad"
          onSubmit={(event) => {
            event.preventDefault();
            void run(async () => (await api.groups.addMembers(groupId, [...adding]), setAdding(new Set()), await refresh()));
          }}
        >
          <fieldset>
            <legend>{t('addMembers')}</legend>
            <FriendChecklist friends={candidates} picked={adding} onChange={setAdding} />
          </fieldset>
          <button type="submit" disabled={busy || adding.size === 0}>
            {t('add')}
          </button>
        </form>
      )}
      {manager && <GroupInviteLinks groupId={groupId} />}
      <div class="stack pad">
        {myRole === 'owner' ? (
          <button
            type="button"
            class="danger"
            onClick={() =>
              confirm({
                question: t('confirmDissolve', { name: group.name }),
                detail: t('confirmDissolveDetail'),
                confirmLabel: t('dissolve'),
                onConfirm: () => run(async () => (await api.groups.dissolve(groupId), await loadConversations(), navigate('/chats', true))),
              })
            }
          >
            {t('dissolve')}
          </button>
        ) : (
          <button
            type="button"
            class="danger"
            onClick={() =>
              confirm({
                question: t('confirmLeave', { name: group.name }),
                detail: t('confirmLeaveDetail'),
                confirmLabel: t('leave'),
                onConfirm: () => run(async () => (await api.groups.removeMember(groupId, s.me?.id ?? ''), await loadConversations(), navigate('/chats', true))),
              })
            }
          >
            {t('leave')}
          </button>
        )}
      </div>
      {dialog}
    </section>
  );
}
