import Type, { type Static } from 'typebox';
import { Id, IsoTime } from './common.js';
import { Page, PageQuery } from './paging.js';
import { Presence } from './presence.js';
import { User } from './users.js';

export const GroupRole = Type.Union([Type.Literal('owner'), Type.Literal('admin'), Type.Literal('member')]);
export type GroupRole = Static<typeof GroupRole>;

export const Group = Type.Object({
  id: Type.String(),
  name: Type.String(),
  description: Type.String(),
  ownerId: Type.String(),
  memberCount: Type.Integer(),
  /** The group's conversation, for messages. */
  conversationId: Type.String(),
  createdAt: IsoTime,
});
export type Group = Static<typeof Group>;
export const GroupPage = Page(Group);
export const GroupListQuery = Type.Object({ ...PageQuery });

/** A group as invitations and the conversation list name it. */
export const GroupSummary = Type.Object({ id: Type.String(), name: Type.String(), memberCount: Type.Integer() });
export type GroupSummary = Static<typeof GroupSummary>;

/**
 * An invitation to a group, as `GET /group-invitations` lists it and the `group_invitation` event
 * carries it. Adding someone who is not the adder's friend invites them: they join by accepting.
 */
export const GroupInvitation = Type.Object({
  id: Type.String(),
  group: GroupSummary,
  inviter: User,
  inviteeId: Type.String(),
  /** `accepted` and `declined` are only ever seen in events and answers: the pending list holds `pending`. */
  state: Type.Union([Type.Literal('pending'), Type.Literal('accepted'), Type.Literal('declined')]),
  createdAt: IsoTime,
  answeredAt: Type.Union([IsoTime, Type.Null()]),
});
export type GroupInvitation = Static<typeof GroupInvitation>;
export const InvitationPage = Page(GroupInvitation);

/** An invitation was sent to the receiving user, or answered on one of their devices. */
export interface GroupInvitationEvent {
  invitation: GroupInvitation;
}

/** A new group, with the invitations sent to the people who were not the creator's friends. */
export const CreatedGroup = Type.Object({ ...Group.properties, invited: Type.Array(GroupInvitation) });
export type CreatedGroup = Static<typeof CreatedGroup>;

export const Member = Type.Object({
  user: User,
  role: GroupRole,
  mutedUntil: Type.Union([IsoTime, Type.Null()]),
  joinedAt: IsoTime,
  presence: Presence,
});
export type Member = Static<typeof Member>;
export const MemberPage = Page(Member);

/** After adding: every member, and the invitations sent to those who were not the adder's friends. */
export const MemberList = Type.Object({ items: Type.Array(Member), invited: Type.Array(GroupInvitation) });
export type MemberList = Static<typeof MemberList>;

const GroupName = Type.String({ minLength: 1, maxLength: 64, pattern: '^[^\\p{Cc}]*$' });

export const CreateGroupBody = Type.Object(
  {
    name: GroupName,
    description: Type.Optional(Type.String({ maxLength: 500 })),
    memberIds: Type.Optional(Type.Array(Id, { maxItems: 500 })),
  },
  { additionalProperties: false },
);
export type CreateGroupBody = Static<typeof CreateGroupBody>;

export const UpdateGroupBody = Type.Object(
  { name: Type.Optional(GroupName), description: Type.Optional(Type.String({ maxLength: 500 })) },
  { additionalProperties: false, minProperties: 1 },
);
export type UpdateGroupBody = Static<typeof UpdateGroupBody>;

export const AddMembersBody = Type.Object({ userIds: Type.Array(Id, { minItems: 1, maxItems: 500 }) }, { additionalProperties: false });
export type AddMembersBody = Static<typeof AddMembersBody>;

export const UpdateMemberBody = Type.Object(
  {
    role: Type.Optional(GroupRole),
    /** Muted until this time; null lifts the mute. */
    mutedUntil: Type.Optional(Type.Union([Type.Null(), IsoTime])),
  },
  { additionalProperties: false, minProperties: 1 },
);
export type UpdateMemberBody = Static<typeof UpdateMemberBody>;
