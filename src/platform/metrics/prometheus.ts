import { performance } from 'node:perf_hooks';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { Metrics } from './metrics.js';

export interface PrometheusOptions {
  /** `sqlite` or `mysql`: the `dialect` label of `parley_database_up`. */
  dialect: string;
  /** `redis` or `memory`: the `backend` label of `parley_cache_up`. */
  cacheBackend: string;
  /** AI providers configured: their token counters start at 0, so rate() works from the first reply. */
  aiProviders: readonly string[];
}

/** Checks run at scrape time; each throws (or times out) when its dependency is unreachable. */
export interface AvailabilityChecks {
  database(): Promise<void>;
  cache(): Promise<void>;
}

export interface PrometheusMetrics extends Metrics {
  readonly registry: Registry;
  /** Connects the scrape-time gauges to the running process (socket count, availability checks). */
  observe(sources: { connectedSockets(): number; checks: AvailabilityChecks }): void;
  /** The registry in the Prometheus text exposition format. */
  render(): Promise<{ contentType: string; body: string }>;
}

/** A scrape must stay cheap and bounded: a dependency that does not answer within this counts as down. */
const CHECK_TIMEOUT_MS = 1000;

/** SQL statement kinds, the only label of the query histogram (never the SQL text: unbounded). */
const OPERATIONS = ['select', 'insert', 'update', 'delete'] as const;

function operationOf(sqlText: string): string {
  const head = sqlText.slice(0, 7).toLowerCase();
  for (const operation of OPERATIONS) if (head.startsWith(operation)) return operation;
  // `with ... select`, DDL, pragmas, transactions.
  return 'other';
}

const STATUS_CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx'];

