/**
 * The shape of the web client's state and the state a fresh page starts from. Plain data: no
 * browser, no framework, so the reducers and their unit tests take their types from here.
 */
import type { AiMessage, Conversation, Friend, FriendRequest, GroupInvitation, Me, Message, Page, PublicProfile, User } from '../../../src/client/index.js';

/** A conversation's loaded history as a page: items oldest first, `nextCursor` for the page before `items[0]` (null at the start). */
export interface MessageList extends Page<Message> {
  loading: boolean;
}

export interface CallView {
  callId: string;
  peer: { id: string; name: string; avatarUrl: string | null };
  media: 'audio' | 'video';
  direction: 'outgoing' | 'incoming';
  phase: 'ringing' | 'connecting' | 'active';
  muted: boolean;
  cameraOff: boolean;
  /** When media first arrived (epoch ms): the call timer counts from here. */
  activeSince: number | null;
}

export interface State {
  me: Me | null;
  booting: boolean;
  connected: boolean;
  route: string;
  conversations: Conversation[];
  friends: Friend[];
  incoming: FriendRequest[];
  outgoing: FriendRequest[];
  /** Pending invitations into groups (someone who is not a friend added me: I join by accepting). */
  invitations: GroupInvitation[];
  presence: Record<string, 'online' | 'away' | 'offline'>;
  /** People seen in any answer; a `user_updated` adds their status line. */
  users: Record<string, User & Partial<Pick<PublicProfile, 'statusText'>>>;
  messages: Record<string, MessageList>;
  /** conversationId → userId → when the typing flag expires (ms). */
  typing: Record<string, Record<string, number>>;
  /** conversationId → userId → the last message id they read. */
  readBy: Record<string, Record<string, string>>;
  toast: string | null;
  /** Optional server features (GET /web-config.json): AI shows only where a provider is configured. */
  features: { ai?: boolean };
  /** The call on screen (calls.tsx keeps the peer connection and streams). */
  call: CallView | null;
  /** AI conversations' messages by conversation id, streamed replies included (ai.tsx). */
  aiMessages: Record<string, AiMessage[]>;
}

/** A page before boot: the router fills in `route`, the session `me` and the lists. */
export function initialState(route = ''): State {
  return {
    me: null,
    booting: true,
    connected: false,
    route,
    conversations: [],
    friends: [],
    incoming: [],
    outgoing: [],
    invitations: [],
    presence: {},
    users: {},
    messages: {},
    typing: {},
    readBy: {},
    toast: null,
    features: {},
    call: null,
    aiMessages: {},
  };
}
