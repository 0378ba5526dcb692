/**
 * Typed REST calls over a ParleyClient: one method per route of the v1 API, grouped by resource.
 * `rest(client).friends.list()` reads better than `client.request('GET', '/friends')` and keeps the
 * response shapes in one place for the web client and SDK users.
 */
// Every wire type comes from the contract (TypeBox schemas' Static types, imported as types only so
// no schema code reaches a bundle): the SDK declares none of its own, so it cannot drift from the server.
import type { AdminUser, AuditEntry, InstanceStats, ResetPasswordResult } from '../contract/admin.js';
import type { AiConversation, AiConversationWithMessages, AiCreateConversationBody, AiMessage, AiModelList, AssistantInfo, SuggestionsResult } from '../contract/ai.js';
import type { AuthResult, ChangePasswordBody, LoginLog, SessionList, UpgradeBody } from '../contract/auth.js';
import type {
  Bot,
  BotToken,
  CreateBotBody,
  CreateBotTokenBody,
  CreatedBotToken,
  CreatedIncomingWebhook,
  CreatedWebhook,
  CreateIncomingWebhookBody,
  CreateWebhookBody,
  IncomingWebhook,
  Webhook,
  WebhookDelivery,
} from '../contract/bots.js';
import type { CallRecord, IceServers } from '../contract/calls.js';
import type { Conversation, NotificationSettings, NotificationSettingsBody, ReadPosition } from '../contract/conversations.js';
import type { FileRecord, SignedUrl } from '../contract/files.js';
import type { Blocked, Friend, FriendRequest } from '../contract/friends.js';
import type { CreatedGroup, CreateGroupBody, Group, GroupInvitation, Member, MemberList, UpdateGroupBody, UpdateMemberBody } from '../contract/groups.js';
import type { CreateInviteLinkBody, InviteLink, InvitePreview } from '../contract/invite-links.js';
import type { Message } from '../contract/messages.js';
import type { Page } from '../contract/paging.js';
import type { ForwardBody, ForwardResult } from '../contract/pins.js';
import type { PushDevice, PushDeviceList, PushSubscriptionBody, VapidPublicKey } from '../contract/push.js';
import type { AdminReport, CreateReportBody, Report, ReportAction } from '../contract/reports.js';
import type { AvatarUrls, Me, ProfileUpdate, User, UserProfile } from '../contract/users.js';
import type { ParleyClient } from './core.js';

// Kept importable from this file, where they used to be declared.
export type { FriendRequest, Group, Member, User };

const q = (params: Record<string, string | number | undefined>): string => {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) if (value !== undefined) search.set(key, String(value));
  const text = search.toString();
  return text ? `?${text}` : '';
};
const id = encodeURIComponent;

