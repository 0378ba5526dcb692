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

/** Waits long enough for in-flight events to arrive, to assert that something did NOT arrive. */
export async function settle(ms = 300): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, ms));
}
