/**
 * The SDK's answers ARE the schemas the routes declare (and so what the server validates, sends and
 * documents in OpenAPI): a hand-written SDK type that drifts from the server no longer compiles.
 * These checks run at type-check time (`npm run check` type-checks test/); at run time they pass
 * trivially, so the suite also stays green for `vitest run`.
 */
import type { Static } from 'typebox';
import { describe, expectTypeOf, it } from 'vitest';
import type { ParleyClient, ParleyRest } from '../../src/client/index.js';
import type { Message } from '../../src/contract/messages.js';
import type { ForwardResult, PinnedPage } from '../../src/contract/pins.js';
import type { AdminUser, AdminUserPage, AuditPage, InstanceStats, ResetPasswordResult } from '../../src/modules/admin/admin.schemas.js';
import type { AuthResult } from '../../src/modules/auth/auth.schemas.js';
import type { AvatarUrls } from '../../src/modules/avatars/avatars.schemas.js';
import type { CallPage, CallRecord, IceServers } from '../../src/modules/calls/calls.schemas.js';
import type { FileRecordSchema } from '../../src/modules/files/files.schemas.js';
import type { FriendPage, FriendRequestPage } from '../../src/modules/friends/friends.schemas.js';
import type { CreatedGroup, Group, InviteLink, InviteLinkPage, InvitePreview, MemberList, MemberPage } from '../../src/modules/groups/groups.schemas.js';
import type { Conversation, ConversationPage, MessagePage } from '../../src/modules/messaging/messaging.schemas.js';
import type { Me, UserPage, UserProfile } from '../../src/modules/users/users.schemas.js';

/** What a promise-returning SDK method resolves with. */
type Answer<F> = F extends (...args: never[]) => Promise<infer R> ? R : never;
type Rest = ParleyRest;

describe('the SDK takes its wire types from the route schemas', () => {
  it('answers the users routes with their schemas', () => {
    expectTypeOf<Answer<Rest['users']['me']>>().toEqualTypeOf<Static<typeof Me>>();
    expectTypeOf<Answer<Rest['users']['search']>>().toEqualTypeOf<Static<typeof UserPage>>();
    expectTypeOf<Answer<Rest['users']['get']>>().toEqualTypeOf<Static<typeof UserProfile>>();
    expectTypeOf<Answer<Rest['users']['setAvatar']>>().toEqualTypeOf<Static<typeof AvatarUrls>>();
  });

  it('answers register, login, guest, upgrade and refresh with the whole AuthResult', () => {
    expectTypeOf<Answer<ParleyClient['register']>>().toEqualTypeOf<Static<typeof AuthResult>>();
    expectTypeOf<Answer<ParleyClient['login']>>().toEqualTypeOf<Static<typeof AuthResult>>();
    expectTypeOf<Answer<ParleyClient['guest']>>().toEqualTypeOf<Static<typeof AuthResult>>();
    expectTypeOf<Answer<ParleyClient['refresh']>>().toEqualTypeOf<Static<typeof AuthResult>>();
    expectTypeOf<Answer<Rest['auth']['upgrade']>>().toEqualTypeOf<Static<typeof AuthResult>>();
  });

  it('answers the friends routes with their pages', () => {
    expectTypeOf<Answer<Rest['friends']['list']>>().toEqualTypeOf<Static<typeof FriendPage>>();
    expectTypeOf<Answer<Rest['friends']['requests']>>().toEqualTypeOf<Static<typeof FriendRequestPage>>();
  });

  it('answers the groups routes with their schemas', () => {
    expectTypeOf<Answer<Rest['groups']['get']>>().toEqualTypeOf<Static<typeof Group>>();
    expectTypeOf<Answer<Rest['groups']['create']>>().toEqualTypeOf<Static<typeof CreatedGroup>>();
    expectTypeOf<Answer<Rest['groups']['members']>>().toEqualTypeOf<Static<typeof MemberPage>>();
    expectTypeOf<Answer<Rest['groups']['addMembers']>>().toEqualTypeOf<Static<typeof MemberList>>();
    expectTypeOf<Answer<Rest['groups']['createInviteLink']>>().toEqualTypeOf<Static<typeof InviteLink>>();
    expectTypeOf<Answer<Rest['groups']['inviteLinks']>>().toEqualTypeOf<Static<typeof InviteLinkPage>>();
    expectTypeOf<Answer<Rest['groups']['previewInvite']>>().toEqualTypeOf<Static<typeof InvitePreview>>();
    expectTypeOf<Answer<Rest['groups']['acceptInvite']>>().toEqualTypeOf<Static<typeof Group>>();
  });

  it('answers the conversation routes with their schemas', () => {
    expectTypeOf<Answer<Rest['conversations']['list']>>().toEqualTypeOf<Static<typeof ConversationPage>>();
    expectTypeOf<Answer<Rest['conversations']['get']>>().toEqualTypeOf<Static<typeof Conversation>>();
    expectTypeOf<Answer<Rest['conversations']['messages']>>().toEqualTypeOf<Static<typeof MessagePage>>();
  });

  it('answers the pin and forward routes with their schemas', () => {
    expectTypeOf<Answer<Rest['conversations']['pins']>>().toEqualTypeOf<Static<typeof PinnedPage>>();
    expectTypeOf<Answer<Rest['messages']['pin']>>().toEqualTypeOf<Static<typeof Message>>();
    expectTypeOf<Answer<Rest['messages']['unpin']>>().toEqualTypeOf<Static<typeof Message>>();
    expectTypeOf<Answer<Rest['messages']['forward']>>().toEqualTypeOf<Static<typeof ForwardResult>>();
  });

  it('answers the calls and files routes with their schemas', () => {
    expectTypeOf<Answer<Rest['calls']['list']>>().toEqualTypeOf<Static<typeof CallPage>>();
    expectTypeOf<Answer<Rest['calls']['get']>>().toEqualTypeOf<Static<typeof CallRecord>>();
    expectTypeOf<Answer<Rest['calls']['iceServers']>>().toEqualTypeOf<Static<typeof IceServers>>();
    expectTypeOf<Answer<Rest['files']['get']>>().toEqualTypeOf<Static<typeof FileRecordSchema>>();
  });

  it('answers the admin routes with their schemas', () => {
    expectTypeOf<Answer<Rest['admin']['users']>>().toEqualTypeOf<Static<typeof AdminUserPage>>();
    expectTypeOf<Answer<Rest['admin']['user']>>().toEqualTypeOf<Static<typeof AdminUser>>();
    expectTypeOf<Answer<Rest['admin']['suspend']>>().toEqualTypeOf<Static<typeof AdminUser>>();
    expectTypeOf<Answer<Rest['admin']['resetPassword']>>().toEqualTypeOf<Static<typeof ResetPasswordResult>>();
    expectTypeOf<Answer<Rest['admin']['stats']>>().toEqualTypeOf<Static<typeof InstanceStats>>();
    expectTypeOf<Answer<Rest['admin']['audit']>>().toEqualTypeOf<Static<typeof AuditPage>>();
  });
});
