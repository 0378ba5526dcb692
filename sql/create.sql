-- Parley schema for MySQL 5.7+ / MariaDB 10.3+, for operators who create tables by hand.
-- Generated from src/platform/db/migrations by `npm run db:schema`: do not edit, regenerate.
-- Apply to an empty utf8mb4 database: mysql --default-character-set=utf8mb4 parley < sql/create.sql
-- The last statements fill Kysely's kysely_migration tables, so Parley sees these migrations as applied.

create table `users` (
  `id` varchar(36) primary key,
  `username` varchar(32) not null,
  `username_lower` varchar(32) not null unique,
  `nickname` varchar(64) not null,
  `nickname_lower` varchar(64) not null,
  `email` varchar(254),
  `email_lower` varchar(254) unique,
  `password_hash` varchar(255),
  `is_guest` integer default 0 not null,
  `avatar_url` varchar(512),
  `bio` varchar(500) default '' not null,
  `created_at` bigint not null,
  `updated_at` bigint not null,
  `last_login_at` bigint not null,
  `last_seen_at` bigint
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

create index `users_nickname_lower` on `users` (`nickname_lower`);

create index `users_guest_last_login` on `users` (`is_guest`, `last_login_at`);

create table `profiles` (
  `user_id` varchar(36) primary key,
  `gender` varchar(16),
  `birthday` varchar(10),
  `location` varchar(100),
  `website` varchar(255),
  `status_text` varchar(140),
  `allow_messages_from` varchar(16) default 'everyone' not null,
  `updated_at` bigint not null,
  constraint `profiles_user_id_fk` foreign key (`user_id`) references `users` (`id`) on delete cascade
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

create table `sessions` (
  `id` varchar(36) primary key,
  `user_id` varchar(36) not null,
  `refresh_generation` integer default 0 not null,
  `ip` varchar(64) not null,
  `user_agent` varchar(512) not null,
  `created_at` bigint not null,
  `last_used_at` bigint not null,
  `expires_at` bigint not null,
  `revoked_at` bigint,
  `revoked_reason` varchar(32),
  constraint `sessions_user_id_fk` foreign key (`user_id`) references `users` (`id`) on delete cascade
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

create index `sessions_user` on `sessions` (`user_id`, `revoked_at`);

create table `login_logs` (
  `id` bigint primary key auto_increment,
  `user_id` varchar(36),
  `username` varchar(64) not null,
  `success` integer not null,
  `method` varchar(16) not null,
  `reason` varchar(32),
  `ip` varchar(64) not null,
  `user_agent` varchar(512) not null,
  `created_at` bigint not null,
  constraint `login_logs_user_id_fk` foreign key (`user_id`) references `users` (`id`) on delete cascade
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

create index `login_logs_user` on `login_logs` (`user_id`, `id`);

create table `friend_requests` (
  `id` varchar(36) primary key,
  `from_user_id` varchar(36) not null,
  `to_user_id` varchar(36) not null,
  `message` varchar(200) default '' not null,
  `status` varchar(16) not null,
  `created_at` bigint not null,
  `responded_at` bigint,
  constraint `friend_requests_from_user_id_fk` foreign key (`from_user_id`) references `users` (`id`) on delete cascade,
  constraint `friend_requests_to_user_id_fk` foreign key (`to_user_id`) references `users` (`id`) on delete cascade
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

create index `friend_requests_to` on `friend_requests` (`to_user_id`, `status`);

create index `friend_requests_from` on `friend_requests` (`from_user_id`, `status`);

create table `friendships` (
  `user_id` varchar(36) not null,
  `friend_id` varchar(36) not null,
  `created_at` bigint not null,
  constraint `friendships_pk` primary key (`user_id`, `friend_id`),
  constraint `friendships_user_id_fk` foreign key (`user_id`) references `users` (`id`) on delete cascade,
  constraint `friendships_friend_id_fk` foreign key (`friend_id`) references `users` (`id`) on delete cascade
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

create index `friendships_friend` on `friendships` (`friend_id`);

create table `blocks` (
  `blocker_id` varchar(36) not null,
  `blocked_id` varchar(36) not null,
  `created_at` bigint not null,
  constraint `blocks_pk` primary key (`blocker_id`, `blocked_id`),
  constraint `blocks_blocker_id_fk` foreign key (`blocker_id`) references `users` (`id`) on delete cascade,
  constraint `blocks_blocked_id_fk` foreign key (`blocked_id`) references `users` (`id`) on delete cascade
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

create index `blocks_blocked` on `blocks` (`blocked_id`);

create table `user_groups` (
  `id` varchar(36) primary key,
  `name` varchar(64) not null,
  `description` varchar(500) default '' not null,
  `owner_id` varchar(36) not null,
  `created_at` bigint not null,
  `updated_at` bigint not null,
  constraint `user_groups_owner_id_fk` foreign key (`owner_id`) references `users` (`id`) on delete cascade
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

create table `group_members` (
  `group_id` varchar(36) not null,
  `user_id` varchar(36) not null,
  `role` varchar(8) not null,
  `muted_until` bigint,
  `joined_at` bigint not null,
  constraint `group_members_pk` primary key (`group_id`, `user_id`),
  constraint `group_members_group_id_fk` foreign key (`group_id`) references `user_groups` (`id`) on delete cascade,
  constraint `group_members_user_id_fk` foreign key (`user_id`) references `users` (`id`) on delete cascade
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

create index `group_members_user` on `group_members` (`user_id`);

create table `conversations` (
  `id` varchar(80) primary key,
  `type` varchar(8) not null,
  `group_id` varchar(36),
  `user_low` varchar(36),
  `user_high` varchar(36),
  `last_message_id` bigint,
  `created_at` bigint not null,
  `updated_at` bigint not null,
  constraint `conversations_group_id_fk` foreign key (`group_id`) references `user_groups` (`id`) on delete cascade,
  constraint `conversations_user_low_fk` foreign key (`user_low`) references `users` (`id`) on delete cascade,
  constraint `conversations_user_high_fk` foreign key (`user_high`) references `users` (`id`) on delete cascade
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

create index `conversations_user_low` on `conversations` (`user_low`);

create index `conversations_user_high` on `conversations` (`user_high`);

create index `conversations_group` on `conversations` (`group_id`);

create table `messages` (
  `id` bigint primary key auto_increment,
  `conversation_id` varchar(80) not null,
  `sender_id` varchar(36) not null,
  `type` varchar(16) not null,
  `content` text not null,
  `client_msg_id` varchar(64) not null,
  `reply_to_id` bigint,
  `attachments` text,
  `created_at` bigint not null,
  `edited_at` bigint,
  `recalled_at` bigint,
  constraint `messages_conversation_id_fk` foreign key (`conversation_id`) references `conversations` (`id`) on delete cascade
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

create unique index `messages_sender_client_id` on `messages` (`sender_id`, `client_msg_id`);

create index `messages_conversation_id` on `messages` (`conversation_id`, `id`);

create table `message_reactions` (
  `message_id` bigint not null,
  `user_id` varchar(36) not null,
  `emoji` varchar(64) not null,
  `created_at` bigint not null,
  constraint `message_reactions_pk` primary key (`message_id`, `user_id`, `emoji`),
  constraint `message_reactions_message_id_fk` foreign key (`message_id`) references `messages` (`id`) on delete cascade
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

create table `conversation_reads` (
  `conversation_id` varchar(80) not null,
  `user_id` varchar(36) not null,
  `last_read_message_id` bigint not null,
  `updated_at` bigint not null,
  constraint `conversation_reads_pk` primary key (`conversation_id`, `user_id`),
  constraint `conversation_reads_conversation_id_fk` foreign key (`conversation_id`) references `conversations` (`id`) on delete cascade,
  constraint `conversation_reads_user_id_fk` foreign key (`user_id`) references `users` (`id`) on delete cascade
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

create table `calls` (
  `id` varchar(36) primary key,
  `caller_id` varchar(36) not null,
  `callee_id` varchar(36) not null,
  `media` varchar(8) not null,
  `state` varchar(20) not null,
  `end_reason` varchar(64),
  `ended_by` varchar(36),
  `started_at` bigint not null,
  `answered_at` bigint,
  `ended_at` bigint,
  `duration_sec` integer,
  `message_id` bigint,
  constraint `calls_caller_id_fk` foreign key (`caller_id`) references `users` (`id`) on delete cascade,
  constraint `calls_callee_id_fk` foreign key (`callee_id`) references `users` (`id`) on delete cascade
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

create index `calls_caller_started` on `calls` (`caller_id`, `started_at`);

create index `calls_callee_started` on `calls` (`callee_id`, `started_at`);

create index `calls_state` on `calls` (`state`);

create table `uploads` (
  `id` varchar(36) primary key,
  `uploader_id` varchar(36) not null,
  `purpose` varchar(16) not null,
  `filename` varchar(255) not null,
  `declared_type` varchar(127) not null,
  `size` bigint not null,
  `conversation_id` varchar(80),
  `state` varchar(12) not null,
  `created_at` bigint not null,
  constraint `uploads_uploader_id_fk` foreign key (`uploader_id`) references `users` (`id`) on delete cascade
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

create index `uploads_uploader_state` on `uploads` (`uploader_id`, `state`);

create index `uploads_state_created` on `uploads` (`state`, `created_at`);

create table `files` (
  `id` varchar(36) primary key,
  `uploader_id` varchar(36) not null,
  `purpose` varchar(16) not null,
  `filename` varchar(255) not null,
  `content_type` varchar(127) not null,
  `size` bigint not null,
  `sha256` varchar(64) not null,
  `storage_key` varchar(128) not null,
  `width` integer,
  `height` integer,
  `thumbnail_key` varchar(128),
  `created_at` bigint not null,
  constraint `files_uploader_id_fk` foreign key (`uploader_id`) references `users` (`id`) on delete cascade
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

create index `files_uploader` on `files` (`uploader_id`);

create table `file_links` (
  `file_id` varchar(36) not null,
  `conversation_id` varchar(80) not null,
  `created_at` bigint not null,
  constraint `file_links_pk` primary key (`file_id`, `conversation_id`),
  constraint `file_links_file_id_fk` foreign key (`file_id`) references `files` (`id`) on delete cascade,
  constraint `file_links_conversation_id_fk` foreign key (`conversation_id`) references `conversations` (`id`) on delete cascade
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

create index `file_links_conversation` on `file_links` (`conversation_id`);

create table `ai_conversations` (
  `id` varchar(36) primary key,
  `user_id` varchar(36) not null,
  `title` varchar(200) not null,
  `model` varchar(200),
  `system_prompt` text,
  `created_at` bigint not null,
  `updated_at` bigint not null,
  constraint `ai_conversations_user_id_fk` foreign key (`user_id`) references `users` (`id`) on delete cascade
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

create index `ai_conversations_user` on `ai_conversations` (`user_id`, `id`);

create table `ai_messages` (
  `id` bigint primary key auto_increment,
  `conversation_id` varchar(36) not null,
  `role` varchar(16) not null,
  `content` mediumtext not null,
  `status` varchar(16) not null,
  `model` varchar(200),
  `error_code` varchar(40),
  `error_message` varchar(500),
  `input_tokens` integer,
  `output_tokens` integer,
  `created_at` bigint not null,
  `completed_at` bigint,
  constraint `ai_messages_conversation_id_fk` foreign key (`conversation_id`) references `ai_conversations` (`id`) on delete cascade
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

create index `ai_messages_conversation` on `ai_messages` (`conversation_id`, `id`);

create table `group_invitations` (
  `id` varchar(36) primary key,
  `group_id` varchar(36) not null,
  `inviter_id` varchar(36) not null,
  `invitee_id` varchar(36) not null,
  `state` varchar(16) not null,
  `created_at` bigint not null,
  `answered_at` bigint,
  constraint `group_invitations_group_invitee` unique (`group_id`, `invitee_id`),
  constraint `group_invitations_group_id_fk` foreign key (`group_id`) references `user_groups` (`id`) on delete cascade,
  constraint `group_invitations_inviter_id_fk` foreign key (`inviter_id`) references `users` (`id`) on delete cascade,
  constraint `group_invitations_invitee_id_fk` foreign key (`invitee_id`) references `users` (`id`) on delete cascade
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

create index `group_invitations_invitee` on `group_invitations` (`invitee_id`, `state`, `created_at`, `id`);

create index `group_invitations_inviter` on `group_invitations` (`inviter_id`, `invitee_id`);

alter table `profiles` add column `smart_replies` integer default 0 not null;

create table `link_previews` (
  `url_hash` varchar(64) primary key,
  `url` varchar(2048) not null,
  `ok` integer not null,
  `title` varchar(300),
  `description` varchar(1000),
  `image` varchar(2048),
  `site_name` varchar(200),
  `fetched_at` bigint not null,
  `expires_at` bigint not null
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

create table `message_previews` (
  `message_id` bigint primary key,
  `url_hash` varchar(64) not null,
  `created_at` bigint not null,
  constraint `message_previews_message_id_fk` foreign key (`message_id`) references `messages` (`id`) on delete cascade,
  constraint `message_previews_url_hash_fk` foreign key (`url_hash`) references `link_previews` (`url_hash`) on delete cascade
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

create index `message_previews_url_hash` on `message_previews` (`url_hash`);

create table `message_pins` (
  `message_id` bigint primary key,
  `conversation_id` varchar(80) not null,
  `pinned_by` varchar(36) not null,
  `pinned_at` bigint not null,
  constraint `message_pins_message_id_fk` foreign key (`message_id`) references `messages` (`id`) on delete cascade,
  constraint `message_pins_conversation_id_fk` foreign key (`conversation_id`) references `conversations` (`id`) on delete cascade,
  constraint `message_pins_pinned_by_fk` foreign key (`pinned_by`) references `users` (`id`) on delete cascade
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

create index `message_pins_conversation` on `message_pins` (`conversation_id`, `pinned_at`, `message_id`);

create table `message_forwards` (
  `message_id` bigint primary key,
  `origin_sender_id` varchar(36) not null,
  `origin_sender_name` varchar(255) not null,
  `origin_sent_at` bigint not null,
  constraint `message_forwards_message_id_fk` foreign key (`message_id`) references `messages` (`id`) on delete cascade
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

create table `group_invite_links` (
  `id` varchar(36) primary key,
  `group_id` varchar(36) not null,
  `code` varchar(64) not null unique,
  `creator_id` varchar(36) not null,
  `max_uses` integer,
  `uses` integer default 0 not null,
  `expires_at` bigint,
  `created_at` bigint not null,
  `revoked_at` bigint,
  constraint `group_invite_links_group_id_fk` foreign key (`group_id`) references `user_groups` (`id`) on delete cascade,
  constraint `group_invite_links_creator_id_fk` foreign key (`creator_id`) references `users` (`id`) on delete cascade
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

create index `group_invite_links_group` on `group_invite_links` (`group_id`, `created_at`, `id`);

create table `group_link_removals` (
  `group_id` varchar(36) not null,
  `user_id` varchar(36) not null,
  `removed_at` bigint not null,
  constraint `group_link_removals_pk` primary key (`group_id`, `user_id`),
  constraint `group_link_removals_group_id_fk` foreign key (`group_id`) references `user_groups` (`id`) on delete cascade,
  constraint `group_link_removals_user_id_fk` foreign key (`user_id`) references `users` (`id`) on delete cascade
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

create table `instance_admins` (
  `user_id` varchar(36) primary key,
  `granted_by` varchar(36) not null,
  `granted_at` bigint not null,
  constraint `instance_admins_user_id_fk` foreign key (`user_id`) references `users` (`id`) on delete cascade
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

create table `user_suspensions` (
  `user_id` varchar(36) primary key,
  `suspended_by` varchar(36) not null,
  `reason` varchar(500) not null,
  `suspended_at` bigint not null,
  constraint `user_suspensions_user_id_fk` foreign key (`user_id`) references `users` (`id`) on delete cascade
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

create table `audit_log` (
  `id` bigint primary key auto_increment,
  `actor_id` varchar(36) not null,
  `action` varchar(40) not null,
  `target_type` varchar(20) not null,
  `target_id` varchar(80) not null,
  `details` text,
  `created_at` bigint not null
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

create table `message_mentions` (
  `message_id` bigint not null,
  `user_id` varchar(36) not null,
  `conversation_id` varchar(80) not null,
  `sender_id` varchar(36) not null,
  constraint `message_mentions_pk` primary key (`message_id`, `user_id`),
  constraint `message_mentions_message_id_fk` foreign key (`message_id`) references `messages` (`id`) on delete cascade
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

create index `message_mentions_unread` on `message_mentions` (`conversation_id`, `user_id`, `message_id`);

create table `conversation_notifications` (
  `conversation_id` varchar(80) not null,
  `user_id` varchar(36) not null,
  `level` varchar(16) not null,
  `until` bigint,
  `updated_at` bigint not null,
  constraint `conversation_notifications_pk` primary key (`conversation_id`, `user_id`),
  constraint `conversation_notifications_user_id_fk` foreign key (`user_id`) references `users` (`id`) on delete cascade
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

create table `push_subscriptions` (
  `id` varchar(36) primary key,
  `user_id` varchar(36) not null,
  `session_id` varchar(36) not null,
  `endpoint` varchar(2048) not null,
  `endpoint_hash` varchar(64) not null unique,
  `p256dh` varchar(128) not null,
  `auth` varchar(64) not null,
  `previews` integer default 0 not null,
  `created_at` bigint not null,
  constraint `push_subscriptions_user_id_fk` foreign key (`user_id`) references `users` (`id`) on delete cascade,
  constraint `push_subscriptions_session_id_fk` foreign key (`session_id`) references `sessions` (`id`) on delete cascade
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

create index `push_subscriptions_user` on `push_subscriptions` (`user_id`, `created_at`);

create index `push_subscriptions_session` on `push_subscriptions` (`session_id`);

create table `reports` (
  `id` bigint primary key auto_increment,
  `reporter_id` varchar(36) not null,
  `target_type` varchar(10) not null,
  `target_user_id` varchar(36) not null,
  `message_id` bigint,
  `conversation_id` varchar(80),
  `message_content` text,
  `reason` varchar(16) not null,
  `note` varchar(1000) not null,
  `status` varchar(12) not null,
  `created_at` bigint not null,
  `closed_by` varchar(36),
  `closed_at` bigint,
  `action` varchar(20),
  `resolution_note` varchar(1000),
  constraint `reports_reporter_id_fk` foreign key (`reporter_id`) references `users` (`id`) on delete cascade
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

create index `reports_status` on `reports` (`status`, `id`);

create index `reports_reporter_target` on `reports` (`reporter_id`, `target_user_id`, `status`);

alter table `users` add column `is_bot` integer default 0 not null;

create table `bots` (
  `user_id` varchar(36) primary key,
  `owner_id` varchar(36) not null,
  `created_at` bigint not null,
  constraint `bots_user_id_fk` foreign key (`user_id`) references `users` (`id`) on delete cascade,
  constraint `bots_owner_id_fk` foreign key (`owner_id`) references `users` (`id`) on delete cascade
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

create index `bots_owner` on `bots` (`owner_id`, `created_at`);

create table `bot_tokens` (
  `id` varchar(36) primary key,
  `bot_id` varchar(36) not null,
  `token_hash` varchar(64) not null unique,
  `conversation_ids` text not null,
  `actions` text not null,
  `created_at` bigint not null,
  `revoked_at` bigint,
  constraint `bot_tokens_bot_id_fk` foreign key (`bot_id`) references `users` (`id`) on delete cascade
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

create index `bot_tokens_bot` on `bot_tokens` (`bot_id`, `created_at`);

create table `webhooks` (
  `id` varchar(36) primary key,
  `owner_id` varchar(36) not null,
  `bot_id` varchar(36),
  `url` varchar(2048) not null,
  `secret` varchar(100) not null,
  `events` text not null,
  `conversation_ids` text not null,
  `created_at` bigint not null,
  constraint `webhooks_owner_id_fk` foreign key (`owner_id`) references `users` (`id`) on delete cascade,
  constraint `webhooks_bot_id_fk` foreign key (`bot_id`) references `users` (`id`) on delete cascade
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

create index `webhooks_owner` on `webhooks` (`owner_id`, `created_at`);

create table `webhook_deliveries` (
  `id` varchar(36) primary key,
  `webhook_id` varchar(36) not null,
  `event` varchar(40) not null,
  `payload` text not null,
  `status` varchar(12) not null,
  `attempts` integer default 0 not null,
  `next_attempt_at` bigint not null,
  `claimed_until` bigint,
  `last_status` integer,
  `last_error` varchar(300),
  `created_at` bigint not null,
  `delivered_at` bigint,
  constraint `webhook_deliveries_webhook_id_fk` foreign key (`webhook_id`) references `webhooks` (`id`) on delete cascade
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

create index `webhook_deliveries_due` on `webhook_deliveries` (`status`, `next_attempt_at`);

create index `webhook_deliveries_log` on `webhook_deliveries` (`webhook_id`, `created_at`, `id`);

create table `incoming_webhooks` (
  `id` varchar(36) primary key,
  `conversation_id` varchar(80) not null,
  `creator_id` varchar(36) not null,
  `bot_id` varchar(36) not null,
  `token_hash` varchar(64) not null unique,
  `created_at` bigint not null,
  `revoked_at` bigint,
  constraint `incoming_webhooks_creator_id_fk` foreign key (`creator_id`) references `users` (`id`) on delete cascade,
  constraint `incoming_webhooks_bot_id_fk` foreign key (`bot_id`) references `users` (`id`) on delete cascade
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

create index `incoming_webhooks_conversation` on `incoming_webhooks` (`conversation_id`, `created_at`);

create table `message_search_tokens` (
  `message_id` bigint not null,
  `token` varchar(12) not null,
  `conversation_id` varchar(80) not null,
  constraint `message_search_tokens_pk` primary key (`message_id`, `token`),
  constraint `message_search_tokens_message_id_fk` foreign key (`message_id`) references `messages` (`id`) on delete cascade
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

create index `message_search_tokens_lookup` on `message_search_tokens` (`token`, `message_id`, `conversation_id`);

alter table `reports` add column `open_target` bigint generated always as (case when `status` = 'open' then coalesce(`message_id`, 0) end) stored;

create unique index `reports_open_target` on `reports` (`reporter_id`, `target_user_id`, `open_target`);

drop index `reports_reporter_target` on `reports`;

create table if not exists `kysely_migration` (
  `name` varchar(255) not null primary key,
  `timestamp` varchar(255) not null
);

create table if not exists `kysely_migration_lock` (
  `id` varchar(255) not null primary key,
  `is_locked` integer default 0 not null
);

insert into `kysely_migration_lock` (`id`, `is_locked`) values ('migration_lock', 0);

insert into `kysely_migration` (`name`, `timestamp`) values ('0001_users', date_format(utc_timestamp(3), '%Y-%m-%dT%H:%i:%s.%fZ')), ('0002_messaging', date_format(utc_timestamp(3), '%Y-%m-%dT%H:%i:%s.%fZ')), ('0003_calls', date_format(utc_timestamp(3), '%Y-%m-%dT%H:%i:%s.%fZ')), ('0004_files', date_format(utc_timestamp(3), '%Y-%m-%dT%H:%i:%s.%fZ')), ('0005_ai', date_format(utc_timestamp(3), '%Y-%m-%dT%H:%i:%s.%fZ')), ('0008_group_invitations', date_format(utc_timestamp(3), '%Y-%m-%dT%H:%i:%s.%fZ')), ('0010_smart_replies', date_format(utc_timestamp(3), '%Y-%m-%dT%H:%i:%s.%fZ')), ('0011_link_previews', date_format(utc_timestamp(3), '%Y-%m-%dT%H:%i:%s.%fZ')), ('0012_pins_forwards', date_format(utc_timestamp(3), '%Y-%m-%dT%H:%i:%s.%fZ')), ('0013_group_invite_links', date_format(utc_timestamp(3), '%Y-%m-%dT%H:%i:%s.%fZ')), ('0015_admin', date_format(utc_timestamp(3), '%Y-%m-%dT%H:%i:%s.%fZ')), ('0016_mentions_notifications', date_format(utc_timestamp(3), '%Y-%m-%dT%H:%i:%s.%fZ')), ('0017_push_subscriptions', date_format(utc_timestamp(3), '%Y-%m-%dT%H:%i:%s.%fZ')), ('0018_reports', date_format(utc_timestamp(3), '%Y-%m-%dT%H:%i:%s.%fZ')), ('0019_bots_webhooks', date_format(utc_timestamp(3), '%Y-%m-%dT%H:%i:%s.%fZ')), ('0020_search_index', date_format(utc_timestamp(3), '%Y-%m-%dT%H:%i:%s.%fZ')), ('0021_sqlite_search_fts', date_format(utc_timestamp(3), '%Y-%m-%dT%H:%i:%s.%fZ')), ('0022_reports_open_unique', date_format(utc_timestamp(3), '%Y-%m-%dT%H:%i:%s.%fZ')), ('0023_postgres_store_messages', date_format(utc_timestamp(3), '%Y-%m-%dT%H:%i:%s.%fZ'));
