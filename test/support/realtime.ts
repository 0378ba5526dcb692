import { ParleyClient, type ParleySocket, type ServerToClientEvents } from '../../src/client/index.js';
import { uniqueName } from './http.js';

export interface ConnectedUser {
  id: string;
  username: string;
  password: string;
  client: ParleyClient;
  socket: ParleySocket;
}

/** Registers a user with the SDK (no socket yet). */
export async function registerClient(baseUrl: string, username = uniqueName()): Promise<{ id: string; username: string; password: string; client: ParleyClient }> {
  const client = new ParleyClient(baseUrl);
  const password = 'correct horse battery';
  const result = await client.register({ username, password });
  return { id: result.user.id, username, password, client };
}

/** Registers a user and connects one socket for them. */
export async function connectedUser(baseUrl: string): Promise<ConnectedUser> {
  const user = await registerClient(baseUrl);
  const socket = await user.client.connect();
  return { ...user, socket };
}

/** Another device of the same user: logs in again (a new session) and connects. */
export async function secondDevice(baseUrl: string, user: { username: string; password: string }): Promise<ParleyClient> {
  const client = new ParleyClient(baseUrl);
  await client.login({ username: user.username, password: user.password });
  await client.connect();
  return client;
}

/** Resolves with the next `event` matching `predicate`, or rejects after `timeoutMs`. */
export function nextEvent<E extends keyof ServerToClientEvents>(
  socket: ParleySocket,
  event: E,
  predicate: (payload: Parameters<ServerToClientEvents[E]>[0]) => boolean = () => true,
  timeoutMs = 5000,
): Promise<Parameters<ServerToClientEvents[E]>[0]> {
  return new Promise((resolve, reject) => {
    const listener = (payload: Parameters<ServerToClientEvents[E]>[0]) => {
      if (!predicate(payload)) return;
      clearTimeout(timer);
      socket.off(event, listener as never);
      resolve(payload);
    };
    const timer = setTimeout(() => {
      socket.off(event, listener as never);
      reject(new Error(`timed out waiting for ${String(event)}`));
    }, timeoutMs);
    socket.on(event, listener as never);
  });
}

/** Collects every `event` the socket receives from now on. */
export function collect<E extends keyof ServerToClientEvents>(socket: ParleySocket, event: E): Array<Parameters<ServerToClientEvents[E]>[0]> {
  const received: Array<Parameters<ServerToClientEvents[E]>[0]> = [];
  socket.on(event, ((payload: Parameters<ServerToClientEvents[E]>[0]) => received.push(payload)) as never);
  return received;
}

/**
 * Resolves once every event the server sent this socket before the call has been delivered to its
 * listeners: proof that an event did NOT arrive, once the action that would have sent it has been
 * answered (its ack or HTTP response is in).
 *
 * Why it is sound: services publish before they answer, and in one server process a publish writes
 * the packet to each target socket's connection at once (the Redis adapter, too, delivers to local
 * sockets synchronously and only publishes for other processes). This socket's acked `sync`,
 * sent after the action's answer arrived, is acknowledged on the same connection, so its ack is
 * written after any such event and the client dispatches them in order. `sync` with no
 * conversations reads and changes nothing; any answer will do, even a refusal (RATE_LIMITED on a
 * socket with tight event limits), since it travels the same ordered connection.
 *
 * NOT sound across processes (an event for a socket on another server travels through Redis and
 * may arrive after the ack), nor for events sent later by a timer or background job: use a
 * bounded wait (`settle`) there and say why.
 */
export async function barrier(socket: ParleySocket, timeoutMs = 5000): Promise<void> {
  await socket.timeout(timeoutMs).emitWithAck('sync', { since: {} });
}

/**
 * A bounded wait for events that may still be on their way. Only for what `barrier` cannot prove:
 * events sent by a timer or background job, or across processes through Redis.
 */
export async function settle(ms = 300): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, ms));
}
