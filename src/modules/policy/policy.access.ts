import { AppError } from '../../shared/errors.js';

/**
 * Who may touch what: the ownership half of the policy module (the contact half, who may reach
 * whom, is policy.service.ts). Services load the rows; the rules about them live here, so "may A
 * read, change or delete this message, file, upload, call, AI conversation" has one answer.
 *
 * Anything a user may not see answers NOT_FOUND rather than FORBIDDEN, so ids cannot be probed
 * for existence; FORBIDDEN is kept for things the caller can already see but may not change.
 */

/** What a caller's access to a conversation is, once established. */
export type ConversationAccess =
  | { kind: 'private'; id: string; peerId: string; low: string; high: string }
  | { kind: 'group'; id: string; groupId: string; role: string; mutedUntil: number | null };

export interface AccessPolicyDeps {
  /** The caller's membership of a group (groups service: cached), undefined for non-members. */
  groupMembership: (groupId: string, userId: string) => Promise<{ role: string; muted_until: number | string | null } | undefined>;
}

/** Group roles by rank (groups.service.ts keeps the same order). */
const GROUP_RANK: Record<string, number | undefined> = { owner: 3, admin: 2, member: 1 };

const PRIVATE_ID = /^d\.([^.]+)\.([^.]+)$/;

export function createAccessPolicy(deps: AccessPolicyDeps) {
  /**
   * The caller's access to a conversation: a member of a group (`g.<groupId>`), or one of the two
   * users a private conversation id names (`d.<low>.<high>`, low < high). NOT_FOUND otherwise.
   */
  async function conversation(userId: string, conversationId: string): Promise<ConversationAccess> {
    // Built only when needed: an error's stack trace is not free on the hot path.
    const notFound = () => new AppError('NOT_FOUND', 'conversation not found');
    if (conversationId.startsWith('g.')) {
      const groupId = conversationId.slice(2);
      const member = await deps.groupMembership(groupId, userId);
      if (!member) throw notFound();
      return { kind: 'group', id: conversationId, groupId, role: member.role, mutedUntil: member.muted_until === null ? null : Number(member.muted_until) };
    }
    const match = PRIVATE_ID.exec(conversationId);
    if (!match?.[1] || !match[2] || match[1] >= match[2]) throw notFound();
    const [low, high] = [match[1], match[2]];
    if (userId !== low && userId !== high) throw notFound();
    return { kind: 'private', id: conversationId, peerId: userId === low ? high : low, low, high };
  }

  const mayReadConversation = (userId: string, conversationId: string): Promise<boolean> =>
    conversation(userId, conversationId).then(
      () => true,
      () => false,
    );

  return {
    conversation,
    mayReadConversation,

    /** Only the sender edits or recalls a message (a message the caller cannot see never gets here). */
    requireMessageSender(userId: string, message: { sender_id: string }): void {
      if (message.sender_id !== userId) throw new AppError('FORBIDDEN', 'only the sender can change a message');
    },

    /**
     * A file is readable by its uploader, by anyone when it is an avatar (avatars are public
     * profile pictures), and by whoever may read a conversation it was sent to.
     */
    async mayReadFile(userId: string, file: { uploader_id: string; purpose: string }, linkedConversations: () => Promise<readonly string[]>): Promise<boolean> {
      if (file.uploader_id === userId || file.purpose === 'avatar') return true;
      for (const conversationId of await linkedConversations()) {
        if (await mayReadConversation(userId, conversationId)) return true;
      }
      return false;
    },

    /**
     * An upload in progress is its uploader's alone (tus HEAD, PATCH, DELETE), and so is using a
     * finished upload as one's avatar.
     */
    isUploader: (userId: string, upload: { uploader_id: string }): boolean => upload.uploader_id === userId,

    /** A call and its record belong to its two parties. */
    isCallParty: (userId: string, call: { caller_id: string; callee_id: string }): boolean => call.caller_id === userId || call.callee_id === userId,

    /**
     * In a group, the owner and admins remove members' messages, the same ranks as removing a
     * member: only messages of someone below their role (an admin not the owner's nor another
     * admin's). A sender who has left the group counts as a member.
     */
    requireGroupModerator(actorRole: string, senderRole: string | undefined): void {
      const rank = (role: string | undefined) => GROUP_RANK[role ?? 'member'] ?? 1;
      if (rank(actorRole) < rank('admin')) throw new AppError('FORBIDDEN', 'only the sender, the owner or an admin can remove a message');
      if (rank(senderRole) >= rank(actorRole)) throw new AppError('FORBIDDEN', 'you can only remove messages of members below your role');
    },

    /** A group invitation is answered (and seen) by its invitee alone. */
    isInvitee: (userId: string, invitation: { invitee_id: string }): boolean => invitation.invitee_id === userId,

    /** An AI conversation is its owner's alone. */
    ownsAiConversation: (userId: string, conversation: { user_id: string }): boolean => conversation.user_id === userId,
  };
}

export type AccessPolicy = ReturnType<typeof createAccessPolicy>;
