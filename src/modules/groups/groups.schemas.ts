import Type, { type Static } from 'typebox';
import { Presence } from '../friends/index.js';
import { Id, IsoTime, PageQuery, User } from '../users/index.js';

export const Role = Type.Union([Type.Literal('owner'), Type.Literal('admin'), Type.Literal('member')]);
export type Role = Static<typeof Role>;

const GroupFields = {
  id: Type.String(),
  name: Type.String(),
  description: Type.String(),
  ownerId: Type.String(),
  memberCount: Type.Integer(),
  /** The group's conversation, for messages. */
  conversationId: Type.String(),
  createdAt: IsoTime,
};
export const Group = Type.Object(GroupFields);
export type Group = Static<typeof Group>;

/** Someone who is not the adder's friend is invited instead of added; they join by accepting. */
export const GroupInvitation = Type.Object({
  id: Type.String(),
  group: Type.Object({ id: Type.String(), name: Type.String(), memberCount: Type.Integer() }),
  inviter: User,
  inviteeId: Type.String(),
  state: Type.Union([Type.Literal('pending'), Type.Literal('accepted'), Type.Literal('declined')]),
  createdAt: IsoTime,
  answeredAt: Type.Union([IsoTime, Type.Null()]),
});
export type GroupInvitation = Static<typeof GroupInvitation>;

/** A new group, with the invitations sent to the people who were not the creator's friends. */
export const CreatedGroup = Type.Object({ ...GroupFields, invited: Type.Array(GroupInvitation) });
export type CreatedGroup = Static<typeof CreatedGroup>;

export const Member = Type.Object({
  user: User,
  role: Role,
  mutedUntil: Type.Union([IsoTime, Type.Null()]),
  joinedAt: IsoTime,
  presence: Presence,
});
export type Member = Static<typeof Member>;

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

export const UpdateMemberBody = Type.Object(
  {
    role: Type.Optional(Role),
    /** Muted until this time; null lifts the mute. */
    mutedUntil: Type.Optional(Type.Union([Type.Null(), IsoTime])),
  },
  { additionalProperties: false, minProperties: 1 },
);
export type UpdateMemberBody = Static<typeof UpdateMemberBody>;

export const GroupParams = Type.Object({ id: Id });
export const MemberParams = Type.Object({ id: Id, userId: Id });
export const GroupPage = Type.Object({ items: Type.Array(Group), nextCursor: Type.Union([Type.String(), Type.Null()]) });
/** After adding: every member, and the invitations sent to those who were not the adder's friends. */
export const MemberList = Type.Object({ items: Type.Array(Member), invited: Type.Array(GroupInvitation) });
export const InvitationParams = Type.Object({ id: Id });
export const InvitationPage = Type.Object({ items: Type.Array(GroupInvitation), nextCursor: Type.Union([Type.String(), Type.Null()]) });
export const MemberPage = Type.Object({ items: Type.Array(Member), nextCursor: Type.Union([Type.String(), Type.Null()]) });
export const GroupListQuery = Type.Object({ ...PageQuery });
