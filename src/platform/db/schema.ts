import type { ColumnType, Generated } from 'kysely';

/** Row shapes as stored. Times are epoch milliseconds (BIGINT): one representation on every dialect. */
export interface UsersTable {
  id: string;
  username: string;
  username_lower: string;
  nickname: string;
  nickname_lower: string;
  email: string | null;
  email_lower: string | null;
  password_hash: string | null;
  is_guest: number;
  avatar_url: string | null;
  bio: string;
  created_at: number;
  updated_at: number;
  last_login_at: number;
  last_seen_at: number | null;
  /** 1 for a bot account (owned by a user, in `bots`). */
  is_bot: Generated<number>;
}

export interface ProfilesTable {
  user_id: string;
  gender: string | null;
  birthday: string | null;
  location: string | null;
  website: string | null;
  status_text: string | null;
  allow_messages_from: string;
  /** 1 once the user turned smart replies on (they send the open chat to an AI provider). */
  smart_replies: Generated<number>;
  updated_at: number;
}

export interface SessionsTable {
  id: string;
  user_id: string;
  /** Bumped on every refresh; a refresh token carrying an older generation is a reuse. */
  refresh_generation: number;
  ip: string;
  user_agent: string;
  created_at: number;
  last_used_at: number;
  expires_at: number;
  revoked_at: number | null;
  revoked_reason: string | null;
}

export interface LoginLogsTable {
  id: Generated<number>;
  user_id: string | null;
  username: string;
  success: number;
  method: string;
  reason: string | null;
  ip: string;
  user_agent: string;
  created_at: number;
}

export interface FriendRequestsTable {
  id: string;
  from_user_id: string;
  to_user_id: string;
  message: string;
  status: string;
  created_at: number;
  responded_at: number | null;
}

export interface FriendshipsTable {
  user_id: string;
  friend_id: string;
  created_at: number;
}

export interface BlocksTable {
  blocker_id: string;
  blocked_id: string;
  created_at: number;
}

export interface UserGroupsTable {
  id: string;
  name: string;
  description: string;
  owner_id: string;
  created_at: number;
  updated_at: number;
}

export interface GroupMembersTable {
  group_id: string;
  user_id: string;
  role: string;
  muted_until: number | null;
  joined_at: number;
}

export interface GroupInvitationsTable {
  id: string;
  group_id: string;
  inviter_id: string;
  invitee_id: string;
  state: string;
  created_at: number;
  answered_at: number | null;
}

export interface GroupInviteLinksTable {
  id: string;
  group_id: string;
  code: string;
  creator_id: string;
  max_uses: number | null;
  uses: number;
  expires_at: number | null;
  created_at: number;
  revoked_at: number | null;
}

export interface GroupLinkRemovalsTable {
  group_id: string;
  user_id: string;
  removed_at: number;
}

export interface ConversationsTable {
  id: string;
  type: string;
  group_id: string | null;
  user_low: string | null;
  user_high: string | null;
  last_message_id: number | null;
  created_at: number;
  updated_at: number;
}

export interface MessagesTable {
  id: Generated<number>;
  conversation_id: string;
  sender_id: string;
  type: string;
  content: string;
  client_msg_id: string;
  reply_to_id: number | null;
  /** JSON array of attachments, or null. */
  attachments: string | null;
  created_at: number;
  edited_at: number | null;
  recalled_at: number | null;
}

/**
 * The search index: one row per distinct token of a searchable, unrecalled message (see
 * src/shared/search-tokens.ts). Written with the message, replaced on edit, removed on recall.
 */
export interface MessageSearchTokensTable {
  message_id: number;
  token: string;
  conversation_id: string;
}

/**
 * The search index on SQLite (migration 0021, instead of `message_search_tokens`): an FTS5 table,
 * one row per indexed message under the message's id, its tokens joined by spaces and the word
 * standing for its conversation (src/platform/db/search-index.ts). Queried with
 * `message_search_fts MATCH`; no such table on MySQL/MariaDB or PostgreSQL.
 */
