/**
 * The SDK client the web app talks through (REST and the socket), in cookie mode: the refresh token
 * is an httpOnly cookie that page scripts cannot read, shared by every tab of the browser (one
 * session per browser, docs/api.md); the access token lives in this tab's memory only and is rotated
 * before it expires. Created by `init()`, not at import.
 */
import { type AuthResult, ParleyClient, ParleyError, type ParleyRest, rest } from '../../../src/client/index.js';

/** The requests that present, set or clear the refresh cookie. */
const COOKIE_ROUTES = /^\/auth\/(refresh|login|register|guest|upgrade|logout)\b/;
const REFRESH_LOCK = 'parley.session-cookie';

/**
 * Every tab presents the same cookie: two tabs rotating it at once would spend one token twice,
 * which the server takes for a stolen token and ends the session. A Web Lock held over each request
 * that reads or replaces the cookie serializes them across tabs, so the next tab presents the cookie
 * the previous one received. Web Locks exist only in secure contexts (HTTPS, localhost): elsewhere
 * tabs are not serialized and a rare collision signs the browser out (docs/api.md says so).
 */
function underCookieLock<T>(work: () => Promise<T>): Promise<T> {
  const locks = typeof navigator === 'undefined' ? undefined : navigator.locks;
  return locks ? (locks.request(REFRESH_LOCK, work) as Promise<T>) : work();
}

/** The SDK client, plus a transparent refresh-and-retry on 401 and a refresh timer before expiry. */
export class WebClient extends ParleyClient {
  private refreshing: Promise<AuthResult> | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    baseUrl: string,
    /** The refresh cookie was refused: the session is over. */
    private readonly onSessionLost: () => void,
  ) {
    super(baseUrl, undefined, { cookieSession: true });
  }

  override async request<T = unknown>(method: string, path: string, body?: unknown): Promise<T> {
    // Only the single request holds the lock, never the retry below (which takes it again to refresh).
    const send = () => (COOKIE_ROUTES.test(path) ? underCookieLock(() => super.request<T>(method, path, body)) : super.request<T>(method, path, body));
    try {
      return await send();
    } catch (error) {
      const retriable = error instanceof ParleyError && error.status === 401 && this.accessToken && !/^\/auth\/(refresh|login|register|guest)/.test(path);
      if (!retriable) throw error;
      await this.refreshOnce();
      return send();
    }
  }

  /** One refresh at a time in this tab: concurrent 401s wait for the same rotation. */
  refreshOnce(): Promise<AuthResult> {
    this.refreshing ??= this.refresh()
      .then((result) => {
        this.keep(result);
        return result;
      })
      .catch((error: unknown) => {
        // A refused cookie ends the session; a failed socket hand-over after a good rotation does not
        // (the new access token is already kept, and the socket reconnects with it).
        if (error instanceof ParleyError && error.status === 401) this.onSessionLost();
        else if (this.accessToken) this.schedule(60);
        throw error;
      })
      .finally(() => {
        this.refreshing = undefined;
      });
    return this.refreshing;
  }

  /** Keeps the access token (in memory) and rotates again at three quarters of its life. */
  keep(result: Pick<AuthResult, 'accessToken' | 'expiresIn'>): void {
    this.accessToken = result.accessToken;
    this.schedule(result.expiresIn);
  }

  private schedule(expiresInSec: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.refreshOnce().catch(() => {}), Math.max(10, expiresInSec * 0.75) * 1000);
  }

  forget(): void {
    clearTimeout(this.timer);
    this.accessToken = undefined;
    this.refreshToken = undefined;
  }
}

// Live bindings: every importer sees the client once `createClient` has run. Nothing uses them
// before `init()` (pages render after it), so they are declared assigned.
export let client!: WebClient;
export let api!: ParleyRest;

export function createClient(baseUrl: string, onSessionLost: () => void): void {
  client = new WebClient(baseUrl, onSessionLost);
  api = rest(client);
}
