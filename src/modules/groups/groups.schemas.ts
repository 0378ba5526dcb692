import Type from 'typebox';
import { Id } from '../../contract/common.js';

// The wire types live in the contract, which the SDK shares; routes and services take them from here.
export {
  AddMembersBody,
  CreatedGroup,
  CreateGroupBody,
  Group,
  GroupInvitation,
  GroupListQuery,
  GroupPage,
  GroupRole as Role,
  InvitationPage,
  Member,
  MemberList,
  MemberPage,
  UpdateGroupBody,
  UpdateMemberBody,
} from '../../contract/groups.js';
export {
  CreateInviteLinkBody,
  InviteCodeParams,
  InviteLink,
  InviteLinkListQuery,
  InviteLinkPage,
  InviteLinkParams,
  InvitePreview,
} from '../../contract/invite-links.js';

export const GroupParams = Type.Object({ id: Id });
export const MemberParams = Type.Object({ id: Id, userId: Id });
export const InvitationParams = Type.Object({ id: Id });
