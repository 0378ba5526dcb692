import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { parse as parseDotenv } from 'dotenv';
import Type, { type Static } from 'typebox';
import { Value } from 'typebox/value';

/**
 * Every environment variable Parley reads, with its default and rule. `.env.example` documents the
 * same list for operators; this schema is what is enforced.
 */
const EnvSchema = Type.Object({
  NODE_ENV: Type.Union([Type.Literal('development'), Type.Literal('production'), Type.Literal('test')], {
    default: 'development',
  }),
  PORT: Type.Integer({ minimum: 0, maximum: 65535, default: 3000 }),
  HOST: Type.String({ minLength: 1, default: '0.0.0.0' }),
  DATA_DIR: Type.String({ minLength: 1, default: './data' }),
  DATABASE_URL: Type.Optional(
    Type.String({
      pattern: '^(mysql|mariadb|postgres|postgresql|sqlite)://',
      description: 'mysql://user:pass@host:3306/db, postgres://user:pass@host:5432/db or sqlite:///path/file.db',
    }),
  ),
  DATABASE_POOL_SIZE: Type.Integer({ minimum: 1, maximum: 500, default: 10 }),
  SEARCH_TIMEOUT_MS: Type.Integer({ minimum: 1, maximum: 600_000, default: 2000 }),
  SQLITE_READER_THREADS: Type.Optional(Type.Integer({ minimum: 0, maximum: 4 })),
  REDIS_URL: Type.Optional(
    Type.String({
      pattern: '^(rediss?|redis\\+cluster|rediss\\+cluster)://',
      description: 'redis://host:6379 (one Redis) or redis+cluster://host:port,host:port (Redis Cluster seed nodes)',
    }),
  ),
  REDIS_CLUSTER_NODES: Type.Optional(
    Type.String({ pattern: '^[^,\\s]+:[0-9]+(,[^,\\s]+:[0-9]+)*$', description: 'host:port,host:port: Redis Cluster seed nodes (instead of REDIS_URL)' }),
  ),
  SOCKET_ADAPTER: Type.Union([Type.Literal('classic'), Type.Literal('sharded')], {
    default: 'classic',
    description: 'classic: Redis pub/sub, every broadcast reaches every process; sharded: Redis 7 sharded pub/sub, a room broadcast reaches only processes with sockets in it',
  }),
  REDIS_KEY_PREFIX: Type.String({ default: 'parley:' }),
  JWT_SECRET: Type.Optional(Type.String({ minLength: 32 })),
  ACCESS_TOKEN_TTL: Type.Integer({ minimum: 30, maximum: 86_400, default: 900 }),
  REFRESH_TOKEN_TTL: Type.Integer({ minimum: 300, maximum: 31_536_000, default: 2_592_000 }),
  CORS_ORIGINS: Type.String({ default: '*' }),
  TRUST_PROXY: Type.Boolean({ default: false }),
  TLS_CERT_FILE: Type.Optional(Type.String({ minLength: 1 })),
  TLS_KEY_FILE: Type.Optional(Type.String({ minLength: 1 })),
  LOG_LEVEL: Type.Union(
    ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((level) => Type.Literal(level)),
    { default: 'info' },
  ),
  LOG_DIR: Type.Optional(Type.String({ minLength: 1 })),
  LOG_FILE_SIZE: Type.String({ pattern: '^[0-9]+[kmg]?$', default: '1m' }),
  LOG_FILE_COUNT: Type.Integer({ minimum: 1, maximum: 1000, default: 10 }),
  LOG_TO_STDOUT: Type.Boolean({ default: true }),
  RATE_LIMIT_MAX: Type.Integer({ minimum: 1, default: 600 }),
  RATE_LIMIT_WINDOW: Type.Integer({ minimum: 1, default: 60 }),
  LOGIN_MAX_FAILURES: Type.Integer({ minimum: 1, default: 5 }),
  PASSWORD_HASH_PROFILE: Type.Union([Type.Literal('owasp'), Type.Literal('test-fast')], {
    default: 'owasp',
    description: 'argon2id cost: owasp (19 MiB, 2 passes); test-fast is for test suites only and refused unless NODE_ENV=test',
  }),
  LOGIN_FAILURE_WINDOW: Type.Integer({ minimum: 1, default: 900 }),
  LOGIN_IP_MAX_FAILURES: Type.Integer({ minimum: 1, default: 50 }),
  GUEST_IDLE_DAYS: Type.Integer({ minimum: 1, default: 30 }),
  ADMIN_USERNAMES: Type.String({ default: '', description: 'comma-separated usernames holding the instance admin role' }),
  GUEST_CREATE_PER_IP: Type.Integer({ minimum: 1, default: 10 }),
  MENTION_ALL: Type.Union([Type.Literal('admins'), Type.Literal('members'), Type.Literal('off')], {
    default: 'admins',
    description: 'who may mention everyone in a group with @all: the owner and admins, every member, or nobody (then @all is plain text)',
  }),
  SEND_RATE_LIMIT_MAX: Type.Integer({ minimum: 1, default: 200 }),
  SEND_RATE_LIMIT_WINDOW: Type.Integer({ minimum: 1, default: 10 }),
  GROUP_INVITES_PER_HOUR: Type.Integer({ minimum: 1, default: 100 }),
  GROUP_INVITE_DECLINED_COOLDOWN_DAYS: Type.Integer({ minimum: 0, default: 7 }),
  INVITE_LINK_ATTEMPTS_PER_MINUTE: Type.Integer({ minimum: 1, default: 20 }),
  INVITE_LINK_ATTEMPTS_PER_MINUTE_IP: Type.Integer({ minimum: 1, default: 60 }),
  INVITE_LINKS_PER_GROUP: Type.Integer({ minimum: 1, default: 100 }),
  SOCKET_HANDSHAKES_PER_MINUTE_IP: Type.Integer({ minimum: 1, default: 300 }),
  SOCKET_HANDSHAKES_PER_MINUTE_USER: Type.Integer({ minimum: 1, default: 30 }),
  SOCKETS_PER_USER: Type.Integer({ minimum: 1, default: 10 }),
  SOCKET_EVENTS_PER_SECOND: Type.Number({ exclusiveMinimum: 0, default: 20 }),
  SOCKET_EVENTS_BURST: Type.Integer({ minimum: 1, default: 60 }),
  SOCKET_EVENT_LIMITS: Type.String({ default: 'typing=2/5,read=5/20,sync=1/5' }),
  BODY_LIMIT_BYTES: Type.Integer({ minimum: 1024, default: 1_048_576 }),
  HTTP_HEADERS_TIMEOUT: Type.Integer({ minimum: 1, maximum: 600, default: 20 }),
  HTTP_REQUEST_TIMEOUT: Type.Integer({ minimum: 0, maximum: 86_400, default: 300 }),
  // calls
  CALL_RING_TIMEOUT: Type.Integer({ minimum: 5, maximum: 600, default: 30 }),
  CALL_RECONNECT_GRACE: Type.Integer({ minimum: 1, maximum: 300, default: 10 }),
  STUN_URLS: Type.String({ default: 'stun:stun.l.google.com:19302' }),
  TURN_URLS: Type.Optional(Type.String({ minLength: 1 })),
  TURN_SECRET: Type.Optional(Type.String({ minLength: 8 })),
  TURN_TTL: Type.Integer({ minimum: 60, maximum: 604_800, default: 86_400 }),
  CALLS_PER_CALLER_PER_MINUTE: Type.Integer({ minimum: 1, default: 10 }),
  CALLS_PER_CALLEE_PER_MINUTE: Type.Integer({ minimum: 1, default: 20 }),
  CALL_MISSED_FOLD_WINDOW: Type.Integer({ minimum: 0, maximum: 86_400, default: 600 }),
  // files
  UPLOAD_DIR: Type.Optional(Type.String({ minLength: 1 })),
  UPLOAD_MAX_BYTES: Type.Integer({ minimum: 1, default: 2_147_483_648 }),
  UPLOAD_QUOTA_BYTES: Type.Integer({ minimum: 1, default: 10_737_418_240 }),
  AVATAR_MAX_BYTES: Type.Integer({ minimum: 1, default: 10_485_760 }),
  UPLOAD_EXPIRY_HOURS: Type.Integer({ minimum: 1, default: 24 }),
  SIGNED_URL_TTL: Type.Integer({ minimum: 10, maximum: 86_400, default: 300 }),
  GUEST_UPLOAD_QUOTA_BYTES: Type.Integer({ minimum: 1, default: 104_857_600 }),
  // AI
  DOUBAO_API_KEY: Type.Optional(Type.String({ minLength: 1 })),
  DOUBAO_BASE_URL: Type.String({ pattern: '^https?://', default: 'https://ark.cn-beijing.volces.com/api/v3' }),
  DOUBAO_MODEL: Type.String({ minLength: 1, default: 'doubao-seed-1-6-250615' }),
  GEMINI_API_KEY: Type.Optional(Type.String({ minLength: 1 })),
  GEMINI_BASE_URL: Type.String({ pattern: '^https?://', default: 'https://generativelanguage.googleapis.com/v1beta' }),
  GEMINI_MODEL: Type.String({ minLength: 1, default: 'gemini-2.5-flash' }),
  DEEPSEEK_API_KEY: Type.Optional(Type.String({ minLength: 1 })),
  DEEPSEEK_BASE_URL: Type.String({ pattern: '^https?://', default: 'https://api.deepseek.com/v1' }),
  DEEPSEEK_MODEL: Type.String({ minLength: 1, default: 'deepseek-chat' }),
  GROK_API_KEY: Type.Optional(Type.String({ minLength: 1 })),
  GROK_BASE_URL: Type.String({ pattern: '^https?://', default: 'https://api.x.ai/v1' }),
  GROK_MODEL: Type.String({ minLength: 1, default: 'grok-3-mini' }),
  AI_PROVIDERS: Type.Optional(Type.String({ minLength: 2 })),
  AI_DEFAULT_MODEL: Type.Optional(Type.String({ minLength: 1 })),
  AI_SYSTEM_PROMPT: Type.String({ default: 'You are Parley Assistant, a helpful, concise assistant inside a chat app.' }),
  AI_CONTEXT_TOKENS: Type.Integer({ minimum: 256, default: 8000 }),
  AI_MODEL_CONTEXT_TOKENS: Type.Optional(Type.String({ minLength: 2 })),
  AI_MAX_OUTPUT_TOKENS: Type.Integer({ minimum: 16, default: 1024 }),
  AI_TIMEOUT: Type.Integer({ minimum: 1, maximum: 600, default: 60 }),
  AI_RATE_LIMIT_MAX: Type.Integer({ minimum: 1, default: 20 }),
  AI_RATE_LIMIT_WINDOW: Type.Integer({ minimum: 1, default: 60 }),
  AI_DAILY_TOKEN_QUOTA: Type.Integer({ minimum: 0, default: 200_000 }),
  // metrics (Prometheus): off unless METRICS_TOKEN or METRICS_PORT is set
  METRICS_TOKEN: Type.Optional(Type.String({ minLength: 16, pattern: '^\\S+$', description: 'bearer token scrapers send for GET /metrics' })),
  METRICS_PORT: Type.Optional(Type.Integer({ minimum: 0, maximum: 65535, description: 'serve /metrics on this port only, instead of the main port' })),
  METRICS_HOST: Type.String({ minLength: 1, default: '127.0.0.1' }),
  // outbound requests to user-given URLs, link previews
  OUTBOUND_ALLOW_PRIVATE: Type.Boolean({ default: false }),
  // bots and webhooks (docs/webhooks.md)
  BOTS_PER_USER: Type.Integer({ minimum: 0, default: 10 }),
  WEBHOOK_RETRY_BASE_MS: Type.Integer({ minimum: 1, default: 10_000 }),
  WEBHOOK_MAX_ATTEMPTS: Type.Integer({ minimum: 1, maximum: 50, default: 8 }),
  WEBHOOK_POLL_MS: Type.Integer({ minimum: 10, default: 2000 }),
  WEBHOOK_TIMEOUT_MS: Type.Integer({ minimum: 100, default: 10_000 }),
  INCOMING_WEBHOOK_POSTS_PER_MINUTE: Type.Integer({ minimum: 1, default: 30 }),
  LINK_PREVIEWS: Type.Union([Type.Literal('on'), Type.Literal('off')], { default: 'on' }),
  LINK_PREVIEW_TIMEOUT_MS: Type.Integer({ minimum: 100, maximum: 60_000, default: 5000 }),
  LINK_PREVIEW_MAX_BYTES: Type.Integer({ minimum: 1024, maximum: 16_777_216, default: 1_048_576 }),
  LINK_PREVIEW_TTL: Type.Integer({ minimum: 60, maximum: 2_592_000, default: 86_400 }),
  LINK_PREVIEWS_PER_MINUTE: Type.Integer({ minimum: 1, default: 20 }),
  // Web Push (VAPID, RFC 8292): unset keys are generated into DATA_DIR on first start
  VAPID_PUBLIC_KEY: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_-]{87}$', description: 'uncompressed P-256 public key, base64url (65 bytes)' })),
  VAPID_PRIVATE_KEY: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_-]{43}$', description: 'P-256 private key, base64url (32 bytes)' })),
  VAPID_SUBJECT: Type.String({ pattern: '^(mailto:|https://)\\S+$', default: 'mailto:admin@parley.invalid', description: 'contact push services may use: mailto: or https: URL' }),
  PUSH_SUBSCRIPTIONS_PER_USER: Type.Integer({ minimum: 1, maximum: 100, default: 10 }),
  PUSH_TIMEOUT_MS: Type.Integer({ minimum: 100, maximum: 60_000, default: 10_000 }),
  PUSH_TTL: Type.Integer({ minimum: 0, maximum: 2_419_200, default: 86_400 }),
  PUSH_MAX_ATTEMPTS: Type.Integer({ minimum: 1, maximum: 10, default: 4 }),
  PUSH_RETRY_BASE_MS: Type.Integer({ minimum: 1, maximum: 600_000, default: 2_000 }),
});