export interface MessageSearchFtsTable {
  rowid: number;
  tokens: string;
  conversation: string;
}

/** One fetched URL's preview (or the record that fetching it failed), kept until `expires_at`. */
export interface LinkPreviewsTable {
  url_hash: string;
  url: string;
  /** 1: a preview was found; 0: the fetch failed or the page had nothing to show. */
  ok: number;
  title: string | null;
  description: string | null;
  image: string | null;
  site_name: string | null;
  fetched_at: number;
  expires_at: number;
}

/** The preview shown under a message: the one of its first link. */
export interface MessagePreviewsTable {
  message_id: number;
  url_hash: string;
  created_at: number;
}

export interface MessageReactionsTable {
  message_id: number;
  user_id: string;
  emoji: string;
  created_at: number;
}

export interface ConversationReadsTable {
  conversation_id: string;
  user_id: string;
  last_read_message_id: number;
  updated_at: number;
}

export interface CallsTable {
  id: string;
  caller_id: string;
  callee_id: string;
  media: string;
  /** ringing, accepted (in progress), or the final state: ended, rejected, cancelled, missed, busy. */
  state: string;
  end_reason: string | null;
  ended_by: string | null;
  started_at: number;
  answered_at: number | null;
  ended_at: number | null;
  duration_sec: number | null;
  /** The `call` message the call left in the private conversation. */
  message_id: number | null;
}

export interface UploadsTable {
  id: string;
  uploader_id: string;
  /** attachment | avatar */
  purpose: string;
  /** Sanitised name the client gave; never part of a storage path. */
  filename: string;
  declared_type: string;
  size: number;
  conversation_id: string | null;
  /** uploading | complete | failed */
  state: string;
  created_at: number;
}

export interface FilesTable {
  id: string;
  uploader_id: string;
  purpose: string;
  filename: string;
  /** Sniffed from the bytes; application/octet-stream when unknown. */
  content_type: string;
  size: number;
  sha256: string;
  /** Path relative to UPLOAD_DIR, made by the server only. */
  storage_key: string;
  width: number | null;
  height: number | null;
  thumbnail_key: string | null;
  created_at: number;
}

/** A pinned message (migration 0012). */
export interface MessagePinsTable {
  message_id: number;
  conversation_id: string;
  pinned_by: string;
  pinned_at: number;
}

/** A member a message mentions, or '*' for @all (migration 0016). */
export interface MessageMentionsTable {
  message_id: number;
  user_id: string;
  conversation_id: string;
  sender_id: string;
}

/** A user's notification level in one conversation when it is not the default 'all' (migration 0016). */
export interface ConversationNotificationsTable {
  conversation_id: string;
  user_id: string;
  level: string;
  until: number | null;
  updated_at: number;
}

/** Where a forwarded message came from (migration 0012). */
export interface MessageForwardsTable {
  message_id: number;
  origin_sender_id: string;
  origin_sender_name: string;
  origin_sent_at: number;
}

export interface FileLinksTable {
  file_id: string;
  conversation_id: string;
  created_at: number;
}

export interface AiConversationsTable {
  id: string;
  user_id: string;
  title: string;
  /** `provider/model` the conversation uses when a request names none; null: the server default. */
  model: string | null;
  system_prompt: string | null;
  created_at: number;
  updated_at: number;
}

export interface AiMessagesTable {
  id: Generated<number>;
  conversation_id: string;
  /** user | assistant */
  role: string;
  content: string;
  /** streaming | complete | failed */
  status: string;
  model: string | null;
  error_code: string | null;
  error_message: string | null;
  input_tokens: number | null;
  output_tokens: number | null;
  created_at: number;
  completed_at: number | null;
}

export interface InstanceAdminsTable {
  user_id: string;
  granted_by: string;
  granted_at: number;
}

export interface UserSuspensionsTable {
  user_id: string;
  suspended_by: string;
  reason: string;
  suspended_at: number;
}

