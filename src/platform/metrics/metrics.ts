/**
 * What the services report for monitoring, as small interfaces they receive like any other
 * dependency: they never import prom-client. `noMetrics` (metrics off) does nothing.
 */

/** Chat messages, reported by the messaging service once a message is stored and emitted. */
export interface MessageMetrics {
  /** A new message was emitted to its conversation; `committedAt` is when its insert committed (`performance.now()`). */
  messageDelivered(kind: 'group' | 'private', committedAt: number): void;
}

/** Upload traffic, reported by the tus store as chunks reach the disk. */
export interface UploadMetrics {
  uploadBytes(bytes: number): void;
}

/** Language-model usage, reported by the AI service per completed reply. */
export interface AiMetrics {
  /** `provider` is the part of `provider/model` before the slash. */
  aiTokens(provider: string, inputTokens: number, outputTokens: number): void;
}

/** Web Push deliveries, reported by the push module per request to a push service. */
export interface PushMetrics {
  /** `sent`: accepted (2xx); `gone`: 404/410, the subscription was dropped; `failed`: any other answer or no answer. */
  pushSent(outcome: 'sent' | 'gone' | 'failed'): void;
}

/** Outgoing webhook attempts, reported by the webhook dispatcher. */
export interface WebhookMetrics {
  /** One delivery attempt ended: `delivered` (2xx) or `failed` (anything else; retried or dead). */
  webhookAttempt(outcome: 'delivered' | 'failed'): void;
}

/** Platform-level observations: HTTP, Socket.IO and the database. */
export interface PlatformMetrics {
  /** A client event arrived on a socket (its name, or `unknown` for events no handler registered). */
  socketEvent(event: string): void;
  /** An HTTP request was answered: `route` is the route's pattern, never the raw URL. */
  httpRequest(method: string, route: string, statusCode: number, seconds: number): void;
  /** A Kysely query finished (or failed) after `milliseconds`. */
  dbQuery(sqlText: string, milliseconds: number, failed: boolean): void;
}

export interface Metrics extends MessageMetrics, UploadMetrics, AiMetrics, PushMetrics, PlatformMetrics, WebhookMetrics {
  /** False for `noMetrics`: callers skip the work of gathering what they would report. */
  readonly enabled: boolean;
}

/** Metrics off: every report is a no-op. */
export const noMetrics: Metrics = {
  enabled: false,
  messageDelivered: () => {},
  uploadBytes: () => {},
  webhookAttempt: () => {},
  aiTokens: () => {},
  pushSent: () => {},
  socketEvent: () => {},
  httpRequest: () => {},
  dbQuery: () => {},
};