export type Env = Static<typeof EnvSchema>;

export type DatabaseConfig = { kind: 'sqlite'; file: string } | { kind: 'mysql'; url: string; poolSize: number } | { kind: 'postgres'; url: string; poolSize: number };

/** The validated, frozen configuration every part of Parley is built from. */
export type Config = Readonly<ReturnType<typeof toConfig>>;

/** A configuration problem, named by variable, that stops the process at start. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(
    readonly variable: string,
    readonly problem: string,
  ) {
    super(`${variable}: ${problem}`);
  }
}

function toConfig(env: Env) {
  const dataDir = path.resolve(env.DATA_DIR);
  if ((env.TLS_CERT_FILE === undefined) !== (env.TLS_KEY_FILE === undefined)) {
    throw new ConfigError(env.TLS_CERT_FILE ? 'TLS_KEY_FILE' : 'TLS_CERT_FILE', 'TLS_CERT_FILE and TLS_KEY_FILE must be set together');
  }
  if (env.METRICS_PORT !== undefined && env.METRICS_PORT !== 0 && env.METRICS_PORT === env.PORT) {
    throw new ConfigError('METRICS_PORT', 'must differ from PORT (leave it unset to serve /metrics on the main port with METRICS_TOKEN)');
  }
  if (env.PASSWORD_HASH_PROFILE === 'test-fast' && env.NODE_ENV !== 'test') {
    throw new ConfigError('PASSWORD_HASH_PROFILE', 'test-fast makes stolen password hashes cheap to crack: it is accepted only with NODE_ENV=test');
  }
  if ((env.VAPID_PUBLIC_KEY === undefined) !== (env.VAPID_PRIVATE_KEY === undefined)) {
    throw new ConfigError(env.VAPID_PUBLIC_KEY ? 'VAPID_PRIVATE_KEY' : 'VAPID_PUBLIC_KEY', 'VAPID_PUBLIC_KEY and VAPID_PRIVATE_KEY must be set together');
  }
  return {
    env: env.NODE_ENV,
    port: env.PORT,
    passwordHashProfile: env.PASSWORD_HASH_PROFILE,
    host: env.HOST,
    dataDir,
    database: parseDatabaseUrl(env.DATABASE_URL, dataDir, env.DATABASE_POOL_SIZE),
    longReads: {
      timeoutMs: env.SEARCH_TIMEOUT_MS,
      // Searches are CPU-bound scans: more reader threads than spare cores would only take the
      // event loop's core away. One on a one- or two-core machine, two above; 0 runs them in the loop.
      sqliteReaderThreads: env.SQLITE_READER_THREADS ?? Math.min(2, Math.max(1, availableParallelism() - 1)),
    },
    redisUrl: resolveRedisUrl(env.REDIS_URL, env.REDIS_CLUSTER_NODES),
    socketAdapter: env.SOCKET_ADAPTER,
    redisKeyPrefix: env.REDIS_KEY_PREFIX,
    jwtSecret: env.JWT_SECRET,
    accessTokenTtlSec: env.ACCESS_TOKEN_TTL,
    refreshTokenTtlSec: env.REFRESH_TOKEN_TTL,
    corsOrigins: env.CORS_ORIGINS.split(',')
      .map((origin) => origin.trim())
      .filter(Boolean),
    trustProxy: env.TRUST_PROXY,
    tls: env.TLS_CERT_FILE && env.TLS_KEY_FILE ? { certFile: env.TLS_CERT_FILE, keyFile: env.TLS_KEY_FILE } : undefined,
    log: {
      level: env.LOG_LEVEL,
      dir: path.resolve(env.LOG_DIR ?? path.join(dataDir, 'logs')),
      fileSize: env.LOG_FILE_SIZE,
      fileCount: env.LOG_FILE_COUNT,
      toStdout: env.LOG_TO_STDOUT,
    },
    rateLimit: { max: env.RATE_LIMIT_MAX, windowSec: env.RATE_LIMIT_WINDOW },
    loginThrottle: { maxFailures: env.LOGIN_MAX_FAILURES, windowSec: env.LOGIN_FAILURE_WINDOW, maxFailuresPerIp: env.LOGIN_IP_MAX_FAILURES },
    guestIdleDays: env.GUEST_IDLE_DAYS,
    adminUsernames: parseAdminUsernames(env.ADMIN_USERNAMES),
    guestCreatePerIpPerHour: env.GUEST_CREATE_PER_IP,
    sendRateLimit: { max: env.SEND_RATE_LIMIT_MAX, windowSec: env.SEND_RATE_LIMIT_WINDOW },
    groupInvitations: { perHour: env.GROUP_INVITES_PER_HOUR, declinedCooldownMs: env.GROUP_INVITE_DECLINED_COOLDOWN_DAYS * 86_400_000 },
    inviteLinks: {
      attemptsPerMinutePerUser: env.INVITE_LINK_ATTEMPTS_PER_MINUTE,
      attemptsPerMinutePerIp: env.INVITE_LINK_ATTEMPTS_PER_MINUTE_IP,
      maxActivePerGroup: env.INVITE_LINKS_PER_GROUP,
    },
    socketLimits: {
      handshakesPerMinutePerIp: env.SOCKET_HANDSHAKES_PER_MINUTE_IP,
      handshakesPerMinutePerUser: env.SOCKET_HANDSHAKES_PER_MINUTE_USER,
      socketsPerUser: env.SOCKETS_PER_USER,
      events: { perSecond: env.SOCKET_EVENTS_PER_SECOND, burst: env.SOCKET_EVENTS_BURST },
      perEvent: parseEventLimits(env.SOCKET_EVENT_LIMITS),
    },
    bodyLimitBytes: env.BODY_LIMIT_BYTES,
    http: { headersTimeoutSec: env.HTTP_HEADERS_TIMEOUT, requestTimeoutSec: env.HTTP_REQUEST_TIMEOUT },
    calls: {
      ringTimeoutSec: env.CALL_RING_TIMEOUT,
      reconnectGraceSec: env.CALL_RECONNECT_GRACE,
      /** Calls one user may place, and one user may receive, per minute (counted in the shared cache). */
      perCallerPerMinute: env.CALLS_PER_CALLER_PER_MINUTE,
      perCalleePerMinute: env.CALLS_PER_CALLEE_PER_MINUTE,
      /** Unanswered calls from the same caller within this many seconds share one `call` message (0: never). */
      missedFoldWindowSec: env.CALL_MISSED_FOLD_WINDOW,
      stunUrls: splitList(env.STUN_URLS),
      turn: parseTurn(env),
      /** Lifetime of TURN credentials, also the `ttl` of GET /calls/ice-servers without TURN. */
      credentialTtlSec: env.TURN_TTL,
    },
    files: {
      dir: path.resolve(env.UPLOAD_DIR ?? path.join(dataDir, 'uploads')),
      maxBytes: env.UPLOAD_MAX_BYTES,
      quotaBytes: env.UPLOAD_QUOTA_BYTES,
      avatarMaxBytes: env.AVATAR_MAX_BYTES,
      expiryHours: env.UPLOAD_EXPIRY_HOURS,
      signedUrlTtlSec: env.SIGNED_URL_TTL,
      guestQuotaBytes: env.GUEST_UPLOAD_QUOTA_BYTES,
    },
    ai: {
      providers: parseAiProviders(env),
      defaultModel: env.AI_DEFAULT_MODEL,
      systemPrompt: env.AI_SYSTEM_PROMPT,
      contextTokens: env.AI_CONTEXT_TOKENS,
      modelContextTokens: parseModelBudgets(env.AI_MODEL_CONTEXT_TOKENS),
      maxOutputTokens: env.AI_MAX_OUTPUT_TOKENS,
      timeoutSec: env.AI_TIMEOUT,
      rateLimit: { max: env.AI_RATE_LIMIT_MAX, windowSec: env.AI_RATE_LIMIT_WINDOW },
      dailyTokenQuota: env.AI_DAILY_TOKEN_QUOTA,
    },
    /** Undefined (the default) when neither METRICS_TOKEN nor METRICS_PORT is set: no metrics are collected or served. */
    metrics: env.METRICS_TOKEN === undefined && env.METRICS_PORT === undefined ? undefined : { token: env.METRICS_TOKEN, port: env.METRICS_PORT, host: env.METRICS_HOST },
    /** Requests to URLs users give (previews, push, webhooks): loopback and private networks only when allowed. */
    outbound: { allowPrivate: env.OUTBOUND_ALLOW_PRIVATE },
    /** Who may use `@all` in a group; anyone else's `@all` stays plain text. */
    mentionAll: env.MENTION_ALL,
    bots: {
      perUser: env.BOTS_PER_USER,
      retryBaseMs: env.WEBHOOK_RETRY_BASE_MS,
      maxAttempts: env.WEBHOOK_MAX_ATTEMPTS,
      pollMs: env.WEBHOOK_POLL_MS,
      timeoutMs: env.WEBHOOK_TIMEOUT_MS,
      incomingPerMinute: env.INCOMING_WEBHOOK_POSTS_PER_MINUTE,
    },
    linkPreviews: {
      enabled: env.LINK_PREVIEWS === 'on',
      timeoutMs: env.LINK_PREVIEW_TIMEOUT_MS,
      maxBytes: env.LINK_PREVIEW_MAX_BYTES,
      ttlSec: env.LINK_PREVIEW_TTL,
      /** Pages fetched for one user's messages per minute (cached URLs are free), counted in the shared cache. */
      perUserPerMinute: env.LINK_PREVIEWS_PER_MINUTE,
    },
    push: {
      /** Both or neither (checked above); unset: generated into DATA_DIR/vapid-keys.json on first start. */
      vapidKeys: env.VAPID_PUBLIC_KEY && env.VAPID_PRIVATE_KEY ? { publicKey: env.VAPID_PUBLIC_KEY, privateKey: env.VAPID_PRIVATE_KEY } : undefined,
      subject: env.VAPID_SUBJECT,
      /** Devices one user may subscribe; a new one past it replaces their oldest. */
      maxPerUser: env.PUSH_SUBSCRIPTIONS_PER_USER,
      timeoutMs: env.PUSH_TIMEOUT_MS,
      /** How long a push service keeps an undelivered notification (seconds, the TTL header). */
      ttlSec: env.PUSH_TTL,
      /** Sends of one notification at most (retries of no answer, 429 and 5xx), the first wait, and the longest wait (a longer Retry-After gives up). */
      retry: { attempts: env.PUSH_MAX_ATTEMPTS, baseMs: env.PUSH_RETRY_BASE_MS, maxDelayMs: 300_000 },
    },
  };
}