/** prom-client metrics for one Parley process, in a registry of its own (tests start several per process). */
export function createPrometheusMetrics(options: PrometheusOptions): PrometheusMetrics {
  const registry = new Registry();
  const registers = [registry];
  // Event-loop lag, GC pauses by kind, heap, CPU, open handles: prom-client's standard set.
  collectDefaultMetrics({ register: registry });

  const messages = new Counter({
    name: 'parley_messages_total',
    help: 'Chat messages stored and emitted to their conversation (rate() gives messages per second)',
    labelNames: ['kind'] as const,
    registers,
  });
  const deliveryLatency = new Histogram({
    name: 'parley_message_delivery_seconds',
    help: 'Time from a message insert committing to its chat event being handed to Socket.IO',
    buckets: [0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
    registers,
  });
  const socketEvents = new Counter({
    name: 'parley_socket_events_total',
    help: 'Client events received over Socket.IO, by event name (unregistered names count as "unknown")',
    labelNames: ['event'] as const,
    registers,
  });
  const httpDuration = new Histogram({
    name: 'parley_http_request_duration_seconds',
    help: 'HTTP request duration by method, route pattern (not the raw URL) and status class',
    labelNames: ['method', 'route', 'status_class'] as const,
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers,
  });
  const dbDuration = new Histogram({
    name: 'parley_db_query_duration_seconds',
    help: 'Database query duration (queries through Kysely) by statement kind',
    labelNames: ['operation'] as const,
    buckets: [0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1, 5],
    registers,
  });
  const dbErrors = new Counter({
    name: 'parley_db_query_errors_total',
    help: 'Database queries (through Kysely) that failed, by statement kind',
    labelNames: ['operation'] as const,
    registers,
  });
  const uploadBytes = new Counter({
    name: 'parley_upload_bytes_total',
    help: 'Bytes of file uploads (tus PATCH bodies) received and written to disk',
    registers,
  });
  const webhookAttempts = new Counter({
    name: 'parley_webhook_deliveries_total',
    help: 'Outgoing webhook delivery attempts by outcome (delivered: 2xx; failed: anything else, retried or dead)',
    labelNames: ['outcome'] as const,
    registers,
  });
  const aiTokens = new Counter({
    name: 'parley_ai_tokens_total',
    help: 'Language-model tokens by provider and direction (input: prompt, output: reply); estimated when the provider reports none',
    labelNames: ['provider', 'direction'] as const,
    registers,
  });

  const pushes = new Counter({
    name: 'parley_push_notifications_total',
    help: 'Web Push requests to push services by outcome (sent: accepted; gone: 404/410, subscription dropped; failed: other answers, timeouts, refused addresses)',
    labelNames: ['outcome'] as const,
    registers,
  });

  // Known label values start at 0: a counter that appears only at its first increment hides that increment from rate().
  const byKind = { group: messages.labels('group'), private: messages.labels('private') };
  for (const counter of Object.values(byKind)) counter.inc(0);
  for (const provider of options.aiProviders) {
    aiTokens.labels(provider, 'input').inc(0);
    aiTokens.labels(provider, 'output').inc(0);
  }
  uploadBytes.inc(0);
  for (const outcome of ['sent', 'gone', 'failed']) pushes.labels(outcome).inc(0);
  webhookAttempts.inc({ outcome: 'delivered' }, 0);
  webhookAttempts.inc({ outcome: 'failed' }, 0);
  for (const operation of [...OPERATIONS, 'other']) dbErrors.labels(operation).inc(0);

  let sources: { connectedSockets(): number; checks: AvailabilityChecks } | undefined;
  new Gauge({
    name: 'parley_sockets_connected',
    help: 'Socket.IO connections open on this process',
    registers,
    collect() {
      this.set(sources?.connectedSockets() ?? 0);
    },
  });
  new Gauge({
    name: 'parley_database_up',
    help: 'Whether the database answered a trivial query at scrape time (1) or not (0)',
    labelNames: ['dialect'] as const,
    registers,
    async collect() {
      this.labels(options.dialect).set(sources ? await probe(sources.checks.database) : 0);
    },
  });
  new Gauge({
    name: 'parley_cache_up',
    help: 'Whether the cache (Redis, or the in-process memory cache) answered a ping at scrape time (1) or not (0)',
    labelNames: ['backend'] as const,
    registers,
    async collect() {
      this.labels(options.cacheBackend).set(sources ? await probe(sources.checks.cache) : 0);
    },
  });

  return {
    enabled: true,
    registry,
    messageDelivered(kind, committedAt) {
      byKind[kind].inc();
      deliveryLatency.observe((performance.now() - committedAt) / 1000);
    },
    webhookAttempt(outcome) {
      webhookAttempts.inc({ outcome });
    },
    uploadBytes(bytes) {
      if (bytes > 0) uploadBytes.inc(bytes);
    },
    aiTokens(provider, inputTokens, outputTokens) {
      aiTokens.labels(provider, 'input').inc(inputTokens);
      aiTokens.labels(provider, 'output').inc(outputTokens);
    },
    pushSent(outcome) {
      pushes.labels(outcome).inc();
    },
    socketEvent(event) {
      socketEvents.labels(event).inc();
    },
    httpRequest(method, route, statusCode, seconds) {
      httpDuration.labels(method, route, STATUS_CLASSES[Math.floor(statusCode / 100) - 1] ?? 'other').observe(seconds);
    },
    dbQuery(sqlText, milliseconds, failed) {
      const operation = operationOf(sqlText);
      dbDuration.labels(operation).observe(milliseconds / 1000);
      if (failed) dbErrors.labels(operation).inc();
    },
    observe(given) {
      sources = given;
    },
    async render() {
      return { contentType: registry.contentType, body: await registry.metrics() };
    },
  };
}

/** 1 when `check` resolves within CHECK_TIMEOUT_MS, else 0. */
async function probe(check: () => Promise<void>): Promise<number> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<number>((resolve) => {
    timer = setTimeout(() => resolve(0), CHECK_TIMEOUT_MS);
  });
  try {
    return await Promise.race([
      check().then(
        () => 1,
        () => 0,
      ),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}
