import type { Socket } from 'socket.io';
import type { Static, TSchema } from 'typebox';
import { Compile } from 'typebox/compile';
import type { Ack } from '../../contract/errors.js';
import type { ClientToServerEvents } from '../../contract/events.js';
import type { Actor } from '../../shared/actor.js';
import { AppError, errorBody } from '../../shared/errors.js';
import { toAppError } from '../http/errors.js';
import type { Logger } from '../logger.js';

/** What a connected socket carries after the handshake. */
export interface SocketData {
  actor: Actor;
  /** Epoch ms after which the access token is expired and events are refused until `auth_refresh`. */
  tokenExpiresAt: number;
}

export interface HandlerContext {
  actor: Actor;
  socket: Socket;
}

const validators = new WeakMap<TSchema, ReturnType<typeof Compile>>();

/** The payload schema of every client event registered with onEvent, for the fuzz and access tests. */
const eventSchemas = new Map<string, TSchema>();

/** Client events registered so far (on any socket) and the schema each payload must match. */
export function registeredEventSchemas(): ReadonlyMap<string, TSchema> {
  return eventSchemas;
}

/** Handlers still running, per Socket.IO server, so a shutdown can let them finish first. */
const running = new WeakMap<object, Set<Promise<unknown>>>();

/** Servers shutting down: their sockets' new events are refused with UNAVAILABLE. */
const draining = new WeakSet<object>();

/** From now on events on this server are answered UNAVAILABLE (the client retries on another process). */
export function startDraining(server: object): void {
  draining.add(server);
}

/**
 * Counts background work of a socket (a disconnect handler's presence update) as running, so a
 * shutdown waits for it before it closes the Redis adapter the work may still publish through.
 */
export function trackWork(socket: { nsp: { server: object } }, work: Promise<unknown>): void {
  const set = running.get(socket.nsp.server) ?? new Set<Promise<unknown>>();
  running.set(socket.nsp.server, set);
  set.add(work);
  void work.finally(() => set.delete(work)).catch(() => {});
}

/** Resolves once every event handler running on this server has finished. */
export async function drainHandlers(server: object): Promise<void> {
  const set = running.get(server);
  while (set && set.size > 0) await Promise.allSettled([...set]);
}

/** Values (objects, arrays, scalars) a payload may hold: valid ones hold a few hundred at most. */
const MAX_PAYLOAD_NODES = 2000;

/**
 * True for plain JSON data (no Buffers or other binary attachments) of at most MAX_PAYLOAD_NODES
 * values. Checked first because collecting validation errors costs time in proportion to the
 * payload: a 2 MB binary or a 100,000-key object would otherwise hold the event loop for seconds.
 */
function isSmallPlainData(payload: object): boolean {
  const stack: unknown[] = [payload];
  let left = MAX_PAYLOAD_NODES;
  while (stack.length > 0) {
    const node = stack.pop();
    if (typeof node !== 'object' || node === null) continue;
    const children = Array.isArray(node) ? node : Object.getPrototypeOf(node) === Object.prototype ? Object.values(node) : undefined;
    if (!children) return false;
    left -= children.length;
    if (left < 0) return false;
    for (const child of children) stack.push(child);
  }
  return true;
}

/** One compiled validator per schema for the whole process, not one per connected socket. */
function compiled(schema: TSchema): ReturnType<typeof Compile> {
  let validator = validators.get(schema);
  if (!validator) {
    validator = Compile(schema);
    validators.set(schema, validator);
  }
  return validator;
}

/** A client event of the contract (`ClientToServerEvents`). */
export type ClientEvent = keyof ClientToServerEvents;
/** The payload a client sends with event `E`. */
export type EventPayload<E extends ClientEvent> = Parameters<ClientToServerEvents[E]>[0];
/** The `data` of a successful ack of event `E`. */
export type EventResult<E extends ClientEvent> = Parameters<ClientToServerEvents[E]>[1] extends (response: Ack<infer R>) => void ? R : never;

/**
 * Registers a client event: checks the token is still valid, validates the payload against its
 * schema, runs the handler and answers the ack with `{ok, data}` or `{ok: false, error}`. A thrown
 * error never escapes: unknown ones become INTERNAL and an error log line.
 *
 * The event name comes from the contract's `ClientToServerEvents`, so a misspelt event does not
 * compile; the schema must validate that event's payload type and the handler must resolve to its
 * ack type.
 */
export function onEvent<E extends ClientEvent, S extends TSchema>(
  socket: Socket,
  event: E,
  schema: S & (Static<S> extends EventPayload<E> ? unknown : never),
  log: Logger,
  handler: (payload: EventPayload<E>, context: HandlerContext) => Promise<EventResult<E>>,
): void {
  const validator = compiled(schema);
  eventSchemas.set(event, schema);
  // Registered under a plain string: Socket.IO's typing of `on` cannot resolve a generic event name.
  socket.on(event as string, async (...args: unknown[]) => {
    const last = args.at(-1);
    const ack = typeof last === 'function' ? (last as (response: Ack<EventResult<E>>) => void) : () => {};
    const payload = args[0];
    const data = socket.data as SocketData;
    try {
      if (draining.has(socket.nsp.server)) throw new AppError('UNAVAILABLE', 'the server is shutting down; reconnect and retry');
      if (data.tokenExpiresAt <= Date.now()) throw new AppError('UNAUTHORIZED', 'access token expired; send auth_refresh with a new one');
      if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) {
        throw new AppError('VALIDATION_FAILED', `${event}: payload must be an object`);
      }
      if (!isSmallPlainData(payload)) throw new AppError('VALIDATION_FAILED', `${event}: payload must be plain JSON of at most ${MAX_PAYLOAD_NODES} values`);
      if (!validator.Check(payload)) {
        const [first] = validator.Errors(payload);
        const field =
          first?.instancePath.replace(/^\//, '').replaceAll('/', '.') || (first?.params as { requiredProperties?: string[] } | undefined)?.requiredProperties?.[0] || 'payload';
        // TypeBox reports an undeclared property as the `false` schema of additionalProperties at its path.
        const message = first?.schemaPath.endsWith('/additionalProperties') ? 'is not a known field' : (first?.message ?? 'is invalid');
        throw new AppError('VALIDATION_FAILED', `${field}: ${message}`, [{ field, message }]);
      }
      const work = handler(payload as EventPayload<E>, { actor: data.actor, socket });
      const set = running.get(socket.nsp.server) ?? new Set<Promise<unknown>>();
      running.set(socket.nsp.server, set);
      set.add(work);
      try {
        ack({ ok: true, data: await work });
      } finally {
        set.delete(work);
      }
    } catch (error) {
      const appError = toAppError(error);
      if (appError.status >= 500) log.error({ err: error, event, userId: data.actor?.userId }, 'socket event failed');
      ack({ ok: false, error: errorBody(appError) });
    }
  });
}