/** `typing=2/5,read=5/20`: per event, tokens per second and burst. */
function parseEventLimits(value: string): Record<string, { perSecond: number; burst: number }> {
  const limits: Record<string, { perSecond: number; burst: number }> = {};
  for (const item of splitList(value)) {
    const match = /^([a-z_]+)=([0-9]+(?:\.[0-9]+)?)\/([0-9]+)$/.exec(item);
    const perSecond = Number(match?.[2]);
    const burst = Number(match?.[3]);
    if (!match?.[1] || !(perSecond > 0) || !(burst >= 1)) {
      throw new ConfigError('SOCKET_EVENT_LIMITS', `"${item}" must look like event=perSecond/burst, e.g. typing=2/5`);
    }
    limits[match[1]] = { perSecond, burst };
  }
  return limits;
}

/** Usernames as stored for comparison (NFC, lower case); a name no account could have is a typo worth refusing. */
function parseAdminUsernames(value: string): string[] {
  const names = splitList(value).map((name) => name.normalize('NFC'));
  for (const name of names) {
    if (!/^[\p{L}\p{M}\p{N}_.-]{3,32}$/u.test(name)) throw new ConfigError('ADMIN_USERNAMES', `"${name}" is not a username (3-32 letters, digits, _ . -)`);
  }
  return [...new Set(names.map((name) => name.toLowerCase()))];
}

