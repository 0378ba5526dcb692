import type { ServerToClientEvents } from '../../contract/events.js';

export const userRoom = (userId: string) => `user:${userId}`;
export const sessionRoom = (sessionId: string) => `session:${sessionId}`;
export const conversationRoom = (conversationId: string) => `conv:${conversationId}`;

export type ServerEvent = keyof ServerToClientEvents;
export type ServerPayload<E extends ServerEvent> = Parameters<ServerToClientEvents[E]>[0];

/**
 * How services reach connected clients without knowing about sockets. Every method works across
 * processes when the Socket.IO Redis adapter is installed.
 */
export interface Publisher {
  /** Sends to every device of the given users. */
  toUsers<E extends ServerEvent>(userIds: readonly string[], event: E, payload: ServerPayload<E>, options?: { exceptSocketId?: string }): void;
  /** Sends to single sockets by id, on whichever process they are connected. */
  toSockets<E extends ServerEvent>(socketIds: readonly string[], event: E, payload: ServerPayload<E>): void;
  /** Ids of the user's connected sockets on every process (a user with none is offline). */
  socketsOf(userId: string): Promise<string[]>;
  /** Sends to every socket in a conversation room (group members' devices), optionally except some users. */
  toConversation<E extends ServerEvent>(
    conversationId: string,
    event: E,
    payload: ServerPayload<E>,
    options?: { exceptUserIds?: readonly string[]; exceptSocketId?: string },
  ): void;
  /**
   * Makes every device of the users join a conversation room, on whichever process they are;
   * resolves once a message sent to the room reaches them everywhere (await it before answering).
   */
  joinConversation(userIds: readonly string[], conversationId: string): Promise<void>;
  /** Makes every device of the users leave a conversation room, on whichever process they are. */
  leaveConversation(userIds: readonly string[], conversationId: string): void;
  /** Tells the sessions' sockets why, then disconnects them. */
  disconnectSessions(sessionIds: readonly string[], reason: string): void;
}

/** A publisher that goes nowhere, for services used without a realtime layer (scripts). */
export const nullPublisher: Publisher = {
  toUsers: () => {},
  toSockets: () => {},
  socketsOf: async () => [],
  toConversation: () => {},
  joinConversation: async () => {},
  leaveConversation: () => {},
  disconnectSessions: () => {},
};
