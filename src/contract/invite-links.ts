import Type, { type Static } from 'typebox';
import { Id, IsoTime } from './common.js';
import { GroupSummary } from './groups.js';
import { Page, PageQuery } from './paging.js';
import { User } from './users.js';

/** An invite link's code: base64url, as the server makes them (32 characters); anything else is refused early. */
export const InviteCode = Type.String({ minLength: 16, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$' });

/**
 * An invite link to a group, as its owner and admins see it: whoever opens `code` (the web client
 * opens it at `/invite/<code>`) may join until it expires, is used `maxUses` times or is revoked.
 */
export const InviteLink = Type.Object({
  id: Type.String(),
  groupId: Type.String(),
  /** The secret: anyone holding it may join while the link works. */
  code: Type.String(),
  /** Who made the link (an owner or admin at the time; the link stops working if they no longer are). */
  creator: User,
  createdAt: IsoTime,
  /** Null: no expiry. */
  expiresAt: Type.Union([IsoTime, Type.Null()]),
  /** Null: no use limit. */
  maxUses: Type.Union([Type.Integer(), Type.Null()]),
  /** How many people joined through it. */
  uses: Type.Integer(),
  /** Set once revoked; a revoked link is listed as history and opens nothing. */
  revokedAt: Type.Union([IsoTime, Type.Null()]),
});
export type InviteLink = Static<typeof InviteLink>;
export const InviteLinkPage = Page(InviteLink);
export const InviteLinkListQuery = Type.Object({ ...PageQuery });

export const CreateInviteLinkBody = Type.Object(
  {
    /** The link stops working this many seconds after it is made (a minute to a year); left out, it does not expire. */
    expiresInSeconds: Type.Optional(Type.Integer({ minimum: 60, maximum: 31_536_000 })),
    /** How many people may join through it; left out, any number. */
    maxUses: Type.Optional(Type.Integer({ minimum: 1, maximum: 100_000 })),
  },
  { additionalProperties: false },
);
export type CreateInviteLinkBody = Static<typeof CreateInviteLinkBody>;

/** What a signed-in user sees of a group before joining it through a link: nothing more. */
export const InvitePreview = Type.Object({
  group: GroupSummary,
  /** True when the caller is already a member (accepting changes nothing). */
  isMember: Type.Boolean(),
});
export type InvitePreview = Static<typeof InvitePreview>;

export const InviteLinkParams = Type.Object({ id: Id, linkId: Id });
export const InviteCodeParams = Type.Object({ code: InviteCode });
