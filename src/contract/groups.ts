import type { User } from './users.js';

/**
 * An invitation to a group, as `GET /group-invitations` lists it and the `group_invitation` event
 * carries it. Adding someone who is not the adder's friend invites them: they join by accepting.
 */
export interface GroupInvitation {
  id: string;
  group: { id: string; name: string; memberCount: number };
  inviter: User;
  inviteeId: string;
  /** `accepted` and `declined` are only ever seen in events and answers: the pending list holds `pending`. */
  state: 'pending' | 'accepted' | 'declined';
  createdAt: string;
  answeredAt: string | null;
}

/** An invitation was sent to the receiving user, or answered on one of their devices. */
export interface GroupInvitationEvent {
  invitation: GroupInvitation;
}