function splitList(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);
}

function parseTurn(env: Env): { urls: string[]; secret: string; ttlSec: number } | undefined {
  const urls = splitList(env.TURN_URLS);
  if (urls.length === 0 && env.TURN_SECRET === undefined) return undefined;
  if (urls.length === 0) throw new ConfigError('TURN_URLS', 'TURN_SECRET is set but TURN_URLS is empty');
  if (env.TURN_SECRET === undefined) throw new ConfigError('TURN_SECRET', 'TURN_URLS needs the shared secret of the TURN server (coturn static-auth-secret)');
  return { urls, secret: env.TURN_SECRET, ttlSec: env.TURN_TTL };
}

/** The wire protocol a provider speaks; Doubao (Ark) and configured extras speak OpenAI's chat completions. */
export type AiProviderKind = 'openai-compatible' | 'gemini' | 'deepseek' | 'grok';

export interface AiProviderConfig {
  /** Name clients see in `/ai/models` and pass as `provider/model`. */
  name: string;
  kind: AiProviderKind;
  apiKey: string;
  baseUrl: string;
  models: string[];
}

const BUILT_IN_PROVIDERS = [
  { name: 'doubao', kind: 'openai-compatible', prefix: 'DOUBAO' },
  { name: 'gemini', kind: 'gemini', prefix: 'GEMINI' },
  { name: 'deepseek', kind: 'deepseek', prefix: 'DEEPSEEK' },
  { name: 'grok', kind: 'grok', prefix: 'GROK' },
] as const;

