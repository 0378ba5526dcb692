import type { Migration, MigrationProvider } from 'kysely';
import * as m0001 from './0001_users.js';
import * as m0002 from './0002_messaging.js';
import * as m0003 from './0003_calls.js';
import * as m0004 from './0004_files.js';
import * as m0005 from './0005_ai.js';
import * as m0008 from './0008_group_invitations.js';
import * as m0010 from './0010_smart_replies.js';
import * as m0011 from './0011_link_previews.js';
import * as m0012 from './0012_pins_forwards.js';
import * as m0013 from './0013_group_invite_links.js';
import * as m0015 from './0015_admin.js';
import * as m0016 from './0016_mentions_notifications.js';
import * as m0017 from './0017_push_subscriptions.js';
import * as m0018 from './0018_reports.js';
import * as m0019 from './0019_bots_webhooks.js';
import * as m0020 from './0020_search_index.js';
import * as m0021 from './0021_sqlite_search_fts.js';
import * as m0022 from './0022_reports_open_unique.js';
import * as m0023 from './0023_postgres_store_messages.js';

/**
 * Every migration in order. They are imported statically (not read from a folder) so the built
 * server, the tests and the schema printer all see the same list.
 */
export const migrations: Record<string, Migration> = {
  '0001_users': m0001,
  '0002_messaging': m0002,
  '0003_calls': m0003,
  '0004_files': m0004,
  '0005_ai': m0005,
  '0008_group_invitations': m0008,
  '0010_smart_replies': m0010,
  '0011_link_previews': m0011,
  '0012_pins_forwards': m0012,
  '0013_group_invite_links': m0013,
  '0015_admin': m0015,
  '0016_mentions_notifications': m0016,
  '0017_push_subscriptions': m0017,
  '0018_reports': m0018,
  '0019_bots_webhooks': m0019,
  '0020_search_index': m0020,
  '0021_sqlite_search_fts': m0021,
  '0022_reports_open_unique': m0022,
  '0023_postgres_store_messages': m0023,
};

export const migrationProvider: MigrationProvider = {
  getMigrations: async () => migrations,
};