/** Append-only: the code has no update or delete of it. */
export interface AuditLogTable {
  id: Generated<number>;
  actor_id: string;
  action: string;
  target_type: string;
  target_id: string;
  /** JSON object, or null. */
  details: string | null;
  created_at: number;
}

export interface ReportsTable {
  id: Generated<number>;
  reporter_id: string;
  target_type: string;
  target_user_id: string;
  message_id: number | string | null;
  conversation_id: string | null;
  message_content: string | null;
  reason: string;
  note: string;
  status: string;
  created_at: number;
  closed_by: string | null;
  closed_at: number | null;
  action: string | null;
  resolution_note: string | null;
  /** Generated (0022): the message id, or 0 for a user, while open; NULL once closed. Unique per reporter and target user. */
  open_target: ColumnType<number | string | null, never, never>;
}

/** A browser's Web Push subscription, owned by the session that made it. */
export interface PushSubscriptionsTable {
  id: string;
  user_id: string;
  session_id: string;
  endpoint: string;
  /** SHA-256 of the endpoint, hex: the unique key. */
  endpoint_hash: string;
  p256dh: string;
  auth: string;
  /** 1: notifications may carry message text. */
  previews: number;
  created_at: number;
}

export interface BotsTable {
  user_id: string;
  owner_id: string;
  created_at: number;
}

export interface BotTokensTable {
  id: string;
  bot_id: string;
  token_hash: string;
  /** JSON array of conversation ids. */
  conversation_ids: string;
  /** JSON array of actions. */
  actions: string;
  created_at: number;
  revoked_at: number | null;
}

export interface WebhooksTable {
  id: string;
  owner_id: string;
  bot_id: string | null;
  url: string;
  secret: string;
  /** JSON arrays. */
  events: string;
  conversation_ids: string;
  created_at: number;
}

export interface WebhookDeliveriesTable {
  id: string;
  webhook_id: string;
  event: string;
  payload: string;
  status: string;
  attempts: number;
  next_attempt_at: number;
  claimed_until: number | null;
  last_status: number | null;
  last_error: string | null;
  created_at: number;
  delivered_at: number | null;
}

export interface IncomingWebhooksTable {
  id: string;
  conversation_id: string;
  creator_id: string;
  bot_id: string;
  token_hash: string;
  created_at: number;
  revoked_at: number | null;
}

export interface Database {
  users: UsersTable;
  profiles: ProfilesTable;
  sessions: SessionsTable;
  login_logs: LoginLogsTable;
  friend_requests: FriendRequestsTable;
  friendships: FriendshipsTable;
  blocks: BlocksTable;
  user_groups: UserGroupsTable;
  group_members: GroupMembersTable;
  group_invitations: GroupInvitationsTable;
  group_invite_links: GroupInviteLinksTable;
  group_link_removals: GroupLinkRemovalsTable;
  conversations: ConversationsTable;
  messages: MessagesTable;
  message_search_tokens: MessageSearchTokensTable;
  message_search_fts: MessageSearchFtsTable;
  message_reactions: MessageReactionsTable;
  link_previews: LinkPreviewsTable;
  message_previews: MessagePreviewsTable;
  conversation_reads: ConversationReadsTable;
  uploads: UploadsTable;
  files: FilesTable;
  file_links: FileLinksTable;
  calls: CallsTable;
  ai_conversations: AiConversationsTable;
  ai_messages: AiMessagesTable;
  message_pins: MessagePinsTable;
  message_forwards: MessageForwardsTable;
  message_mentions: MessageMentionsTable;
  conversation_notifications: ConversationNotificationsTable;
  instance_admins: InstanceAdminsTable;
  bots: BotsTable;
  bot_tokens: BotTokensTable;
  webhooks: WebhooksTable;
  webhook_deliveries: WebhookDeliveriesTable;
  incoming_webhooks: IncomingWebhooksTable;
  user_suspensions: UserSuspensionsTable;
  audit_log: AuditLogTable;
  reports: ReportsTable;
  push_subscriptions: PushSubscriptionsTable;
}