const ExtraProvider = Type.Object(
  {
    name: Type.String({ pattern: '^[a-z0-9][a-z0-9_-]{0,31}$' }),
    baseUrl: Type.String({ pattern: '^https?://' }),
    apiKey: Type.String({ minLength: 1 }),
    models: Type.Array(Type.String({ minLength: 1 }), { minItems: 1 }),
  },
  { additionalProperties: false },
);

/** Built-in providers with a key, then the OpenAI-compatible ones listed in AI_PROVIDERS (JSON). */
function parseAiProviders(env: Env): AiProviderConfig[] {
  const providers: AiProviderConfig[] = [];
  for (const { name, kind, prefix } of BUILT_IN_PROVIDERS) {
    const apiKey = env[`${prefix}_API_KEY`];
    if (apiKey === undefined) continue;
    providers.push({ name, kind, apiKey, baseUrl: env[`${prefix}_BASE_URL`].replace(/\/+$/, ''), models: [env[`${prefix}_MODEL`]] });
  }
  if (env.AI_PROVIDERS === undefined) return providers;
  let extras: unknown;
  try {
    extras = JSON.parse(env.AI_PROVIDERS);
  } catch {
    throw new ConfigError('AI_PROVIDERS', 'is not valid JSON');
  }
  const ExtraList = Type.Array(ExtraProvider);
  if (!Value.Check(ExtraList, extras)) {
    throw new ConfigError('AI_PROVIDERS', 'must be a JSON array of {name, baseUrl, apiKey, models: [..]} (name: lowercase letters, digits, - and _)');
  }
  for (const extra of extras) {
    if (providers.some((provider) => provider.name === extra.name)) throw new ConfigError('AI_PROVIDERS', `provider name "${extra.name}" is used twice`);
    providers.push({ name: extra.name, kind: 'openai-compatible', apiKey: extra.apiKey, baseUrl: extra.baseUrl.replace(/\/+$/, ''), models: extra.models });
  }
  return providers;
}

