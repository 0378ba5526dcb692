/**
 * The SDK client the web app talks through (REST and the socket), with its token pair kept in session
 * storage and rotated before it expires. Created by `init()`, not at import.
 */
import { ParleyClient, ParleyError, type ParleyRest, rest, type Tokens } from '../../../src/client/index.js';
import { update } from './state.js';

// Tokens live in sessionStorage: each tab is its own session, so two tabs never spend the same
// refresh token (a reuse would revoke the session).
const TOKENS_KEY = 'parley.tokens';

/** The SDK client, plus a transparent refresh-and-retry on 401 and a refresh timer before expiry. */
export class WebClient extends ParleyClient {
  private refreshing: Promise<Tokens> | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    baseUrl: string,
    private readonly storage: Storage,
    /** The refresh token was refused: the session is over. */
    private readonly onSessionLost: () => void,
  ) {
    super(baseUrl, (JSON.parse(storage.getItem(TOKENS_KEY) ?? 'null') as Partial<Tokens> | null) ?? undefined);
  }

  override async request<T = unknown>(method: string, path: string, body?: unknown): Promise<T> {
    try {
      return await super.request<T>(method, path, body);
    } catch (error) {
      const retriable = error instanceof ParleyError && error.status === 401 && this.refreshToken && !/^\/auth\/(refresh|login|register|guest)/.test(path);
      if (!retriable) throw error;
      await this.refreshOnce();
      return super.request<T>(method, path, body);
    }
  }

  /** One refresh at a time: concurrent 401s wait for the same rotation. */
  refreshOnce(): Promise<Tokens> {
    const spent = this.refreshToken;
    this.refreshing ??= this.refresh()
      .then((tokens) => {
        this.keep(tokens);
        return tokens;
      })
      .catch((error: unknown) => {
        // Rotated over REST but the socket hand-over failed: the old refresh token is spent, so the
        // new pair must be kept (a reload presenting the old one would end the session).
        if (this.refreshToken !== spent && this.accessToken && this.refreshToken) {
          this.keep({ accessToken: this.accessToken, refreshToken: this.refreshToken, expiresIn: 60 });
        } else if (error instanceof ParleyError && error.status === 401) this.onSessionLost();
        throw error;
      })
      .finally(() => {
        this.refreshing = undefined;
      });
    return this.refreshing;
  }

  /** Stores the pair and rotates again at three quarters of the access token's life. */
  keep(tokens: Tokens): void {
    this.storage.setItem(TOKENS_KEY, JSON.stringify({ accessToken: tokens.accessToken, refreshToken: tokens.refreshToken }));
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.refreshOnce().catch(() => {}), Math.max(10, tokens.expiresIn * 0.75) * 1000);
  }

  forget(): void {
    clearTimeout(this.timer);
    this.storage.removeItem(TOKENS_KEY);
    this.accessToken = undefined;
    this.refreshToken = undefined;
  }
}

// Live bindings: every importer sees the client once `createClient` has run. Nothing uses them
// before `init()` (pages render after it), so they are declared assigned.
export let client!: WebClient;
export let api!: ParleyRest;

export function createClient(baseUrl: string, storage: Storage, onSessionLost: () => void): void {
  client = new WebClient(baseUrl, storage, onSessionLost);
  api = rest(client);
}

export function showError(error: unknown): void {
  const text = error instanceof ParleyError ? error.message.replace(/^[A-Z_]+: /, '') : error instanceof Error ? error.message : String(error);
  update({ toast: text });
}