/** Typed REST routes bound to one client (its tokens, its base URL). */
export function rest(client: ParleyClient) {
  const call = <T>(method: string, path: string, body?: unknown) => client.request<T>(method, path, body);
  return {
    auth: {
      /** Guest only: becomes a full account with the same id; the answer carries a new token pair. */
      upgrade: (input: UpgradeBody) =>
        call<AuthResult>('POST', '/auth/upgrade', input).then((result) => {
          client.accessToken = result.accessToken;
          client.refreshToken = result.refreshToken;
          return result;
        }),
      logout: () => call<null>('POST', '/auth/logout'),
      sessions: () => call<SessionList>('GET', '/auth/sessions'),
      revokeSession: (sessionId: string) => call<null>('DELETE', `/auth/sessions/${id(sessionId)}`),
      changePassword: (input: ChangePasswordBody) => call<null>('PUT', '/users/me/password', input),
      loginLogs: (cursor?: string, limit?: number) => call<Page<LoginLog>>('GET', `/users/me/login-logs${q({ cursor, limit })}`),
    },
    users: {
      me: () => call<Me>('GET', '/users/me'),
      updateMe: (fields: ProfileUpdate) => call<Me>('PATCH', '/users/me', fields),
      /** The public profile; `presence` (with last seen) is null unless the caller may see it. */
      get: (userId: string) => call<UserProfile>('GET', `/users/${id(userId)}`),
      search: (text: string, cursor?: string, limit?: number) => call<Page<User>>('GET', `/users${q({ q: text, cursor, limit })}`),
      /** Multipart upload of an image (JPEG, PNG, WebP, GIF); answers the new avatar URL. */
      setAvatar: (image: Blob, filename = 'avatar') => {
        const form = new FormData();
        form.append('file', image, filename);
        return call<AvatarUrls>('PUT', '/users/me/avatar', form);
      },
      removeAvatar: () => call<null>('DELETE', '/users/me/avatar'),
    },
    friends: {
      list: (cursor?: string, limit = 200) => call<Page<Friend>>('GET', `/friends${q({ cursor, limit })}`),
      remove: (userId: string) => call<null>('DELETE', `/friends/${id(userId)}`),
      request: (toUserId: string, message?: string) => call<FriendRequest>('POST', '/friend-requests', message ? { toUserId, message } : { toUserId }),
      requests: (direction: 'incoming' | 'outgoing', cursor?: string, limit?: number) => call<Page<FriendRequest>>('GET', `/friend-requests${q({ direction, cursor, limit })}`),
      accept: (requestId: string) => call<FriendRequest>('POST', `/friend-requests/${id(requestId)}/accept`),
      reject: (requestId: string) => call<FriendRequest>('POST', `/friend-requests/${id(requestId)}/reject`),
      /** Most recent first. */
      blocks: (cursor?: string, limit?: number) => call<Page<Blocked>>('GET', `/blocks${q({ cursor, limit })}`),
      block: (userId: string) => call<null>('POST', '/blocks', { userId }),
      unblock: (userId: string) => call<null>('DELETE', `/blocks/${id(userId)}`),
    },
    groups: {
      /** Friends among `memberIds` join at once; everyone else is invited (listed in `invited`). */
      create: (input: CreateGroupBody) => call<CreatedGroup>('POST', '/groups', input),
      list: (cursor?: string, limit?: number) => call<Page<Group>>('GET', `/groups${q({ cursor, limit })}`),
      get: (groupId: string) => call<Group>('GET', `/groups/${id(groupId)}`),
      update: (groupId: string, fields: UpdateGroupBody) => call<Group>('PATCH', `/groups/${id(groupId)}`, fields),
      dissolve: (groupId: string) => call<null>('DELETE', `/groups/${id(groupId)}`),
      members: (groupId: string, cursor?: string, limit?: number) => call<Page<Member>>('GET', `/groups/${id(groupId)}/members${q({ cursor, limit })}`),
      /** Friends join at once; everyone else is invited (listed in `invited`). */
      addMembers: (groupId: string, userIds: string[]) => call<MemberList>('POST', `/groups/${id(groupId)}/members`, { userIds }),
      /** The caller's pending invitations, newest first. */
      invitations: (cursor?: string, limit?: number) => call<Page<GroupInvitation>>('GET', `/group-invitations${q({ cursor, limit })}`),
      acceptInvitation: (invitationId: string) => call<Group>('POST', `/group-invitations/${id(invitationId)}/accept`),
      declineInvitation: (invitationId: string) => call<null>('POST', `/group-invitations/${id(invitationId)}/decline`),
      /** Leave (own id) or remove a member (owner, admins). */
      removeMember: (groupId: string, userId: string) => call<null>('DELETE', `/groups/${id(groupId)}/members/${id(userId)}`),
      updateMember: (groupId: string, userId: string, fields: UpdateMemberBody) => call<Member>('PATCH', `/groups/${id(groupId)}/members/${id(userId)}`, fields),
      /** Owner, admins: a link anyone may join through until it expires, is used up or revoked. */
      createInviteLink: (groupId: string, options: CreateInviteLinkBody = {}) => call<InviteLink>('POST', `/groups/${id(groupId)}/invite-links`, options),
      /** Owner, admins: every link of the group, revoked ones too, newest first. */
      inviteLinks: (groupId: string, cursor?: string, limit?: number) => call<Page<InviteLink>>('GET', `/groups/${id(groupId)}/invite-links${q({ cursor, limit })}`),
      revokeInviteLink: (groupId: string, linkId: string) => call<null>('DELETE', `/groups/${id(groupId)}/invite-links/${id(linkId)}`),
      /** The group behind an invite code: name, size, and whether the caller is a member. */
      previewInvite: (code: string) => call<InvitePreview>('GET', `/invites/${id(code)}`),
      /** Joins through an invite code; a member already in the group just gets it back. */
      acceptInvite: (code: string) => call<Group>('POST', `/invites/${id(code)}/accept`),
    },
    conversations: {
      /** Most recent first; pass the previous page's `nextCursor` for the next page. */
      list: (cursor?: string, limit?: number) => call<Page<Conversation>>('GET', `/conversations${q({ cursor, limit })}`),
      get: (conversationId: string) => call<Conversation>('GET', `/conversations/${id(conversationId)}`),
      open: (target: { peerId: string } | { groupId: string }) => call<Conversation>('POST', '/conversations', target),
      /**
       * Newest first; start below a message with `before`, or oldest first above one with `after`;
       * pass the previous page's `nextCursor` as `cursor` (alone) to go on in the same direction.
       */
      messages: (conversationId: string, page: { cursor?: string; before?: string; after?: string; limit?: number } = {}) =>
        call<Page<Message>>('GET', `/conversations/${id(conversationId)}/messages${q(page)}`),
      markRead: (conversationId: string, messageId: string) => call<null>('POST', `/conversations/${id(conversationId)}/read`, { messageId }),
      /** The other members' read positions (the peer's in a private chat), by user id; pass `nextCursor` for the next page. */
      reads: (conversationId: string, page: { cursor?: string; limit?: number } = {}) => call<Page<ReadPosition>>('GET', `/conversations/${id(conversationId)}/reads${q(page)}`),
      /** Pinned messages, most recently pinned first; pass `nextCursor` for the next page. */
      pins: (conversationId: string, page: { cursor?: string; limit?: number } = {}) => call<Page<Message>>('GET', `/conversations/${id(conversationId)}/pins${q(page)}`),
      /** What alerts the caller here: 'all', 'mentions' or 'none', optionally `until` a time (then 'all' again). */
      setNotifications: (conversationId: string, body: NotificationSettingsBody) => call<NotificationSettings>('PUT', `/conversations/${id(conversationId)}/notifications`, body),
      /**
       * The completion source for `@`: the conversation's members (both people of a private chat
       * are given by the caller), fetched in pages of 200; filter them with `mentionCandidates`.
       */
      mentionables: async (groupId: string): Promise<Member['user'][]> => {
        const users: Member['user'][] = [];
        let cursor: string | undefined;
        do {
          const page = await call<Page<Member>>('GET', `/groups/${id(groupId)}/members${q({ cursor, limit: 200 })}`);
          users.push(...page.items.map((member) => member.user));
          cursor = page.nextCursor ?? undefined;
        } while (cursor !== undefined);
        return users;
      },
    },
    messages: {
      edit: (messageId: string, content: string) => call<Message>('PATCH', `/messages/${id(messageId)}`, { content }),
      recall: (messageId: string) => call<Message>('DELETE', `/messages/${id(messageId)}`),
      react: (messageId: string, emoji: string) => call<Message>('PUT', `/messages/${id(messageId)}/reactions/${id(emoji)}`),
      unreact: (messageId: string, emoji: string) => call<Message>('DELETE', `/messages/${id(messageId)}/reactions/${id(emoji)}`),
      pin: (messageId: string) => call<Message>('PUT', `/messages/${id(messageId)}/pin`),
      unpin: (messageId: string) => call<Message>('DELETE', `/messages/${id(messageId)}/pin`),
      /** Copies messages into conversations; reuse `clientMsgId` on a retry to get the same copies back. */
      forward: (body: ForwardBody) => call<ForwardResult>('POST', '/messages/forward', body),
      /** Newest first; pass the previous page's `nextCursor` as `cursor` for the next page. */
      search: (text: string, conversationId?: string, page: { cursor?: string; before?: string; limit?: number } = {}) =>
        call<Page<Message>>('GET', `/messages/search${q({ q: text, conversationId, ...page })}`),
    },
    push: {
      /** The key browsers subscribe with (`applicationServerKey`); needs no sign-in. */
      vapidPublicKey: () => call<VapidPublicKey>('GET', '/push/vapid-public-key'),
      /** Subscribes this device (`PushSubscription.toJSON()` plus `previews`); the same endpoint again updates it. */
      subscribe: (subscription: PushSubscriptionBody) => call<PushDevice>('POST', '/push/subscriptions', subscription),
      /** The caller's subscribed devices. */
      list: () => call<PushDeviceList>('GET', '/push/subscriptions'),
      unsubscribe: (subscriptionId: string) => call<null>('DELETE', `/push/subscriptions/${id(subscriptionId)}`),
    },
    calls: {
      iceServers: () => call<IceServers>('GET', '/calls/ice-servers'),
      list: (cursor?: string, limit?: number) => call<Page<CallRecord>>('GET', `/calls${q({ cursor, limit })}`),
      get: (callId: string) => call<CallRecord>('GET', `/calls/${id(callId)}`),
    },
    files: {
      /** Uploads themselves speak tus at `${baseUrl}/api/v1/uploads` (tus-js-client, Uppy, ...). */
      get: (fileId: string) => call<FileRecord>('GET', `/files/${id(fileId)}`),
      /** A short-lived URL usable in `<img src>` without the Authorization header. */
      signedUrl: (fileId: string, variant: 'content' | 'thumbnail' = 'content') => call<SignedUrl>('GET', `/files/${id(fileId)}/url${q({ variant })}`),
    },
    ai: {
      models: () => call<AiModelList>('GET', '/ai/models'),
      conversations: (cursor?: string, limit?: number) => call<Page<AiConversation>>('GET', `/ai/conversations${q({ cursor, limit })}`),
      createConversation: (input: AiCreateConversationBody = {}) => call<AiConversation>('POST', '/ai/conversations', input),
      conversation: (conversationId: string) => call<AiConversationWithMessages>('GET', `/ai/conversations/${id(conversationId)}`),
      /** The conversation's messages, newest first; pass the previous page's `nextCursor` as `cursor`. */
      messages: (conversationId: string, cursor?: string, limit?: number) =>
        call<Page<AiMessage>>('GET', `/ai/conversations/${id(conversationId)}/messages${q({ cursor, limit })}`),
      deleteConversation: (conversationId: string) => call<null>('DELETE', `/ai/conversations/${id(conversationId)}`),
      /** Three short replies the caller might send next in a chat conversation. */
      suggestions: (conversationId: string) => call<SuggestionsResult>('POST', '/ai/suggestions', { conversationId }),
      assistant: () => call<AssistantInfo>('GET', '/ai/assistant'),
    },
    /** Bot accounts the caller owns and their scoped tokens (docs/webhooks.md, Bots). */
    bots: {
      create: (input: CreateBotBody) => call<Bot>('POST', '/bots', input),
      /** The caller's bots, newest first; pass the previous page's `nextCursor` as `cursor`. */
      list: (cursor?: string, limit?: number) => call<Page<Bot>>('GET', `/bots${q({ cursor, limit })}`),
      /** The answer carries the `pbt_…` secret this once. */
      createToken: (botId: string, input: CreateBotTokenBody) => call<CreatedBotToken>('POST', `/bots/${id(botId)}/tokens`, input),
      /** Without secrets, revoked ones too. */
      listTokens: (botId: string, cursor?: string, limit?: number) => call<Page<BotToken>>('GET', `/bots/${id(botId)}/tokens${q({ cursor, limit })}`),
      /** The token stops working at once and its sockets are disconnected. */
      revokeToken: (botId: string, tokenId: string) => call<null>('DELETE', `/bots/${id(botId)}/tokens/${id(tokenId)}`),
    },
    /** Outgoing webhooks of the caller and their delivery log (docs/webhooks.md). */
    webhooks: {
      /** The answer carries the signing `secret` this once. */
      create: (input: CreateWebhookBody) => call<CreatedWebhook>('POST', '/webhooks', input),
      list: (cursor?: string, limit?: number) => call<Page<Webhook>>('GET', `/webhooks${q({ cursor, limit })}`),
      /** Deletes the webhook and its delivery log. */
      remove: (webhookId: string) => call<null>('DELETE', `/webhooks/${id(webhookId)}`),
      /** Newest first; pass the previous page's `nextCursor` as `cursor`. */
      deliveries: (webhookId: string, cursor?: string, limit?: number) => call<Page<WebhookDelivery>>('GET', `/webhooks/${id(webhookId)}/deliveries${q({ cursor, limit })}`),
      /** Sends a delivery again with the same id and body. */
      replay: (webhookId: string, deliveryId: string) => call<WebhookDelivery>('POST', `/webhooks/${id(webhookId)}/deliveries/${id(deliveryId)}/replay`),
    },
    /** A group's incoming webhooks (owner, admins): each posts into the group as its own bot. */
    incomingWebhooks: {
      /** The answer carries the secret `url` this once. */
      create: (conversationId: string, input: CreateIncomingWebhookBody = {}) =>
        call<CreatedIncomingWebhook>('POST', `/conversations/${id(conversationId)}/incoming-webhooks`, input),
      /** Every incoming webhook of the group, revoked ones too. */
      list: (conversationId: string, cursor?: string, limit?: number) =>
        call<Page<IncomingWebhook>>('GET', `/conversations/${id(conversationId)}/incoming-webhooks${q({ cursor, limit })}`),
      revoke: (conversationId: string, hookId: string) => call<null>('DELETE', `/conversations/${id(conversationId)}/incoming-webhooks/${id(hookId)}`),
    },
    /** Instance admins only (anyone else gets 404 NOT_FOUND from every one of these). */
    admin: {
      /** Every account by id; `q` keeps those whose username or nickname starts with it. */
      users: (page: { q?: string; cursor?: string; limit?: number } = {}) => call<Page<AdminUser>>('GET', `/admin/users${q(page)}`),
      user: (userId: string) => call<AdminUser>('GET', `/admin/users/${id(userId)}`),
      deleteUser: (userId: string) => call<null>('DELETE', `/admin/users/${id(userId)}`),
      grantAdmin: (userId: string) => call<AdminUser>('PUT', `/admin/users/${id(userId)}/admin`),
      revokeAdmin: (userId: string) => call<AdminUser>('DELETE', `/admin/users/${id(userId)}/admin`),
      /** Ends every session of the account at once; login and refresh answer ACCOUNT_SUSPENDED until unsuspended. */
      suspend: (userId: string, reason?: string) => call<AdminUser>('PUT', `/admin/users/${id(userId)}/suspension`, reason === undefined ? {} : { reason }),
      unsuspend: (userId: string) => call<AdminUser>('DELETE', `/admin/users/${id(userId)}/suspension`),
      /** Without `password` the server generates one; the answer shows it this once. */
      resetPassword: (userId: string, password?: string) => call<ResetPasswordResult>('POST', `/admin/users/${id(userId)}/password`, password === undefined ? {} : { password }),
      deleteMessage: (messageId: string) => call<null>('DELETE', `/admin/messages/${id(messageId)}`),
      dissolveGroup: (groupId: string) => call<null>('DELETE', `/admin/groups/${id(groupId)}`),
      stats: () => call<InstanceStats>('GET', '/admin/stats'),
      /** Newest first; pass the previous page's `nextCursor` as `cursor`. */
      audit: (cursor?: string, limit?: number) => call<Page<AuditEntry>>('GET', `/admin/audit${q({ cursor, limit })}`),
      /** The report queue of one status (open by default), newest first. */
      reports: (page: { status?: Report['status']; cursor?: string; limit?: number } = {}) => call<Page<AdminReport>>('GET', `/admin/reports${q(page)}`),
      /** Closes an open report, first deleting the message or suspending the user when `action` says so. */
      resolveReport: (reportId: string, action: ReportAction, note?: string) =>
        call<AdminReport>('POST', `/admin/reports/${id(reportId)}/resolve`, note === undefined ? { action } : { action, note }),
      dismissReport: (reportId: string, note?: string) => call<AdminReport>('POST', `/admin/reports/${id(reportId)}/dismiss`, note === undefined ? {} : { note }),
    },
    /** Report a message the caller can see, or a user; reporting the same target again while open returns the open report. */
    report: (body: CreateReportBody) => call<Report>('POST', '/reports', body),
  };
}

export type ParleyRest = ReturnType<typeof rest>;