/** AI_MODEL_CONTEXT_TOKENS: `{"provider/model": tokens}`, budgets that replace AI_CONTEXT_TOKENS for those models. */
function parseModelBudgets(raw: string | undefined): Record<string, number> {
  if (raw === undefined) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new ConfigError('AI_MODEL_CONTEXT_TOKENS', 'is not valid JSON');
  }
  // TypeBox ignores a Record's key constraints: the keys are checked by hand.
  const Budgets = Type.Record(Type.String(), Type.Integer({ minimum: 256 }));
  if (!Value.Check(Budgets, parsed) || Object.keys(parsed).some((key) => !/^[^/\s]+\/\S+$/.test(key))) {
    throw new ConfigError('AI_MODEL_CONTEXT_TOKENS', 'must be a JSON object of {"provider/model": tokens (at least 256)}');
  }
  return parsed;
}

function parseDatabaseUrl(url: string | undefined, dataDir: string, poolSize: number): DatabaseConfig {
  if (url === undefined) return { kind: 'sqlite', file: path.join(dataDir, 'parley.db') };
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ConfigError('DATABASE_URL', 'is not a valid URL');
  }
  if (parsed.protocol === 'sqlite:') {
    const file = decodeURIComponent(parsed.pathname);
    if (!file || file === '/') throw new ConfigError('DATABASE_URL', 'sqlite:// needs a file path, e.g. sqlite:///var/lib/parley/parley.db');
    return { kind: 'sqlite', file };
  }
  if (!parsed.hostname || parsed.pathname.length < 2) {
    throw new ConfigError('DATABASE_URL', 'needs a host and a database name, e.g. mysql://user:pass@127.0.0.1:3306/parley or postgres://user:pass@127.0.0.1:5432/parley');
  }
  if (parsed.protocol === 'postgres:' || parsed.protocol === 'postgresql:') return { kind: 'postgres', url, poolSize };
  return { kind: 'mysql', url, poolSize };
}

