/**
 * The SDK's core: the client (REST requests, token pair, typed socket) and its error class. The
 * REST groups (`rest.ts`) and AI streaming (`ai.ts`) build on it; `index.ts` re-exports them all,
 * so neither of them has to import the entry point back.
 */
import { io, type Socket } from 'socket.io-client';
import { API_PREFIX, SESSION_MODE_HEADER } from '../contract/api.js';
import type { AuthResult, LoginBody, RegisterBody, Tokens } from '../contract/auth.js';
import type { Ack, ErrorBody } from '../contract/errors.js';
import type { ClientToServerEvents, ServerToClientEvents } from '../contract/events.js';

export type ParleySocket = Socket<ServerToClientEvents, ClientToServerEvents>;

/** An error answered by the server, REST or socket, with its stable code. */
export class ParleyError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status?: number,
    readonly details?: unknown,
  ) {
    super(`${code}: ${message}`);
    this.name = 'ParleyError';
  }
}

export type { Tokens };

export interface ParleyClientOptions {
  /**
   * Cookie mode, for a browser app on the server's origin: the server keeps the refresh token in an
   * httpOnly cookie (never in `refreshToken`), and `refresh()` presents that cookie. See docs/api.md.
   */
  cookieSession?: boolean;
}

type AckData<E extends keyof ClientToServerEvents> = Parameters<Parameters<ClientToServerEvents[E]>[1]>[0] extends Ack<infer R> ? R : never;
type Payload<E extends keyof ClientToServerEvents> = Parameters<ClientToServerEvents[E]>[0];

export class ParleyClient {
  accessToken: string | undefined;
  refreshToken: string | undefined;
  socket: ParleySocket | undefined;

  constructor(
    readonly baseUrl: string,
    tokens?: Partial<Tokens>,
    readonly options: ParleyClientOptions = {},
  ) {
    this.accessToken = tokens?.accessToken;
    this.refreshToken = tokens?.refreshToken;
  }

  /** Calls a REST route under /api/v1; resolves with the JSON body or throws ParleyError. */
  async request<T = unknown>(method: string, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = {};
    if (this.accessToken) headers.authorization = `Bearer ${this.accessToken}`;
    if (this.options.cookieSession) headers[SESSION_MODE_HEADER] = 'cookie';
    // FormData (multipart uploads such as avatars) is sent as is; fetch sets its boundary header.
    const isForm = typeof FormData !== 'undefined' && body instanceof FormData;
    if (body !== undefined && !isForm) headers['content-type'] = 'application/json';
    const payload = body === undefined ? undefined : isForm ? body : JSON.stringify(body);
    const response = await fetch(`${this.baseUrl}${API_PREFIX}${path}`, {
      method,
      headers,
      body: payload,
      // The refresh cookie must reach the auth routes (and be set by them) even across origins.
      ...(this.options.cookieSession ? { credentials: 'include' as const } : {}),
    });
    const text = await response.text();
    const parsed: unknown = text ? JSON.parse(text) : null;
    if (!response.ok) {
      const error = (parsed as { error?: ErrorBody } | null)?.error;
      throw new ParleyError(error?.code ?? 'INTERNAL', error?.message ?? response.statusText, response.status, error?.details);
    }
    return parsed as T;
  }

  private remember<T extends AuthResult>(result: T): T {
    this.accessToken = result.accessToken;
    this.refreshToken = result.refreshToken;
    return result;
  }

  register(input: RegisterBody) {
    return this.request<AuthResult>('POST', '/auth/register', input).then((r) => this.remember(r));
  }

  login(input: LoginBody) {
    return this.request<AuthResult>('POST', '/auth/login', input).then((r) => this.remember(r));
  }

  guest(nickname?: string) {
    return this.request<AuthResult>('POST', '/auth/guest', nickname === undefined ? {} : { nickname }).then((r) => this.remember(r));
  }

  /** Rotates the token pair; with a connected socket, hands it the new access token too. */
  async refresh(): Promise<AuthResult> {
    const result = this.remember(await this.request<AuthResult>('POST', '/auth/refresh', this.options.cookieSession ? {} : { refreshToken: this.refreshToken }));
    if (this.socket?.connected) await this.emit('auth_refresh', { token: result.accessToken });
    return result;
  }

  /** Opens the Socket.IO connection (websocket transport) and resolves once connected. */
  connect(options: { transports?: string[] } = {}): Promise<ParleySocket> {
    const socket: ParleySocket = io(this.baseUrl, {
      path: '/socket.io',
      transports: options.transports ?? ['websocket'],
      // Read at every (re)connection, so a refreshed token is used after a drop.
      auth: (cb) => cb({ token: this.accessToken }),
      reconnection: true,
      forceNew: true,
    });
    this.socket = socket;
    return new Promise((resolve, reject) => {
      const refused = (error: Error & { data?: { details?: unknown } }) => {
        socket.close();
        // RATE_LIMITED carries {retryAfterMs} in data.details: the caller decides when to try again.
        const code = error.message === 'UNAUTHORIZED' || error.message === 'RATE_LIMITED' ? error.message : 'UNAVAILABLE';
        reject(new ParleyError(code, error.message, undefined, error.data?.details));
      };
      // Only the first attempt is settled here: a later reconnection error must not close the socket.
      socket.once('connect', () => {
        socket.off('connect_error', refused);
        resolve(socket);
      });
      socket.once('connect_error', refused);
    });
  }

  /** Sends a client event and resolves with the ack's data, or throws ParleyError. */
  async emit<E extends keyof ClientToServerEvents>(event: E, payload: Payload<E>, timeoutMs = 10_000): Promise<AckData<E>> {
    const ack = await this.emitRaw(event, payload, timeoutMs);
    if (!ack.ok) throw new ParleyError(ack.error.code, ack.error.message, undefined, ack.error.details);
    return ack.data as AckData<E>;
  }

  /** Sends a client event and resolves with the raw ack (for clients that switch on `ok`). */
  emitRaw<E extends keyof ClientToServerEvents>(event: E, payload: Payload<E>, timeoutMs = 10_000): Promise<Ack<AckData<E>>> {
    const socket = this.socket;
    if (!socket) return Promise.reject(new Error('not connected: call connect() first'));
    return (socket.timeout(timeoutMs) as unknown as { emitWithAck(event: string, payload: unknown): Promise<Ack<AckData<E>>> }).emitWithAck(event, payload);
  }

  disconnect(): void {
    this.socket?.close();
    this.socket = undefined;
  }
}
