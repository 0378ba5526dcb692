import { describe, expect, it } from 'vitest';
import type { Conversation, Friend, Me, PublicProfile, User } from '../../src/client/index.js';
import { initialState } from '../../web/src/state/model.js';
import { userUpdated } from '../../web/src/state/reducers.js';

const user = (id: string, nickname = id): User => ({ id, username: id, nickname, avatarUrl: null, isGuest: false, bot: false, bio: '', createdAt: '2026-01-01T00:00:00.000Z' });
const profile = (id: string, fields: Partial<PublicProfile>): PublicProfile => ({ ...user(id), statusText: null, ...fields });

describe('web state: user_updated', () => {
  const chat = (peer: User): Conversation =>
    ({
      id: `d.${peer.id}`,
      type: 'private',
      peer,
      lastMessage: null,
      unreadCount: 0,
      lastReadMessageId: null,
      peerLastReadMessageId: null,
      updatedAt: '2026-01-01T00:00:00.000Z',
    }) as Conversation;
  const friend = (u: User): Friend => ({ user: u, since: '2026-01-01T00:00:00.000Z', presence: { status: 'online', lastSeenAt: null } });

  it("replaces every copy of the user's nickname, avatar, bio and status line: people, chat peers, friends", () => {
    const state = {
      ...initialState(),
      users: { bob: user('bob', 'Bob'), carol: user('carol') },
      conversations: [chat(user('bob', 'Bob')), chat(user('carol'))],
      friends: [friend(user('bob', 'Bob'))],
    };
    const next = userUpdated(state, profile('bob', { nickname: 'Robert', avatarUrl: '/api/v1/avatars/b.webp', bio: 'hi', statusText: 'away for lunch' }));
    expect(next.users.bob).toMatchObject({ nickname: 'Robert', avatarUrl: '/api/v1/avatars/b.webp', bio: 'hi', statusText: 'away for lunch' });
    expect(next.conversations[0]?.peer).toMatchObject({ id: 'bob', nickname: 'Robert', avatarUrl: '/api/v1/avatars/b.webp' });
    expect(next.friends[0]?.user).toMatchObject({ nickname: 'Robert', avatarUrl: '/api/v1/avatars/b.webp' });
    expect(next.conversations[1]).toBe(state.conversations[1]);
    expect(next.users.carol).toBe(state.users.carol);
  });

  it("updates me, status line included, when it is about me (another device's change)", () => {
    const me = { ...user('me'), email: null, lastLoginAt: '2026-01-01T00:00:00.000Z', profile: { statusText: null } } as Me;
    const next = userUpdated({ ...initialState(), me }, profile('me', { nickname: 'New me', statusText: 'busy' }));
    expect(next.me).toMatchObject({ nickname: 'New me', profile: { statusText: 'busy' } });
  });
});