/** Values read from `.env` in `cwd`, overridden by the real environment; empty strings count as unset. */
function readRawEnv(source: NodeJS.ProcessEnv, cwd: string): Record<string, string> {
  const dotenvFile = path.join(cwd, '.env');
  const fromFile = existsSync(dotenvFile) ? parseDotenv(readFileSync(dotenvFile)) : {};
  const merged: Record<string, string> = {};
  for (const key of Object.keys(EnvSchema.properties)) {
    const value = source[key] ?? fromFile[key];
    if (value !== undefined && value.trim() !== '') merged[key] = value.trim();
  }
  return merged;
}

/**
 * Reads and validates the configuration. Throws ConfigError naming the first bad variable.
 * `overrides` lets tests and tools build a config without touching process.env.
 */
export function loadConfig(options: { env?: NodeJS.ProcessEnv; cwd?: string; overrides?: Partial<Record<keyof Env, string>> } = {}): Config {
  const raw: Record<string, unknown> = { ...readRawEnv(options.env ?? process.env, options.cwd ?? process.cwd()) };
  for (const [key, value] of Object.entries(options.overrides ?? {})) {
    if (value !== undefined) raw[key] = value;
  }
  const converted = Value.Convert(EnvSchema, Value.Default(EnvSchema, raw));
  const [firstError] = Value.Errors(EnvSchema, converted);
  if (firstError) {
    const variable = firstError.instancePath.replace(/^\//, '') || 'environment';
    const given = raw[variable];
    const shown =
      variable.includes('SECRET') || variable.includes('KEY') || variable.includes('URL') || variable === 'AI_PROVIDERS' || variable === 'METRICS_TOKEN'
        ? ''
        : ` (got ${JSON.stringify(given)})`;
    throw new ConfigError(variable, `${firstError.message}${given === undefined ? '' : shown}`);
  }
  return Object.freeze(toConfig(converted as Env));
}

/** Names and descriptions of every variable, for docs and `.env.example` checks. */
export const CONFIG_VARIABLES = Object.keys(EnvSchema.properties);

/**
 * One Redis URL for everything that uses Redis: `redis://` / `rediss://` for one Redis,
 * `redis+cluster://h:p,h:p` for a Redis Cluster. REDIS_CLUSTER_NODES is the same as the latter.
 */
function resolveRedisUrl(url: string | undefined, clusterNodes: string | undefined): string | undefined {
  if (url && clusterNodes) throw new ConfigError('REDIS_CLUSTER_NODES', 'set either REDIS_URL or REDIS_CLUSTER_NODES, not both');
  return clusterNodes ? `redis+cluster://${clusterNodes}` : url;
}
