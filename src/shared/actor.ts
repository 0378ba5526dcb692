/** Who is calling: taken from a verified access token. */
export interface Actor {
  userId: string;
  sessionId: string;
  isGuest: boolean;
}

/** Where a request came from, for login logs and sessions. */
export interface RequestOrigin {
  ip: string;
  userAgent: string;
}
