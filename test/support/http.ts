import { randomBytes } from 'node:crypto';
import type { User } from '../../src/client/index.js';

export interface ApiResponse<T = any> {
  status: number;
  body: T;
  headers: Headers;
}

export interface ApiOptions {
  token?: string;
  body?: unknown;
  headers?: Record<string, string>;
  /** Sent as is, for malformed-body tests. */
  rawBody?: string;
}

/** A tiny REST client over fetch, bound to one server: `api('POST', '/auth/login', {body})`. */
export function apiClient(baseUrl: string) {
  return async function api<T = any>(method: string, urlPath: string, options: ApiOptions = {}): Promise<ApiResponse<T>> {
    const headers: Record<string, string> = { ...options.headers };
    if (options.token) headers.authorization = `Bearer ${options.token}`;
    let body: string | undefined;
    if (options.rawBody !== undefined) body = options.rawBody;
    else if (options.body !== undefined) body = JSON.stringify(options.body);
    if (body !== undefined && !headers['content-type']) headers['content-type'] = 'application/json';
    const url =
      urlPath.startsWith('/api/') ||
      urlPath.startsWith('/metrics') ||
      urlPath.startsWith('/healthz') ||
      urlPath.startsWith('/readyz') ||
      urlPath.startsWith('/openapi') ||
      urlPath.startsWith('/docs')
        ? `${baseUrl}${urlPath}`
        : `${baseUrl}/api/v1${urlPath}`;
    const response = await fetch(url, { method, headers, body });
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      // not JSON: keep the text
    }
    return { status: response.status, body: parsed as T, headers: response.headers };
  };
}

export type Api = ReturnType<typeof apiClient>;

/** A username no other test uses. */
export function uniqueName(prefix = 'u'): string {
  return `${prefix}${randomBytes(5).toString('hex')}`;
}

export interface TestUser {
  id: string;
  username: string;
  password: string;
  accessToken: string;
  refreshToken: string;
  user: User;
}

/** Registers a fresh user through the real API. */
export async function newUser(api: Api, fields: { username?: string; password?: string; nickname?: string } = {}): Promise<TestUser> {
  const username = fields.username ?? uniqueName();
  const password = fields.password ?? 'correct horse battery';
  const res = await api('POST', '/auth/register', { body: { username, password, ...(fields.nickname ? { nickname: fields.nickname } : {}) } });
  if (res.status !== 201) throw new Error(`register failed: ${res.status} ${JSON.stringify(res.body)}`);
  return { id: res.body.user.id, username, password, accessToken: res.body.accessToken, refreshToken: res.body.refreshToken, user: res.body.user };
}

/** Asserts the error format of docs/api.md (Errors) and returns the error object. */
/**
 * Each answer as "status" or "status CODE" ("201", "409 CONFLICT"), sorted: the answers to requests
 * raced against each other read as one value, whichever of them the server took first.
 */
export function outcomes(answers: readonly ApiResponse[]): string[] {
  return answers.map((res) => `${res.status}${res.body?.error ? ` ${res.body.error.code}` : ''}`).sort();
}

export function expectError(res: ApiResponse, status: number, code: string): { code: string; message: string; details?: any } {
  if (res.status !== status || res.body?.error?.code !== code) {
    throw new Error(`expected ${status} ${code}, got ${res.status} ${JSON.stringify(res.body)}`);
  }
  if (typeof res.body.error.message !== 'string') throw new Error('error without message');
  return res.body.error;
}
