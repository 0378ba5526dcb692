/** Who is calling: taken from a verified access token. */
export interface Actor {
  userId: string;
  sessionId: string;
  isGuest: boolean;
  /** Set when the caller is a bot authenticated with a bot token: what the token may reach. */
  bot?: { tokenId: string; conversationIds: string[]; actions: Array<'messages:read' | 'messages:write' | 'members:read'> };
}

/** Where a request came from, for login logs and sessions. */
export interface RequestOrigin {
  ip: string;
  userAgent: string;
}
